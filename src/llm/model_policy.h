// An organization's model allow-list, as both joeyd's proxy and the agent enforce it
// (issue 8 §4, §5), so that both refuse the same models with the same message.
//
// The allow-list is the `allow_list` section of an organization's settings
// (cloud/org_service.h): {"allow_all": bool, "providers": {NAME: {"allow_all": bool,
// "models": [MODEL, ...]}}}. A model is allowed when allow_all is true, or its provider's
// entry has allow_all true or lists the model. A model named with a provider prefix
// ("openai/gpt-4o") is looked up under that provider without the prefix, and under its
// own provider with it (OpenRouter's ids keep their slash).
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace joey::llm {

// nullopt when `allow_list` allows `model` from `provider`; else the message to show,
// which names the model and says the organization's admin restricts it. A missing or
// malformed allow-list allows everything (the server validates what it stores).
std::optional<std::string> model_refusal(const nlohmann::json& allow_list,
                                         std::string_view provider, std::string_view model);

}  // namespace joey::llm
