#include "llm/provider.h"

#include <cstdlib>
#include <string_view>

#include "llm/http_transport.h"

namespace joey::llm {

const std::vector<ProviderInfo>& all_providers() {
  static const std::vector<ProviderInfo> providers = {
      {"openai", WireProtocol::kOpenAiChat, "https://api.openai.com/v1", "OPENAI_API_KEY", true,
       "gpt-4.1", false},
      {"anthropic", WireProtocol::kAnthropicMessages, "https://api.anthropic.com",
       "ANTHROPIC_API_KEY", true, "claude-sonnet-4-5", false},
      {"openrouter", WireProtocol::kOpenAiChat, "https://openrouter.ai/api/v1",
       "OPENROUTER_API_KEY", true, "anthropic/claude-sonnet-4.5", false},
      // Never OPENAI_API_KEY: an OpenAI key must not travel to some other host.
      {"openai-compatible", WireProtocol::kOpenAiChat, "", "OPENAI_COMPATIBLE_API_KEY", false, "",
       false},
      {"ollama", WireProtocol::kOpenAiChat, "http://127.0.0.1:11434/v1", "", false, "", true},
      {"lmstudio", WireProtocol::kOpenAiChat, "http://127.0.0.1:1234/v1", "", false, "", true},
      // The key is the signed-in Cloud's token, never an environment variable.
      {"cloud", WireProtocol::kOpenAiChat, "", "", false, "claude-sonnet-4-5", false},
  };
  return providers;
}

std::vector<std::string> provider_key_variables() {
  std::vector<std::string> variables;
  for (const ProviderInfo& provider : all_providers()) {
    if (!provider.key_variable.empty()) variables.push_back(provider.key_variable);
  }
  return variables;
}

Result<ProviderInfo> find_provider(const std::string& name) {
  std::string known;
  for (const ProviderInfo& provider : all_providers()) {
    if (provider.name == name) return provider;
    known += (known.empty() ? "" : ", ") + provider.name;
  }
  return make_error(ErrorKind::kInvalidArgument,
                    "unknown provider '" + name + "' (choose one of: " + known + ")");
}

namespace {

StoredKeyLookup& stored_key_lookup() {
  static StoredKeyLookup lookup;
  return lookup;
}

}  // namespace

void set_stored_key_lookup(StoredKeyLookup lookup) { stored_key_lookup() = std::move(lookup); }

Result<std::optional<std::string>> lookup_api_key(const ProviderInfo& provider) {
  if (provider.key_variable.empty()) return std::optional<std::string>();
  const char* value = std::getenv(provider.key_variable.c_str());
  if (value && *value) return std::optional<std::string>(value);
  if (stored_key_lookup()) {
    std::optional<std::string> stored = TRY(stored_key_lookup()(provider.name));
    if (stored && !stored->empty()) return stored;
  }
  if (!provider.key_required) return std::optional<std::string>();
  return make_error(ErrorKind::kAuth,
                    "no API key for " + provider.name + ": set " + provider.key_variable +
                        " (export " + provider.key_variable +
                        "=...) or store one with `joey auth set " + provider.name + "`");
}

Status check_url_allowed(const std::string& url, bool allow_insecure) {
  std::string host = url_host(url);
  if (host.empty()) return make_error(ErrorKind::kInvalidArgument, "not a valid URL: " + url);
  if (url.rfind("https://", 0) == 0) return ok_status();
  if (url.rfind("http://", 0) != 0) {
    return make_error(ErrorKind::kInvalidArgument,
                      "only http:// and https:// URLs are supported: " + url);
  }
  if (is_loopback_host(host) || allow_insecure) return ok_status();
  return make_error(ErrorKind::kPermissionDenied,
                    "refusing plain http to " + host +
                        ": traffic to other machines must use https (pass --allow-insecure to "
                        "send it unencrypted anyway)");
}

Result<ProviderConfig> resolve_provider(const std::string& provider_name,
                                        const std::string& base_url, const std::string& model,
                                        bool allow_insecure) {
  std::string name = provider_name;
  if (name.empty()) {
    for (const char* candidate : {"anthropic", "openai", "openrouter"}) {
      ProviderInfo info = find_provider(candidate).value();
      Result<std::optional<std::string>> key = lookup_api_key(info);
      if (!key.ok() && key.error().kind != ErrorKind::kAuth) return key.error();
      if (key.ok() && key->has_value()) {
        name = candidate;
        break;
      }
    }
    if (name.empty()) {
      return make_error(ErrorKind::kInvalidArgument,
                        "no provider chosen: pass --provider (openai, anthropic, openrouter, "
                        "openai-compatible, ollama, lmstudio, or cloud when signed in to a joey "
                        "Cloud), or give a key: set "
                        "ANTHROPIC_API_KEY, OPENAI_API_KEY or OPENROUTER_API_KEY, or run "
                        "`joey auth set PROVIDER`");
    }
  }
  if (name == "cloud") {
    return make_error(ErrorKind::kAuth,
                      "--provider cloud uses the joey Cloud you are signed in to, and this "
                      "agent is not signed in: run `joey login URL` (or set JOEY_CLOUD_URL and "
                      "JOEY_CLOUD_TOKEN)");
  }
  ProviderConfig config;
  config.info = TRY(find_provider(name));
  config.base_url = base_url.empty() ? config.info.default_base_url : base_url;
  while (!config.base_url.empty() && config.base_url.back() == '/') config.base_url.pop_back();
  if (config.base_url.empty()) {
    return make_error(ErrorKind::kInvalidArgument,
                      "--provider " + name + " needs --base-url (e.g. http://127.0.0.1:8000/v1)");
  }
  config.model = model.empty() ? config.info.default_model : model;
  if (config.model.empty()) {
    return make_error(ErrorKind::kInvalidArgument,
                      "--provider " + name +
                          " needs --model (list them with: joey models --provider " + name +
                          (base_url.empty() ? "" : " --base-url " + base_url) + ")");
  }
  config.allow_insecure = allow_insecure;
  TRY(check_url_allowed(config.base_url, allow_insecure));
  config.api_key = TRY(lookup_api_key(config.info));
  return config;
}

namespace {

constexpr std::string_view kProxyPrefixes[] = {"openai/", "anthropic/", "openrouter/"};

bool is_claude_model(std::string_view model) {
  return model.starts_with("claude") || model.starts_with("anthropic/");
}

}  // namespace

Result<ProviderConfig> resolve_cloud_provider(const CloudAccess& cloud, const std::string& model,
                                              bool allow_insecure) {
  ProviderConfig config;
  config.info = TRY(find_provider("cloud"));
  config.model = model.empty() ? config.info.default_model : model;
  std::string base = cloud.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (is_claude_model(config.model)) {
    // chat_endpoint() appends /v1/messages to a Messages base URL.
    config.info.protocol = WireProtocol::kAnthropicMessages;
    config.base_url = base + "/proxy";
  } else {
    config.base_url = base + "/proxy/v1";
  }
  config.allow_insecure = allow_insecure;
  TRY(check_url_allowed(config.base_url, allow_insecure));
  if (cloud.token.empty()) {
    return make_error(ErrorKind::kAuth,
                      "--provider cloud needs the joey Cloud token: run `joey "
                      "login URL` (or set JOEY_CLOUD_TOKEN)");
  }
  config.api_key = cloud.token;
  return config;
}

std::pair<std::string, std::string> policy_subject(const ProviderConfig& config) {
  if (config.info.name != "cloud") return {config.info.name, config.model};
  for (std::string_view prefix : kProxyPrefixes) {
    if (config.model.starts_with(prefix) && config.model.size() > prefix.size()) {
      return {std::string(prefix.substr(0, prefix.size() - 1)), config.model.substr(prefix.size())};
    }
  }
  return {config.info.protocol == WireProtocol::kAnthropicMessages ? "anthropic" : "openai",
          config.model};
}

std::string chat_endpoint(const ProviderConfig& config) {
  if (config.info.protocol == WireProtocol::kAnthropicMessages) {
    return config.base_url + "/v1/messages";
  }
  return config.base_url + "/chat/completions";
}

std::string models_endpoint(const ProviderConfig& config) {
  if (config.info.protocol == WireProtocol::kAnthropicMessages) {
    return config.base_url + "/v1/models";
  }
  return config.base_url + "/models";
}

std::vector<std::pair<std::string, std::string>> provider_headers(const ProviderConfig& config) {
  std::vector<std::pair<std::string, std::string>> headers = {{"Content-Type", "application/json"}};
  if (config.info.protocol == WireProtocol::kAnthropicMessages) {
    headers.emplace_back("anthropic-version", "2023-06-01");
    if (config.api_key) headers.emplace_back("x-api-key", *config.api_key);
  } else if (config.api_key) {
    headers.emplace_back("Authorization", "Bearer " + *config.api_key);
  }
  return headers;
}

}  // namespace joey::llm
