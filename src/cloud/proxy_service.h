// The model proxy's decisions and records, without I/O (issue 8 §1, §3, §4): who the
// caller is, where the request goes and with which key, whether the organization's
// policy lets it through, and — once it is over — what it used. The routes that relay
// the bytes (cloud/proxy_routes.h) call admit() before and finish() after.
//
// Admission, in order:
//   1. The caller's joey token, from `Authorization: Bearer` or (Anthropic clients)
//      `x-api-key`. Session cookies do not work here: a web page must not be able to
//      spend an organization's budget through a visitor's browser.
//   2. The body (cloud/proxy_stream.h prepare_request): model, stream, provider prefix.
//   3. The caller's active organization (their oldest membership, as for task history):
//      its allow-list (llm/model_policy.h), its monthly budget in USD and its per-user
//      limits on requests and tokens per minute (the `proxy` section of its settings,
//      cloud/org_service.h).
//   4. The upstream's key: the organization's stored provider key, else the operator's
//      (ProxyOptions, from JOEYD_OPENAI_API_KEY and friends).
// A caller outside any organization is bound by none of the policy and uses the
// operator's keys.
//
// Records (P6): one proxy_requests row per admitted request — user, organization,
// provider, model, status, latency, tokens, cost. Never a body, a header or a key.
// finish() queues the row in memory and returns; one background thread writes what is
// queued, all rows of a tenant in one transaction, so the I/O threads never wait on the
// database and a busy proxy commits once per batch instead of once per request. The same
// thread records a token's use (its last_used_at, once a minute), which admission would
// otherwise write itself and wait for that database writer. flush() waits until
// everything queued so far is written (reports call it before they read).
// Rate limits are counted in this process's memory (per replica); the budget is read
// from the database, so every replica sees the same spend (a few seconds stale at most).
//
// What admission reads — the token's user, their organization and its settings, its
// provider keys — is kept in memory for `access_refresh` (2 s), so a busy caller costs
// one database read per token every two seconds instead of four per request. A change
// made through this process (a token revoked, a member removed, settings or a key
// changed: IdentityService and OrgService count them) drops what was kept at once; one
// made through another replica of the same database applies there within access_refresh.
//
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "cloud/http_types.h"
#include "cloud/identity.h"
#include "cloud/org_service.h"
#include "cloud/proxy_stream.h"
#include "store/database.h"

namespace joey::cloud {

struct ProxyUpstream {
  std::string base_url;      // ".../v1", without a trailing slash
  std::string operator_key;  // empty: only organizations' keys
};

struct ProxyOptions {
  ProxyUpstream openai{"https://api.openai.com/v1", {}};
  ProxyUpstream anthropic{"https://api.anthropic.com/v1", {}};
  ProxyUpstream openrouter{"https://openrouter.ai/api/v1", {}};
  // How long a budget total read from the database is reused before it is read again.
  std::chrono::milliseconds budget_refresh{2'000};
  // How long a caller's admission (token, organization, settings, provider keys) is
  // reused before it is read again; zero reads it for every request.
  std::chrono::milliseconds access_refresh{2'000};
  // Unix milliseconds: the time records carry and budgets and rate limits count in.
  std::function<int64_t()> clock_ms;  // empty: the system clock
};

// Why a request is not forwarded: the status and message the client gets, in its
// protocol's error shape.
struct ProxyRefusal {
  int status = 400;
  std::string message;
  std::optional<int> retry_after_seconds;  // 429
  // False when trying again unchanged cannot help though the status says it might (a
  // 503 for a provider the proxy has no key for): the answer carries `x-should-retry:
  // false`, which the official OpenAI and Anthropic SDKs and joey's agent obey.
  bool retry = true;
};

// The request header naming the organization a proxied request counts against, for
// members of several; without it, their oldest membership.
inline constexpr const char* kOrganizationHeader = "x-joey-organization";

// What a request asks of the model: an answer (chat completions, messages), or only
// the count of its input tokens (Anthropic's /v1/messages/count_tokens: free at the
// provider, no usage in its answer; the request is admitted and recorded all the same).
enum class ProxyCall { kAnswer, kCountTokens };

// An admitted request: everything the route needs to forward it and to record it.
struct ProxyTicket {
  std::string user_id;
  std::optional<std::string> org_id;
  ProxyProtocol protocol = ProxyProtocol::kOpenAIChat;
  PreparedRequest prepared;
  std::string upstream_url;  // the full URL to POST to
  std::vector<std::pair<std::string, std::string>> upstream_headers;
  std::chrono::steady_clock::time_point started;
};

class ProxyService {
 public:
  // Everything referenced must outlive the service.
  ProxyService(store::Database& database, IdentityService& identity, OrgService& orgs,
               ProxyOptions options);

  // kCountTokens only with kAnthropicMessages.
  std::variant<ProxyTicket, ProxyRefusal> admit(const HttpRequest& request, ProxyProtocol protocol,
                                                ProxyCall call = ProxyCall::kAnswer);

  // Stops the writer once everything queued is written.
  ~ProxyService();

  // Records the outcome of an admitted request: the status the client got (or the
  // upstream's), and the usage read from the stream. Queued for the writer; a row that
  // cannot be written is logged, never thrown.
  void finish(const ProxyTicket& ticket, int status, const MeteredUsage& usage);

  // Returns once every row queued before the call has been written (or failed).
  void flush();

  // GET /proxy/v1/models: the models the caller may use, with their context window and
  // prices where known, in the client's list shape — kOpenAIChat: {"object": "list",
  // "data": [{"id", "object": "model", "owned_by", …}]}; kAnthropicMessages: {"data":
  // [{"type": "model", "id", "display_name", …}], "has_more": false, "first_id",
  // "last_id"}. The same models either way.
  std::variant<nlohmann::json, ProxyRefusal> models(const HttpRequest& request,
                                                    ProxyProtocol protocol);

 private:
  struct Account {
    User user;
    std::optional<std::string> org_id;
    nlohmann::json settings;  // the organization's, or null
  };
  // Something admission read, and when: valid while both services' access generations
  // are what they were before the read, and for access_refresh.
  template <typename T>
  struct Kept {
    T value;
    uint64_t generation = 0;
    std::chrono::steady_clock::time_point read_at;
  };
  struct RateWindow {
    int64_t minute = 0;  // the current window (minutes since the epoch)
    int64_t requests = 0;
    int64_t tokens = 0;
    int64_t previous_requests = 0;
    int64_t previous_tokens = 0;
  };
  // A proxy_requests row waiting for the writer.
  struct Record {
    std::string user_id;
    std::optional<std::string> org_id;
    int64_t ts = 0;
    const char* provider = "";
    std::string model;
    int status = 0;
    int64_t latency_ms = 0;
    bool streamed = false;
    MeteredUsage usage;
    double cost_usd = 0;
  };
  struct Spend {
    int64_t month = -1;  // months since 1970-01
    double usd = 0;
    std::chrono::steady_clock::time_point read_at;
  };

  std::variant<std::shared_ptr<const Account>, ProxyRefusal> account(const HttpRequest& request);
  // `org`: the organization the request names (x-joey-organization), or empty.
  Result<std::shared_ptr<const Account>> read_account(const std::string& token,
                                                      std::string_view org);
  Result<std::optional<std::string>> provider_key(const std::string& org_id,
                                                  const std::string& provider);
  uint64_t access_generation() const;
  bool fresh(uint64_t generation, std::chrono::steady_clock::time_point read_at) const;
  std::optional<ProxyRefusal> check_limits(const Account& account);
  std::optional<ProxyRefusal> check_budget(const Account& account);
  const ProxyUpstream& upstream(UpstreamProvider provider) const;
  int64_t now_ms() const;
  void write_records();
  void queue_token_use(const std::string& digest, int64_t at);
  Status insert_records(const std::vector<const Record*>& records, bool one_by_one);
  void settle_unwritten(const std::vector<const Record*>& records);

  store::Database& database_;
  IdentityService& identity_;
  OrgService& orgs_;
  const ProxyOptions options_;
  std::mutex mutex_;
  std::map<std::string, RateWindow> windows_;  // by user id; GUARDED_BY(mutex_)
  std::map<std::string, Spend> spend_;         // by org id; GUARDED_BY(mutex_)
  // By org id: the cost of rows queued for the writer and not yet written.
  std::map<std::string, double> unwritten_usd_;  // GUARDED_BY(mutex_)
  // By token digest.
  std::unordered_map<std::string, Kept<std::shared_ptr<const Account>>>
      accounts_;  // GUARDED_BY(mutex_)
  // By organization id and provider name, joined by a newline.
  std::unordered_map<std::string, Kept<std::optional<std::string>>>
      provider_keys_;  // GUARDED_BY(mutex_)

  std::mutex queue_mutex_;
  std::condition_variable queue_changed_;
  std::vector<Record> queue_;  // GUARDED_BY(queue_mutex_)
  // Token uses to record: token digest → when. GUARDED_BY(queue_mutex_)
  std::map<std::string, int64_t> token_uses_;
  uint64_t queued_ = 0;        // rows and token uses ever queued; GUARDED_BY(queue_mutex_)
  uint64_t written_ = 0;       // of those, written or failed; GUARDED_BY(queue_mutex_)
  uint64_t flush_wanted_ = 0;  // queued_ as a flush() saw it; GUARDED_BY(queue_mutex_)
  bool stopping_ = false;      // GUARDED_BY(queue_mutex_)
  std::thread writer_;         // last: starts once everything above exists
};

}  // namespace joey::cloud
