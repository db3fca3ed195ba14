// The model providers joey can talk to, where their keys come from, and the checks
// that keep a key going only to its own provider over TLS (promises P2 and P3).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace joey::llm {

enum class WireProtocol { kOpenAiChat, kAnthropicMessages };

struct ProviderInfo {
  std::string name;  // "openai", "anthropic", ...
  WireProtocol protocol;
  std::string default_base_url;  // empty: --base-url is required
  std::string key_variable;      // environment variable holding the key; empty: no key
  bool key_required = false;     // a missing key is an error before any request
  std::string default_model;     // empty: --model is required
  bool local = false;            // runs on the user's machine: requests cost nothing
};

// Every provider, in the order `joey --help` lists them. "cloud" is the joey Cloud's model
// proxy (resolve_cloud_provider): its URL and key are the signed-in Cloud and its token.
const std::vector<ProviderInfo>& all_providers();
// The environment variables joey reads provider keys from. Commands joey runs for the
// model never inherit them (P2): a command could print a key into the conversation.
std::vector<std::string> provider_key_variables();
// kInvalidArgument naming the known providers when `name` is not one of them.
Result<ProviderInfo> find_provider(const std::string& name);

// Where keys come from besides the environment: joey's secret store installs this at
// start (client/secret_store.h). Returns nullopt when nothing is stored for `provider`.
using StoredKeyLookup =
    std::function<Result<std::optional<std::string>>(const std::string& provider)>;
void set_stored_key_lookup(StoredKeyLookup lookup);

// The one place where API keys are looked up: the key's own environment variable, else
// the secret store (`joey auth set`). nullopt when the provider needs no key and none is
// found. A provider that needs a key and has none → kAuth saying how to give one; a
// store that cannot be read (e.g. a secrets file with loose permissions) → its error.
Result<std::optional<std::string>> lookup_api_key(const ProviderInfo& provider);

// P3: plain http only to loopback hosts unless the user passed --allow-insecure;
// anything but http/https is refused.
Status check_url_allowed(const std::string& url, bool allow_insecure);

// A fully resolved choice of provider, model and endpoint for one run.
struct ProviderConfig {
  ProviderInfo info;
  std::string base_url;  // without a trailing slash
  std::string model;
  std::optional<std::string> api_key;
  bool allow_insecure = false;
};

// Resolves flags into a ProviderConfig: the provider (a name, or chosen from the
// keys present when empty), the base URL (--base-url overrides), the model
// (--model or the provider's default) and the key. kInvalidArgument for bad usage.
Result<ProviderConfig> resolve_provider(const std::string& provider_name,
                                        const std::string& base_url, const std::string& model,
                                        bool allow_insecure);

// The joey Cloud a signed-in agent uses as its provider: the server's base URL (no
// trailing slash) and the user's token, which goes only to that server.
struct CloudAccess {
  std::string url;
  std::string token;
};

// `--provider cloud`: the model proxy of the signed-in Cloud (issue 8 §5). Claude models
// ("claude-…", or any model with the "anthropic/" prefix) speak the Messages API at
// {url}/proxy/v1/messages, every other model Chat Completions at
// {url}/proxy/v1/chat/completions; both carry the token as their key. An empty model is
// the provider's default. P3 applies to the Cloud's URL as to any provider's.
Result<ProviderConfig> resolve_cloud_provider(const CloudAccess& cloud, const std::string& model,
                                              bool allow_insecure);

// The provider and model an organization's allow-list (llm/model_policy.h) judges for a
// configuration: the provider's own name, except through the Cloud proxy, where — as
// the proxy decides — a provider prefix on the model names the provider (and is removed)
// and otherwise the protocol does (Messages → anthropic, Chat Completions → openai).
std::pair<std::string, std::string> policy_subject(const ProviderConfig& config);

// The endpoint for a request path: OpenAI-style base URLs end in /v1 and take
// "/chat/completions"; Anthropic's base has no /v1 and takes "/v1/messages".
std::string chat_endpoint(const ProviderConfig& config);
std::string models_endpoint(const ProviderConfig& config);

// Request headers carrying the key in the form its provider expects, plus the
// protocol's fixed headers. The key goes nowhere else.
std::vector<std::pair<std::string, std::string>> provider_headers(const ProviderConfig& config);

}  // namespace joey::llm
