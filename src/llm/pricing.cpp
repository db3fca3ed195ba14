#include "llm/pricing.h"

#include <optional>
#include <string_view>

#include "base/json.h"

namespace joey::llm {

extern const char* const kBuiltinPricesJson;  // generated from data/prices.json

namespace {

double number_or_zero(const nlohmann::json& object, const char* key) {
  auto found = object.find(key);
  if (found == object.end()) return 0;
  if (found->is_number()) return found->get<double>();
  if (found->is_string()) {
    try {
      return std::stod(found->get<std::string>());
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

// `model` without a dated snapshot's suffix, "-YYYYMMDD" or "-YYYY-MM-DD" (nullopt when
// it has none). Priced on every proxied request: no regex.
std::optional<std::string> without_date_suffix(std::string_view model) {
  const auto matches = [model](std::string_view shape) {
    if (model.size() < shape.size()) return false;
    const std::string_view tail = model.substr(model.size() - shape.size());
    for (size_t i = 0; i < shape.size(); ++i) {
      const bool digit = tail[i] >= '0' && tail[i] <= '9';
      if (shape[i] == 'd' ? !digit : tail[i] != shape[i]) return false;
    }
    return true;
  };
  for (const std::string_view shape : {"-dddddddd", "-dddd-dd-dd"}) {
    if (matches(shape)) return std::string(model.substr(0, model.size() - shape.size()));
  }
  return std::nullopt;
}

}  // namespace

const PriceTable& PriceTable::builtin() {
  static const PriceTable table = [] {
    Result<PriceTable> parsed = parse(kBuiltinPricesJson);
    return parsed.ok() ? std::move(parsed).value() : PriceTable();
  }();
  return table;
}

Result<PriceTable> PriceTable::parse(std::string_view json_text) {
  nlohmann::json document = parse_json(json_text);
  if (document.is_discarded() || !document.is_object() || !document.contains("models") ||
      !document["models"].is_object()) {
    return make_error(ErrorKind::kInvalidArgument,
                      "price data is not a JSON object with \"models\"");
  }
  PriceTable table;
  table.as_of_ = document.value("as_of", "");
  constexpr double kPerMillion = 1e-6;
  for (const auto& [model, entry] : document["models"].items()) {
    if (!entry.is_object()) continue;
    table.prices_[model] = ModelPrice{number_or_zero(entry, "input") * kPerMillion,
                                      number_or_zero(entry, "output") * kPerMillion,
                                      number_or_zero(entry, "cache_read") * kPerMillion,
                                      number_or_zero(entry, "cache_write") * kPerMillion};
  }
  return table;
}

std::vector<std::string> PriceTable::model_ids() const {
  std::vector<std::string> ids;
  ids.reserve(prices_.size());
  for (const auto& entry : prices_) ids.push_back(entry.first);
  return ids;
}

Result<PriceTable> PriceTable::parse_openrouter_models(std::string_view json_text) {
  nlohmann::json document = parse_json(json_text);
  if (document.is_discarded() || !document.is_object() || !document.contains("data") ||
      !document["data"].is_array()) {
    return make_error(ErrorKind::kProtocol,
                      "the models listing is not a JSON object with \"data\"");
  }
  PriceTable table;
  for (const nlohmann::json& model : document["data"]) {
    if (!model.is_object() || !model.contains("id") || !model["id"].is_string() ||
        !model.contains("pricing") || !model["pricing"].is_object()) {
      continue;
    }
    const nlohmann::json& pricing = model["pricing"];
    if (!pricing.contains("prompt") || !pricing.contains("completion")) continue;
    table.prices_[model["id"].get<std::string>()] = ModelPrice{
        number_or_zero(pricing, "prompt"), number_or_zero(pricing, "completion"),
        number_or_zero(pricing, "input_cache_read"), number_or_zero(pricing, "input_cache_write")};
  }
  return table;
}

std::optional<ModelPrice> PriceTable::find(const std::string& model) const {
  if (auto found = prices_.find(model); found != prices_.end()) return found->second;
  if (const std::optional<std::string> undated = without_date_suffix(model)) {
    if (auto found = prices_.find(*undated); found != prices_.end()) return found->second;
  }
  for (const char* prefix : {"openai/", "anthropic/"}) {
    std::string_view name(model);
    if (name.rfind(prefix, 0) == 0)
      return find(std::string(name.substr(std::string_view(prefix).size())));
  }
  return std::nullopt;
}

double cost_usd(const Usage& usage, const ModelPrice& price) {
  return static_cast<double>(usage.input_tokens) * price.input +
         static_cast<double>(usage.output_tokens) * price.output +
         static_cast<double>(usage.cache_read_tokens) * price.cache_read +
         static_cast<double>(usage.cache_write_tokens) * price.cache_write;
}

}  // namespace joey::llm
