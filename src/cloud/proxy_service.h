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
// Rate limits are counted in this process's memory (per replica); the budget is read
// from the database, so every replica sees the same spend (a few seconds stale at most).
//
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
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
  // Unix milliseconds: the time records carry and budgets and rate limits count in.
  std::function<int64_t()> clock_ms;  // empty: the system clock
};

// Why a request is not forwarded: the status and message the client gets, in its
// protocol's error shape.
struct ProxyRefusal {
  int status = 400;
  std::string message;
  std::optional<int> retry_after_seconds;  // 429
};

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

  std::variant<ProxyTicket, ProxyRefusal> admit(const HttpRequest& request, ProxyProtocol protocol);

  // Records the outcome of an admitted request: the status the client got (or the
  // upstream's), and the usage read from the stream. Failures are logged, never thrown.
  void finish(const ProxyTicket& ticket, int status, const MeteredUsage& usage);

  // GET /proxy/v1/models: the models the caller may use, with their context window and
  // prices where known, in OpenAI's list shape.
  std::variant<nlohmann::json, ProxyRefusal> models(const HttpRequest& request);

 private:
  struct Account {
    User user;
    std::optional<std::string> org_id;
    nlohmann::json settings;  // the organization's, or null
  };
  struct RateWindow {
    int64_t minute = 0;  // the current window (minutes since the epoch)
    int64_t requests = 0;
    int64_t tokens = 0;
    int64_t previous_requests = 0;
    int64_t previous_tokens = 0;
  };
  struct Spend {
    int64_t month = -1;  // months since 1970-01
    double usd = 0;
    std::chrono::steady_clock::time_point read_at;
  };

  std::variant<Account, ProxyRefusal> account(const HttpRequest& request);
  std::optional<ProxyRefusal> check_limits(const Account& account);
  std::optional<ProxyRefusal> check_budget(const Account& account);
  const ProxyUpstream& upstream(UpstreamProvider provider) const;
  int64_t now_ms() const;

  store::Database& database_;
  IdentityService& identity_;
  OrgService& orgs_;
  const ProxyOptions options_;
  std::mutex mutex_;
  std::map<std::string, RateWindow> windows_;  // by user id; GUARDED_BY(mutex_)
  std::map<std::string, Spend> spend_;         // by org id; GUARDED_BY(mutex_)
};

}  // namespace joey::cloud
