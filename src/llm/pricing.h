// What a model's tokens cost. Prices for common OpenAI and Anthropic models come
// from data/prices.json (dated; compiled into the binary); OpenRouter's come from
// its models listing. A model with no known price has an unknown cost — never a
// guess — and local providers (Ollama, LM Studio) cost nothing.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "llm/conversation.h"

namespace joey::llm {

// USD per token.
struct ModelPrice {
  double input = 0;
  double output = 0;
  double cache_read = 0;
  double cache_write = 0;
};

class PriceTable {
 public:
  // The compiled-in table from data/prices.json.
  static const PriceTable& builtin();
  // Parses the data file format (per 1M tokens). kInvalidArgument on malformed JSON.
  static Result<PriceTable> parse(std::string_view json_text);
  // Parses an OpenRouter /models listing: data[].id with pricing.{prompt,completion,
  // input_cache_read,input_cache_write} as USD-per-token strings.
  static Result<PriceTable> parse_openrouter_models(std::string_view json_text);

  // Exact id, else the id without a trailing date ("-20250929", "-2025-04-14"),
  // else the id without an "openai/" or "anthropic/" prefix. nullopt when unknown.
  std::optional<ModelPrice> find(const std::string& model) const;
  const std::string& as_of() const { return as_of_; }
  // Every model id the table prices, in order.
  std::vector<std::string> model_ids() const;
  size_t size() const { return prices_.size(); }

 private:
  std::map<std::string, ModelPrice> prices_;
  std::string as_of_;
};

// Cost of `usage` at `price`, in USD.
double cost_usd(const Usage& usage, const ModelPrice& price);

}  // namespace joey::llm
