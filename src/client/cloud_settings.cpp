#include "client/cloud_settings.h"

#include <cstdio>

#include "base/atomic_file.h"
#include "base/json.h"
#include "base/log.h"
#include "base/paths.h"
#include "client/private_files.h"
#include "llm/model_policy.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kCacheVersion = 1;
constexpr size_t kMaxCacheBytes = 4 << 20;

int64_t hours_ms(std::chrono::hours hours) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(hours).count();
}

}  // namespace

const char* collection_name(Collection collection) {
  switch (collection) {
    case Collection::kOn:
      return "on";
    case Collection::kOff:
      return "off";
    case Collection::kUnknown:
      break;
  }
  return "unknown";
}

fs::path cloud_state_dir(const fs::path& home) { return home / "cloud"; }

fs::path agent_settings_cache_path(const fs::path& home) {
  return cloud_state_dir(home) / "agent-settings.json";
}

int64_t unix_millis_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string token_fingerprint(std::string_view token) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char byte : std::string_view("joey-cloud-token\n")) {
    hash = (hash ^ byte) * 1099511628211ull;
  }
  for (unsigned char byte : token) hash = (hash ^ byte) * 1099511628211ull;
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

Result<CachedAgentSettings> parse_agent_settings(const json& answer) {
  const json* user = object_field(answer, "user");
  const std::string* user_id = user ? string_field(*user, "id") : nullptr;
  const json* collection = object_field(answer, "collection");
  const json* enabled =
      collection && collection->contains("enabled") ? &(*collection)["enabled"] : nullptr;
  if (!user_id || user_id->empty() || user_id->size() > 256 || !enabled || !enabled->is_boolean()) {
    return make_error(ErrorKind::kProtocol,
                      "the Cloud's agent settings lack user.id or collection.enabled");
  }
  CachedAgentSettings settings;
  settings.user_id = *user_id;
  settings.collection_enabled = enabled->get<bool>();
  const std::string* source = string_field(*collection, "source");
  settings.source = source ? *source : "";
  settings.settings = answer;
  return settings;
}

Result<CachedAgentSettings> parse_settings_cache(std::string_view text) {
  if (text.size() > kMaxCacheBytes) {
    return make_error(ErrorKind::kProtocol, "the agent settings cache is too large");
  }
  const json parsed = parse_json(text);
  const std::optional<int64_t> version = integer_field(parsed, "version");
  const std::string* server = string_field(parsed, "server");
  const std::string* fingerprint = string_field(parsed, "token_fingerprint");
  const std::string* etag = string_field(parsed, "etag");
  const std::optional<int64_t> validated = integer_field(parsed, "validated_at_ms");
  const json* answer = object_field(parsed, "settings");
  if (version != kCacheVersion || !server || !fingerprint || !etag || !validated || !answer) {
    return make_error(ErrorKind::kProtocol, "the agent settings cache is not one joey wrote");
  }
  CachedAgentSettings cache = TRY(parse_agent_settings(*answer));
  cache.server = *server;
  cache.token_fingerprint = *fingerprint;
  cache.etag = *etag;
  cache.validated_at_ms = *validated;
  return cache;
}

std::string serialize_settings_cache(const CachedAgentSettings& cache) {
  const json file = {{"version", kCacheVersion},  {"server", cache.server},
                     {"user_id", cache.user_id},  {"token_fingerprint", cache.token_fingerprint},
                     {"etag", cache.etag},        {"validated_at_ms", cache.validated_at_ms},
                     {"settings", cache.settings}};
  return file.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

// ---- CloudConnection ----

// Adds the next request's extra headers and keeps the answer's head.
class CloudConnection::HeaderTransport final : public llm::HttpTransport {
 public:
  explicit HeaderTransport(std::unique_ptr<llm::HttpTransport> inner) : inner_(std::move(inner)) {}

  Result<llm::HttpResponseHead> perform(const llm::HttpRequest& request,
                                        const llm::HttpTimeouts& timeouts,
                                        const llm::HttpCallbacks& callbacks) override {
    llm::HttpRequest extended = request;
    for (auto& header : next_headers_) extended.headers.push_back(std::move(header));
    next_headers_.clear();
    last_head_ = llm::HttpResponseHead{};
    Result<llm::HttpResponseHead> head = inner_->perform(extended, timeouts, callbacks);
    if (head.ok()) last_head_ = *head;
    return head;
  }

  std::vector<std::pair<std::string, std::string>> next_headers_;
  llm::HttpResponseHead last_head_;

 private:
  std::unique_ptr<llm::HttpTransport> inner_;
};

CloudConnection::CloudConnection(std::string url, std::string token,
                                 std::unique_ptr<llm::HttpTransport> transport) {
  auto headers = std::make_unique<HeaderTransport>(std::move(transport));
  headers_ = headers.get();
  client_ = std::make_unique<CloudClient>(std::move(url), std::move(token), std::move(headers));
}

CloudConnection::~CloudConnection() = default;

Result<CloudResponse> CloudConnection::call(
    const std::string& method, const std::string& path, const std::optional<json>& body,
    std::vector<std::pair<std::string, std::string>> headers) {
  headers_->next_headers_ = std::move(headers);
  return client_->call(method, path, body);
}

const llm::HttpResponseHead& CloudConnection::last_head() const { return headers_->last_head_; }

std::optional<CachedAgentSettings> read_settings_cache(const fs::path& home,
                                                       const CloudCredentials& credentials) {
  Result<std::string> text = read_file_to_string(agent_settings_cache_path(home));
  if (!text.ok()) return std::nullopt;
  Result<CachedAgentSettings> cache = parse_settings_cache(*text);
  if (!cache.ok()) {
    log::info("cloud_settings_cache_ignored", {log::field("reason", cache.error().message)});
    return std::nullopt;
  }
  if (cache->server != credentials.url ||
      cache->token_fingerprint != token_fingerprint(credentials.token)) {
    return std::nullopt;
  }
  return std::move(cache).value();
}

const json* organization_settings(const CachedAgentSettings& settings) {
  if (!settings.settings.is_object()) return nullptr;
  auto organization = settings.settings.find("organization");
  if (organization == settings.settings.end() || !organization->is_object()) return nullptr;
  auto found = organization->find("settings");
  return found != organization->end() && found->is_object() ? &*found : nullptr;
}

std::optional<std::string> organization_model_refusal(const CachedAgentSettings& settings,
                                                      const std::string& provider,
                                                      const std::string& model) {
  const json* org_settings = organization_settings(settings);
  if (!org_settings) return std::nullopt;
  auto allow_list = org_settings->find("allow_list");
  if (allow_list == org_settings->end()) return std::nullopt;
  return llm::model_refusal(*allow_list, provider, model);
}

// ---- CloudSettings ----

CloudSettings::CloudSettings(fs::path home, CloudCredentials credentials,
                             std::function<int64_t()> now_ms)
    : home_(std::move(home)),
      credentials_(std::move(credentials)),
      now_ms_(now_ms ? std::move(now_ms) : std::function<int64_t()>(unix_millis_now)) {}

std::optional<CachedAgentSettings> CloudSettings::usable_cache() const {
  return read_settings_cache(home_, credentials_);
}

Collection CloudSettings::decide(const CachedAgentSettings& settings) {
  user_id_ = settings.user_id;
  collection_ = settings.collection_enabled ? Collection::kOn : Collection::kOff;
  return collection_;
}

Collection CloudSettings::from_cache_or_unknown(const std::optional<CachedAgentSettings>& cache) {
  const int64_t age = now_ms_() - (cache ? cache->validated_at_ms : 0);
  if (cache && age >= 0 && age <= hours_ms(kSettingsMaxOfflineAge)) return decide(*cache);
  user_id_.clear();
  collection_ = Collection::kUnknown;
  return collection_;
}

bool CloudSettings::stale() const {
  if (last_attempt_ms_ < 0) return true;
  const auto age = last_attempt_ok_ ? std::chrono::milliseconds(kSettingsRefreshAge)
                                    : std::chrono::milliseconds(kSettingsRetryAge);
  const int64_t elapsed = now_ms_() - last_attempt_ms_;
  return elapsed < 0 || elapsed >= age.count();
}

Collection CloudSettings::refresh(CloudConnection& connection) {
  last_attempt_ms_ = now_ms_();
  last_attempt_ok_ = false;
  std::optional<CachedAgentSettings> cache = usable_cache();
  std::vector<std::pair<std::string, std::string>> headers;
  if (cache && !cache->etag.empty()) headers.emplace_back("If-None-Match", cache->etag);
  Result<CloudResponse> answer =
      connection.call("GET", std::string(kAgentSettingsPath), std::nullopt, std::move(headers));
  if (!answer.ok()) {
    log::info("cloud_settings_not_fetched",
              {log::field("error_kind", error_kind_name(answer.error().kind))});
    return from_cache_or_unknown(cache);
  }
  const long status = answer->status;
  if (status == 304 && cache) {
    cache->validated_at_ms = now_ms_();
    if (!write_private_file(agent_settings_cache_path(home_), serialize_settings_cache(*cache))
             .ok()) {
      log::warn("cloud_settings_cache_not_written");
    }
    last_attempt_ok_ = true;
    return decide(*cache);
  }
  if (status == 401) {
    remove_quietly(agent_settings_cache_path(home_));
    log::info("cloud_settings_not_fetched", {log::field("status", status)});
    user_id_.clear();
    collection_ = Collection::kUnknown;
    return collection_;
  }
  if (status != 200) {
    log::info("cloud_settings_not_fetched", {log::field("status", status)});
    return status == 429 || status >= 500 ? from_cache_or_unknown(cache)
                                          : from_cache_or_unknown(std::nullopt);
  }
  Result<CachedAgentSettings> fetched = parse_agent_settings(answer->body);
  if (!fetched.ok()) {
    log::info("cloud_settings_not_fetched", {log::field("reason", "malformed answer")});
    return from_cache_or_unknown(std::nullopt);
  }
  fetched->server = credentials_.url;
  fetched->token_fingerprint = token_fingerprint(credentials_.token);
  fetched->etag = connection.last_head().header("etag");
  fetched->validated_at_ms = now_ms_();
  if (!ensure_private_dir(cloud_state_dir(home_)).ok() ||
      !write_private_file(agent_settings_cache_path(home_), serialize_settings_cache(*fetched))
           .ok()) {
    log::warn("cloud_settings_cache_not_written");
  }
  last_attempt_ok_ = true;
  return decide(*fetched);
}

}  // namespace joey::client
