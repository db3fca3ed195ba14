#include "llm/model_policy.h"

namespace joey::llm {
namespace {

bool flag(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return false;
  const auto found = object.find(key);
  return found != object.end() && found->is_boolean() && found->get<bool>();
}

bool provider_allows(const nlohmann::json& providers, std::string_view provider,
                     std::string_view model) {
  if (!providers.is_object()) return false;
  const auto rule = providers.find(std::string(provider));
  if (rule == providers.end() || !rule->is_object()) return false;
  if (flag(*rule, "allow_all")) return true;
  const auto models = rule->find("models");
  if (models == rule->end() || !models->is_array()) return false;
  for (const nlohmann::json& listed : *models) {
    if (listed.is_string() && listed.get_ref<const std::string&>() == model) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> model_refusal(const nlohmann::json& allow_list,
                                         std::string_view provider, std::string_view model) {
  if (!allow_list.is_object() || flag(allow_list, "allow_all")) return std::nullopt;
  const auto providers_it = allow_list.find("providers");
  const nlohmann::json providers =
      providers_it == allow_list.end() ? nlohmann::json() : *providers_it;
  if (provider_allows(providers, provider, model)) return std::nullopt;
  const size_t slash = model.find('/');
  if (slash != std::string_view::npos && slash > 0 &&
      provider_allows(providers, model.substr(0, slash), model.substr(slash + 1))) {
    return std::nullopt;
  }
  return "the model '" + std::string(model) + "' (" + std::string(provider) +
         ") is not allowed: your organization's admin restricts which models its members can use";
}

}  // namespace joey::llm
