// The collection gate (privacy promise P7): whether this agent may upload task messages
// to the joey Cloud it is signed in to. The gate is the server's answer to
// GET /api/agent/settings — `collection.enabled`, which the server derives from the
// organization's record_task_messages, else the user's task_sync_enabled.
//
// The answer is cached with its ETag in $JOEY_HOME/cloud/agent-settings.json (0600),
// bound to the server URL, the user id the server returned and a fingerprint of the
// token that fetched it; each fetch sends If-None-Match and a 304 keeps the cache.
// When the fetch fails (network, timeout, 5xx, 429, an answer that is not the API's),
// a cache of the same server and token that was confirmed less than
// kSettingsMaxOfflineAge (24 h) ago decides; otherwise the gate is unknown, and unknown
// means nothing is uploaded — exactly like signed out. A 401 deletes the cache (the
// token is no longer valid). A cache of another server, user or token is never used.
//
// Thread-safety: a CloudSettings and a CloudConnection are used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "client/cloud_client.h"
#include "llm/http_transport.h"

namespace joey::client {

inline constexpr std::string_view kAgentSettingsPath = "/api/agent/settings";
inline constexpr std::chrono::hours kSettingsRefreshAge{1};
inline constexpr std::chrono::hours kSettingsMaxOfflineAge{24};
// After a failed fetch, the next try in a long session.
inline constexpr std::chrono::minutes kSettingsRetryAge{5};

enum class Collection { kUnknown, kOn, kOff };
const char* collection_name(Collection collection);

// $JOEY_HOME/cloud and the files in it.
std::filesystem::path cloud_state_dir(const std::filesystem::path& home);
std::filesystem::path agent_settings_cache_path(const std::filesystem::path& home);

// Milliseconds since the Unix epoch (the system clock).
int64_t unix_millis_now();

// A short, stable fingerprint of a token (FNV-1a 64, hex) so that a cache is used only
// with the token that fetched it. It is not a secret-keeping hash; the file sits beside
// the token in $JOEY_HOME anyway.
std::string token_fingerprint(std::string_view token);

struct CachedAgentSettings {
  std::string server;  // base URL, as in CloudCredentials::url
  std::string user_id;
  std::string token_fingerprint;  // token_fingerprint() of the token that fetched it
  std::string etag;               // may be empty
  int64_t validated_at_ms = 0;    // last time the server confirmed it (200 or 304)
  bool collection_enabled = false;
  std::string source;       // "organization" or "user"
  nlohmann::json settings;  // the server's whole answer
};

// The server's answer (untrusted JSON) → the fields the agent needs. kProtocol when
// user.id or collection.enabled is missing or mistyped.
Result<CachedAgentSettings> parse_agent_settings(const nlohmann::json& answer);

// The cache file's text (untrusted) → its content. kProtocol when it is not a cache
// joey wrote.
Result<CachedAgentSettings> parse_settings_cache(std::string_view text);
std::string serialize_settings_cache(const CachedAgentSettings& cache);

// The cache written for these credentials (same server and token), whatever its age, or
// nullopt when there is none, it is unreadable, or it belongs to other credentials.
std::optional<CachedAgentSettings> read_settings_cache(const std::filesystem::path& home,
                                                       const CloudCredentials& credentials);

// The signed-in user's organization settings in a cached answer (its
// organization.settings object), or null when it names no organization.
const nlohmann::json* organization_settings(const CachedAgentSettings& settings);

// The organization's model allow-list as the agent enforces it locally (issue 8 §5):
// nullopt when `settings` allow `model` from `provider` (or name no organization),
// else the refusal — the same words the Cloud's proxy answers with (llm/model_policy.h).
std::optional<std::string> organization_model_refusal(const CachedAgentSettings& settings,
                                                      const std::string& provider,
                                                      const std::string& model);

// A CloudClient whose requests may carry extra headers (If-None-Match) and which keeps
// the last response head (ETag, Retry-After). Requests are still made by CloudClient
// (egress purpose "cloud", token only in Authorization, no redirects).
class CloudConnection {
 public:
  CloudConnection(std::string url, std::string token,
                  std::unique_ptr<llm::HttpTransport> transport);
  ~CloudConnection();
  CloudConnection(const CloudConnection&) = delete;
  CloudConnection& operator=(const CloudConnection&) = delete;

  Result<CloudResponse> call(const std::string& method, const std::string& path,
                             const std::optional<nlohmann::json>& body = std::nullopt,
                             std::vector<std::pair<std::string, std::string>> headers = {});
  // The head of the last answer (empty when none came).
  const llm::HttpResponseHead& last_head() const;
  const std::string& url() const { return client_->url(); }

 private:
  class HeaderTransport;
  HeaderTransport* headers_;  // owned by client_
  std::unique_ptr<CloudClient> client_;
};

class CloudSettings {
 public:
  // `now_ms` is the clock (tests move it); default unix_millis_now.
  CloudSettings(std::filesystem::path home, CloudCredentials credentials,
                std::function<int64_t()> now_ms = {});

  // GET /api/agent/settings now (with If-None-Match when a cache of these credentials
  // exists), updates the cache and returns the gate as decided above.
  Collection refresh(CloudConnection& connection);
  // True when the last fetch is older than kSettingsRefreshAge (kSettingsRetryAge after a
  // failure), or none happened.
  bool stale() const;

  Collection collection() const { return collection_; }
  // The user the gate was decided for; empty while unknown.
  const std::string& user_id() const { return user_id_; }
  const CloudCredentials& credentials() const { return credentials_; }

 private:
  std::optional<CachedAgentSettings> usable_cache() const;
  Collection from_cache_or_unknown(const std::optional<CachedAgentSettings>& cache);
  Collection decide(const CachedAgentSettings& settings);

  std::filesystem::path home_;
  CloudCredentials credentials_;
  std::function<int64_t()> now_ms_;
  Collection collection_ = Collection::kUnknown;
  std::string user_id_;
  int64_t last_attempt_ms_ = -1;
  bool last_attempt_ok_ = false;
};

}  // namespace joey::client
