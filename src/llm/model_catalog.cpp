#include "llm/model_catalog.h"

#include <string_view>
#include <utility>

namespace joey::llm {
namespace {

// Longest matching prefix wins, so "gpt-4.1" is found before "gpt-4".
constexpr std::pair<std::string_view, int64_t> kContextWindows[] = {
    {"gpt-5", 400'000},         {"gpt-4.1", 1'047'576},     {"gpt-4o", 128'000},
    {"gpt-4-turbo", 128'000},   {"gpt-4", 8'192},           {"o3", 200'000},
    {"o4-mini", 200'000},       {"o1", 200'000},            {"claude-", 200'000},
    {"gemini-2.5", 1'048'576},  {"deepseek-chat", 128'000}, {"deepseek-reasoner", 128'000},
    {"qwen2.5-coder", 32'768},  {"llama3.1", 131'072},      {"llama3.2", 131'072},
};

std::string_view without_provider_prefix(std::string_view model) {
  size_t slash = model.rfind('/');
  return slash == std::string_view::npos ? model : model.substr(slash + 1);
}

}  // namespace

std::optional<int64_t> known_context_window(const std::string& model) {
  std::string_view name = without_provider_prefix(model);
  size_t best_length = 0;
  std::optional<int64_t> best;
  for (const auto& [prefix, window] : kContextWindows) {
    if (name.substr(0, prefix.size()) == prefix && prefix.size() > best_length) {
      best_length = prefix.size();
      best = window;
    }
  }
  return best;
}

int64_t context_window_or_default(const std::string& model) {
  return known_context_window(model).value_or(kDefaultContextWindow);
}

}  // namespace joey::llm
