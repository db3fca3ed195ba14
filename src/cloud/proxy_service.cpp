#include "cloud/proxy_service.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <thread>

#include "base/ids.h"
#include "base/log.h"
#include "base/strings.h"
#include "llm/model_catalog.h"
#include "llm/model_policy.h"
#include "llm/pricing.h"
#include "store/yielding_vfs.h"

namespace joey::cloud {
namespace {

// Rate-limit windows of users not seen for this many minutes are forgotten.
constexpr int64_t kForgetAfterMinutes = 2;
constexpr size_t kSweepEvery = 1024;
// Callers and provider keys kept for admission (see bound_kept).
constexpr size_t kMaxKept = 10'000;
// Rows queued for the writer before finish() waits for it.
constexpr size_t kMaxQueuedRecords = 65'536;
// The writer lets rows gather this long, or until this many wait, before a transaction:
// a commit costs far more than a row, and nobody waits for these rows (flush() cuts the
// wait short).
constexpr auto kGatherFor = std::chrono::milliseconds(20);
constexpr size_t kGatherRows = 512;
// The writer steps aside for the I/O threads (sched_yield) after every INSERT (a few rows,
// ~0.1 ms) and every page it writes: a batch of hundreds of rows, or a checkpoint, is
// milliseconds of CPU, and on a core an I/O thread shares the kernel does not preempt the
// writer when a socket wakes that thread (measured: answers delayed by as long as the batch
// ran, whatever the writer's nice level or policy). On a saturated core a yield can cost
// the writer a whole scheduler slice, so one by one only for kOneByOneFor of each
// transaction (it holds the database's one write lock), then after every kRowsPerYield
// rows and pages (~1 ms of work); and a batch over kYieldUpToRows (the writer is behind)
// starts there.
constexpr auto kOneByOneFor = std::chrono::milliseconds(5);
constexpr unsigned kRowsPerYield = 64;
constexpr size_t kYieldUpToRows = 2 * kGatherRows;

// Rows go into proxy_requests up to kMaxRowsPerStatement per INSERT (in sizes 8, 4, 2 and
// 1, so a handful of statements stay prepared): each statement costs SQLite and the
// statement checker a fixed amount on top of its rows (callgrind, 32 connections: 33k
// instructions per row in one-row statements, 24k in eight-row ones; 32-row ones save
// little more and run four times as long between the writer's yields).
constexpr size_t kMaxRowsPerStatement = 8;

// INSERT for `rows` rows (a power of two up to kMaxRowsPerStatement) of an organization's
// member, or of a user on their own.
const std::string& insert_statement(bool for_org, size_t rows) {
  static const auto statements = [] {
    std::array<std::array<std::string, std::bit_width(kMaxRowsPerStatement)>, 2> built;
    for (int org = 0; org < 2; ++org) {
      const std::string row = std::string("(?, ") + (org ? "?, :org" : ":user, NULL") +
                              ", ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
      for (size_t size = 0; size < built[org].size(); ++size) {
        std::string& sql = built[org][size];
        sql =
            "INSERT INTO proxy_requests (id, user_id, org_id, ts, provider, model, status, "
            "latency_ms, streamed, input_tokens, output_tokens, cache_read_tokens, "
            "cache_write_tokens, cost_usd) VALUES ";
        for (size_t i = 0; i < (size_t{1} << size); ++i) sql += (i ? ", " : "") + row;
      }
    }
    return built;
  }();
  return statements[for_org ? 1 : 0][static_cast<size_t>(std::countr_zero(rows))];
}

// A row id that sorts by time (12 hex digits of Unix milliseconds, then 20 random ones):
// new rows go to the end of the primary-key index instead of a random page of it.
std::string record_id(int64_t ts_ms) {
  char prefix[17];
  std::snprintf(prefix, sizeof prefix, "%012llx",
                static_cast<unsigned long long>(std::max<int64_t>(ts_ms, 0)) & 0xffffffffffffULL);
  return prefix + random_hex(10);
}

// A per-token price as the price list states it, per million tokens: the table keeps
// USD per token, and 0.8 / 1e6 * 1e6 is 0.7999999999999999, which a client would show.
// Rounded to a millionth of a dollar per million tokens, far below any list price's
// precision.
double per_million(double usd_per_token) { return std::round(usd_per_token * 1e12) / 1e6; }

// Months since January 1970, UTC, and the first millisecond of that month.
int64_t utc_month(int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  return (parts.tm_year - 70) * 12 + parts.tm_mon;
}
int64_t month_start_ms(int64_t month) {
  std::tm parts{};
  parts.tm_year = static_cast<int>(month / 12 + 70);
  parts.tm_mon = static_cast<int>(month % 12);
  parts.tm_mday = 1;
  return static_cast<int64_t>(timegm(&parts)) * 1000;
}

std::optional<double> number_setting(const nlohmann::json& settings, const char* key) {
  if (!settings.is_object()) return std::nullopt;
  const auto proxy = settings.find("proxy");
  if (proxy == settings.end() || !proxy->is_object()) return std::nullopt;
  const auto value = proxy->find(key);
  if (value == proxy->end() || !value->is_number()) return std::nullopt;
  return value->get<double>();
}

ProxyRefusal refusal(int status, std::string message) {
  return ProxyRefusal{status, std::move(message), std::nullopt};
}

// The joey token of a proxy request: `Authorization: Bearer T`, else `x-api-key: T`.
std::optional<std::string> token_of(const HttpRequest& request) {
  if (const auto authorization = request.header("authorization")) {
    if (!ascii_istarts_with(*authorization, "bearer ")) return std::nullopt;
    return std::string(trim(authorization->substr(7)));
  }
  if (const auto key = request.header("x-api-key")) return std::string(trim(*key));
  return std::nullopt;
}

}  // namespace

ProxyService::ProxyService(store::Database& database, IdentityService& identity, OrgService& orgs,
                           ProxyOptions options)
    : database_(database),
      identity_(identity),
      orgs_(orgs),
      options_(std::move(options)),
      writer_([this] { write_records(); }) {}

ProxyService::~ProxyService() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_changed_.notify_all();
  writer_.join();
}

int64_t ProxyService::now_ms() const {
  if (options_.clock_ms) return options_.clock_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const ProxyUpstream& ProxyService::upstream(UpstreamProvider provider) const {
  switch (provider) {
    case UpstreamProvider::kAnthropic:
      return options_.anthropic;
    case UpstreamProvider::kOpenRouter:
      return options_.openrouter;
    case UpstreamProvider::kOpenAI:
      break;
  }
  return options_.openai;
}

uint64_t ProxyService::access_generation() const {
  return identity_.access_generation() + orgs_.access_generation();
}

bool ProxyService::fresh(uint64_t generation, std::chrono::steady_clock::time_point read_at) const {
  return generation == access_generation() &&
         std::chrono::steady_clock::now() - read_at < options_.access_refresh;
}

namespace {

// Drops what is no longer fresh once a kept map holds this many entries, and everything
// if that is not enough: a bound on memory, never on correctness.
template <typename Map, typename Fresh>
void bound_kept(Map& kept, const Fresh& fresh) {
  if (kept.size() < kMaxKept) return;
  std::erase_if(kept, [&](const auto& entry) {
    return !fresh(entry.second.generation, entry.second.read_at);
  });
  if (kept.size() >= kMaxKept) kept.clear();
}

}  // namespace

Result<std::shared_ptr<const ProxyService::Account>> ProxyService::read_account(
    const std::string& token, std::string_view org) {
  // A string that cannot be a token costs neither a digest nor a database read.
  const std::string digest = TRY(IdentityService::token_digest_of(token));
  // Kept per token and organization named (a digest holds no '\n'); with no organization
  // named, as nearly every request, under the digest itself, not a copy of it.
  std::string scoped;
  if (!org.empty()) scoped = digest + '\n' + std::string(org);
  const std::string& kept_as = org.empty() ? digest : scoped;
  const uint64_t generation = access_generation();  // before the reads it vouches for
  {
    std::lock_guard lock(mutex_);
    const auto found = accounts_.find(kept_as);
    if (found != accounts_.end() && fresh(found->second.generation, found->second.read_at)) {
      return found->second.value;
    }
  }
  const Caller caller = TRY(identity_.authenticate_token_digest(digest, TokenUse::kLeaveToCaller));
  if (caller.unrecorded_use_at) queue_token_use(digest, *caller.unrecorded_use_at);
  auto account = std::make_shared<Account>(Account{caller.user, std::nullopt, nullptr});
  if (const std::optional<std::string> active = TRY(orgs_.active_org_id(account->user, org))) {
    account->settings = TRY(orgs_.settings_for_server(*active));
    account->org_id = *active;
  }
  std::lock_guard lock(mutex_);
  bound_kept(accounts_, [this](uint64_t g, auto at) { return fresh(g, at); });
  accounts_[kept_as] = {account, generation, std::chrono::steady_clock::now()};
  return std::shared_ptr<const Account>(std::move(account));
}

std::variant<std::shared_ptr<const ProxyService::Account>, ProxyRefusal> ProxyService::account(
    const HttpRequest& request) {
  const std::optional<std::string> token = token_of(request);
  if (!token || token->empty()) {
    return refusal(401,
                   "the joey proxy needs a joey access token: Authorization: Bearer joey_pat_… "
                   "(or x-api-key); create one with `joey login` or POST /api/tokens");
  }
  // A member of several organizations names the one whose policy, keys and budget the
  // request counts against; without it, their oldest membership.
  const std::string_view org = trim(request.header(kOrganizationHeader).value_or(""));
  Result<std::shared_ptr<const Account>> account = read_account(*token, org);
  if (!account.ok()) {
    if (account.error().kind == ErrorKind::kAuth) {
      return refusal(401, "the joey access token is not valid (revoked, expired or mistyped)");
    }
    if (account.error().kind == ErrorKind::kNotFound && !org.empty()) {
      return refusal(403, std::string("you are not a member of the organization ") +
                              kOrganizationHeader + " names");
    }
    log::error("proxy_auth_failed", {log::field("error", account.error().message)});
    return refusal(500,
                   "the joey proxy could not check the token or read the organization's "
                   "policy");
  }
  request.context.user_id = (*account)->user.id;
  return std::move(*account);
}

Result<std::optional<std::string>> ProxyService::provider_key(const std::string& org_id,
                                                              const std::string& provider) {
  const std::string name = org_id + '\n' + provider;
  const uint64_t generation = access_generation();
  {
    std::lock_guard lock(mutex_);
    const auto found = provider_keys_.find(name);
    if (found != provider_keys_.end() && fresh(found->second.generation, found->second.read_at)) {
      return found->second.value;
    }
  }
  std::optional<std::string> key = TRY(orgs_.provider_key(org_id, provider));
  std::lock_guard lock(mutex_);
  bound_kept(provider_keys_, [this](uint64_t g, auto at) { return fresh(g, at); });
  provider_keys_[name] = {key, generation, std::chrono::steady_clock::now()};
  return key;
}

std::optional<ProxyRefusal> ProxyService::check_limits(const Account& account) {
  const std::optional<double> requests =
      number_setting(account.settings, "user_requests_per_minute");
  const std::optional<double> tokens = number_setting(account.settings, "user_tokens_per_minute");
  if (!requests && !tokens) return std::nullopt;
  const int64_t now = now_ms();
  const int64_t minute = now / 60'000;
  // Sliding-window estimate: this minute's count plus the share of the previous minute's
  // that still lies within the last 60 seconds.
  const double previous_share = 1.0 - static_cast<double>(now % 60'000) / 60'000.0;
  const int retry_after = static_cast<int>((60'000 - now % 60'000 + 999) / 1000);
  std::lock_guard lock(mutex_);
  RateWindow& window = windows_[account.user.id];
  if (window.minute != minute) {
    const bool adjacent = window.minute == minute - 1;
    window.previous_requests = adjacent ? window.requests : 0;
    window.previous_tokens = adjacent ? window.tokens : 0;
    window.requests = 0;
    window.tokens = 0;
    window.minute = minute;
  }
  if (requests && window.requests + previous_share * window.previous_requests + 1 > *requests) {
    return ProxyRefusal{429,
                        "rate limit: your organization allows " +
                            std::to_string(static_cast<int64_t>(*requests)) +
                            " model requests per minute per member through the joey proxy",
                        retry_after};
  }
  if (tokens && window.tokens + previous_share * window.previous_tokens >= *tokens) {
    return ProxyRefusal{429,
                        "rate limit: your organization allows " +
                            std::to_string(static_cast<int64_t>(*tokens)) +
                            " tokens per minute per member through the joey proxy",
                        retry_after};
  }
  ++window.requests;
  if (windows_.size() > kSweepEvery) {
    std::erase_if(windows_, [minute](const auto& entry) {
      return entry.second.minute < minute - kForgetAfterMinutes;
    });
  }
  return std::nullopt;
}

std::optional<ProxyRefusal> ProxyService::check_budget(const Account& account) {
  const std::optional<double> budget = number_setting(account.settings, "monthly_budget_usd");
  if (!budget || !account.org_id) return std::nullopt;
  const int64_t month = utc_month(now_ms());
  const auto fresh_after = std::chrono::steady_clock::now() - options_.budget_refresh;
  double spent = 0;
  {
    std::lock_guard lock(mutex_);
    const auto found = spend_.find(*account.org_id);
    if (found != spend_.end() && found->second.month == month &&
        found->second.read_at > fresh_after) {
      spent = found->second.usd;
    } else {
      spent = -1;
    }
  }
  if (spent < 0) {
    // The rows of requests already finished count, written or not. Waiting for the
    // writer here (as this once did) stalled the I/O thread for a batch every
    // budget_refresh; instead the cost still queued is added to what the database holds.
    // It is read first: a row written between the two reads is counted twice until the
    // next refresh (the budget errs on the safe side by at most a batch), never missed.
    double unwritten = 0;
    {
      std::lock_guard lock(mutex_);
      const auto found = unwritten_usd_.find(*account.org_id);
      if (found != unwritten_usd_.end()) unwritten = found->second;
    }
    Result<double> total = [&]() -> Result<double> {
      store::Transaction tx = TRY(database_.begin(
          store::Scope::for_org(*account.org_id, account.user.id), store::Access::kRead));
      store::Rows rows =
          TRY(tx.query("SELECT COALESCE(SUM(p.cost_usd), 0) AS spent FROM proxy_requests p "
                       "WHERE p.org_id = :org AND p.ts >= ?",
                       {month_start_ms(month)}));
      TRY(tx.commit());
      return rows.empty() ? 0.0 : TRY(rows[0].real("spent"));
    }();
    if (!total.ok()) {
      log::error("proxy_budget_failed", {log::field("error", total.error().message)});
      return refusal(500, "the joey proxy could not read the organization's spending");
    }
    spent = *total + unwritten;
    std::lock_guard lock(mutex_);
    spend_[*account.org_id] = Spend{month, spent, std::chrono::steady_clock::now()};
  }
  if (spent >= *budget) {
    char amount[64];
    std::snprintf(amount, sizeof amount, "%.2f", *budget);
    return refusal(402, std::string("your organization's monthly budget for the joey proxy ($") +
                            amount + ") is spent; its admin can raise it");
  }
  return std::nullopt;
}

std::variant<ProxyTicket, ProxyRefusal> ProxyService::admit(const HttpRequest& request,
                                                            ProxyProtocol protocol,
                                                            ProxyCall call) {
  std::variant<std::shared_ptr<const Account>, ProxyRefusal> found = account(request);
  if (auto* refused = std::get_if<ProxyRefusal>(&found)) return std::move(*refused);
  const Account& account = *std::get<std::shared_ptr<const Account>>(found);

  Result<PreparedRequest> prepared = prepare_request(protocol, request.body);
  if (!prepared.ok()) return refusal(400, prepared.error().message);
  const char* provider = upstream_provider_name(prepared->provider);

  if (account.org_id && account.settings.is_object()) {
    const auto allow_list = account.settings.find("allow_list");
    if (allow_list != account.settings.end()) {
      if (std::optional<std::string> refused =
              llm::model_refusal(*allow_list, provider, prepared->upstream_model)) {
        return refusal(403, *refused);
      }
    }
  }
  if (std::optional<ProxyRefusal> refused = check_budget(account)) return std::move(*refused);
  if (std::optional<ProxyRefusal> refused = check_limits(account)) return std::move(*refused);

  const ProxyUpstream& target = upstream(prepared->provider);
  std::string key;
  if (account.org_id) {
    Result<std::optional<std::string>> stored = provider_key(*account.org_id, provider);
    if (!stored.ok()) {
      log::error("proxy_key_failed", {log::field("error", stored.error().message)});
      return refusal(500, "the joey proxy could not read the organization's provider key");
    }
    if (*stored) key = std::move(**stored);
  }
  if (key.empty()) key = target.operator_key;
  if (key.empty()) {
    // Who can fix it, and how: the organization's admin (its own key, sealed at rest), or
    // the server's operator (a key for everyone on the server).
    const std::string variable = operator_key_variable(prepared->provider);
    ProxyRefusal no_key = refusal(
        503, std::string("the joey proxy has no API key for ") + provider + ": " +
                 (account.org_id ? "an admin of your organization can add one (PUT /api/orgs/" +
                                       *account.org_id + "/provider-keys/" + provider +
                                       "), or the server's operator can set " + variable
                                 : "the server's operator can set " + variable +
                                       "; an organization can add a key of its own"));
    no_key.retry = false;  // until an admin sets one
    return no_key;
  }

  ProxyTicket ticket;
  ticket.user_id = account.user.id;
  ticket.org_id = account.org_id;
  ticket.protocol = protocol;
  ticket.started = std::chrono::steady_clock::now();
  const bool messages = protocol == ProxyProtocol::kAnthropicMessages;
  const char* path = protocol == ProxyProtocol::kOpenAIResponses ? "/responses"
                     : !messages                                 ? "/chat/completions"
                     : call == ProxyCall::kCountTokens           ? "/messages/count_tokens"
                                                                 : "/messages";
  ticket.upstream_url = target.base_url + path;
  // The query goes along as sent (Anthropic's SDKs mark beta calls with ?beta=true); the
  // request line's parser has already refused bytes a URL cannot hold.
  if (!request.query.empty()) ticket.upstream_url += "?" + request.query;
  ticket.upstream_headers.reserve(5);
  ticket.upstream_headers.emplace_back("content-type", "application/json");
  if (messages) {
    ticket.upstream_headers.emplace_back("x-api-key", key);
    const auto version = request.header("anthropic-version");
    ticket.upstream_headers.emplace_back("anthropic-version",
                                         version ? std::string(*version) : "2023-06-01");
    if (const auto beta = request.header("anthropic-beta")) {
      ticket.upstream_headers.emplace_back("anthropic-beta", std::string(*beta));
    }
  } else {
    ticket.upstream_headers.emplace_back("authorization", "Bearer " + key);
  }
  ticket.upstream_headers.emplace_back("accept",
                                       prepared->stream ? "text/event-stream" : "application/json");
  ticket.prepared = std::move(*prepared);
  return ticket;
}

void ProxyService::finish(const ProxyTicket& ticket, int status, const MeteredUsage& usage) {
  const int64_t latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - ticket.started)
                                 .count();
  const std::optional<double> cost =
      request_cost(usage, llm::PriceTable::builtin(), ticket.prepared.upstream_model);
  const int64_t tokens =
      usage.input_tokens + usage.output_tokens + usage.cache_read_tokens + usage.cache_write_tokens;
  {
    std::lock_guard lock(mutex_);
    const auto window = windows_.find(ticket.user_id);
    if (window != windows_.end()) window->second.tokens += tokens;
    if (ticket.org_id && cost) {
      const auto spend = spend_.find(*ticket.org_id);
      if (spend != spend_.end()) spend->second.usd += *cost;
      if (*cost > 0) unwritten_usd_[*ticket.org_id] += *cost;
    }
  }
  Record record{ticket.user_id,
                ticket.org_id,
                now_ms(),
                upstream_provider_name(ticket.prepared.provider),
                ticket.prepared.model,
                status,
                latency_ms,
                ticket.prepared.stream,
                usage,
                cost.value_or(0)};
  std::unique_lock lock(queue_mutex_);
  // A database that stalls makes the I/O threads wait here rather than memory grow.
  queue_changed_.wait(lock, [this] { return queue_.size() < kMaxQueuedRecords || stopping_; });
  queue_.push_back(std::move(record));
  ++queued_;
  // The writer needs waking for the first row of a batch and for a full one; the rows
  // between only gather.
  const bool wake = queue_.size() == 1 || queue_.size() == kGatherRows;
  lock.unlock();
  if (wake) queue_changed_.notify_all();
}

void ProxyService::queue_token_use(const std::string& digest, int64_t at) {
  std::unique_lock lock(queue_mutex_);
  // A use queued already and not yet taken by the writer is that minute's record.
  if (!token_uses_.emplace(digest, at).second) return;
  ++queued_;
  const bool wake = queue_.empty() && token_uses_.size() == 1;
  lock.unlock();
  if (wake) queue_changed_.notify_all();
}

void ProxyService::flush() {
  std::unique_lock lock(queue_mutex_);
  const uint64_t target = queued_;
  if (written_ >= target) return;
  flush_wanted_ = std::max(flush_wanted_, target);
  queue_changed_.notify_all();
  queue_changed_.wait(lock, [&] { return written_ >= target; });
}

// The writer: takes everything queued, writes it, and tells flush() and finish().
void ProxyService::write_records() {
  std::vector<Record> batch;
  std::map<std::string, int64_t> token_uses;
  for (;;) {
    {
      std::unique_lock lock(queue_mutex_);
      written_ += batch.size() + token_uses.size();
      batch.clear();
      token_uses.clear();
      queue_changed_.notify_all();
      queue_changed_.wait(lock,
                          [this] { return !queue_.empty() || !token_uses_.empty() || stopping_; });
      if (queue_.empty() && token_uses_.empty()) return;  // stopping, and nothing left
      queue_changed_.wait_for(lock, kGatherFor, [this] {
        return queue_.size() >= kGatherRows || stopping_ || flush_wanted_ > written_;
      });
      batch.swap(queue_);
      token_uses.swap(token_uses_);
    }
    for (const auto& [digest, at] : token_uses) {
      Status recorded = identity_.record_token_use(digest, at);
      if (!recorded.ok()) {
        log::error("proxy_token_use_failed", {log::field("error", recorded.error().message)});
      }
    }
    const bool one_by_one = batch.size() <= kYieldUpToRows;
    // One transaction per tenant, rows in the order they came.
    std::map<std::string, std::vector<const Record*>> tenants;
    for (const Record& record : batch) {
      tenants[record.org_id ? "o" + *record.org_id : "u" + record.user_id].push_back(&record);
    }
    for (const auto& [tenant, records] : tenants) {
      if (!insert_records(records, one_by_one).ok()) {
        // One bad row (its user deleted meanwhile) must not cost the others theirs.
        for (const Record* record : records) {
          Status alone = insert_records({record}, one_by_one);
          if (!alone.ok()) {
            log::error("proxy_record_failed", {log::field("error", alone.error().message)});
          }
        }
      }
      settle_unwritten(records);
    }
  }
}

// The rows are written (or failed): their cost is the database's to count now.
void ProxyService::settle_unwritten(const std::vector<const Record*>& records) {
  std::lock_guard lock(mutex_);
  for (const Record* record : records) {
    if (!record->org_id || !(record->cost_usd > 0)) continue;
    const auto found = unwritten_usd_.find(*record->org_id);
    if (found == unwritten_usd_.end()) continue;
    found->second -= record->cost_usd;
    // Sums of doubles taken away in another order leave crumbs; a cent's millionth is none.
    if (found->second < 1e-8) unwritten_usd_.erase(found);
  }
}

// Writes rows of one tenant in one transaction.
Status ProxyService::insert_records(const std::vector<const Record*>& records, bool one_by_one) {
  const Record& first = *records.front();
  const bool for_org = first.org_id.has_value();
  const store::Scope scope = for_org ? store::Scope::for_org(*first.org_id, first.user_id)
                                     : store::Scope::for_user(first.user_id);
  const auto one_by_one_until = one_by_one ? std::chrono::steady_clock::now() + kOneByOneFor
                                           : std::chrono::steady_clock::time_point{};
  store::set_page_write_yields(kRowsPerYield, one_by_one_until);
  store::Transaction tx = TRY(database_.begin(scope));
  std::vector<store::Value> params;
  size_t written = 0;
  while (written < records.size()) {
    size_t rows = kMaxRowsPerStatement;
    while (rows > records.size() - written) rows /= 2;
    params.clear();
    for (size_t i = written; i < written + rows; ++i) {
      const Record& record = *records[i];
      params.emplace_back(record_id(record.ts));
      if (for_org) params.emplace_back(record.user_id);
      params.insert(
          params.end(),
          {store::Value(record.ts), store::Value(record.provider), store::Value(record.model),
           store::Value(int64_t{record.status}), store::Value(record.latency_ms),
           store::Value(int64_t{record.streamed}), store::Value(record.usage.input_tokens),
           store::Value(record.usage.output_tokens), store::Value(record.usage.cache_read_tokens),
           store::Value(record.usage.cache_write_tokens), store::Value(record.cost_usd)});
    }
    TRY(tx.execute(insert_statement(for_org, rows), params));
    const bool crossed = (written + rows) / kRowsPerYield != written / kRowsPerYield;
    written += rows;
    if (crossed || std::chrono::steady_clock::now() < one_by_one_until) {
      std::this_thread::yield();  // see kOneByOneFor
    }
  }
  return tx.commit();
}

std::variant<nlohmann::json, ProxyRefusal> ProxyService::models(const HttpRequest& request,
                                                                ProxyProtocol protocol) {
  std::variant<std::shared_ptr<const Account>, ProxyRefusal> found = account(request);
  if (auto* refused = std::get_if<ProxyRefusal>(&found)) return std::move(*refused);
  const Account& account = *std::get<std::shared_ptr<const Account>>(found);
  nlohmann::json allow_list;
  if (account.settings.is_object() && account.settings.contains("allow_list")) {
    allow_list = account.settings["allow_list"];
  }
  const bool anthropic = protocol == ProxyProtocol::kAnthropicMessages;
  // The models joey knows a price for, from the providers the proxy serves directly.
  nlohmann::json data = nlohmann::json::array();
  const llm::PriceTable& prices = llm::PriceTable::builtin();
  for (const std::string& id : prices.model_ids()) {
    const char* provider = id.starts_with("claude") ? "anthropic" : "openai";
    if (llm::model_refusal(allow_list, provider, id)) continue;
    const llm::ModelPrice price = *prices.find(id);
    nlohmann::json model =
        anthropic ? nlohmann::json{{"type", "model"}, {"id", id}, {"display_name", id}}
                  : nlohmann::json{{"id", id}, {"object", "model"}, {"owned_by", provider}};
    model["context_window"] = llm::context_window_or_default(id);
    model["pricing"] = {{"input_per_million_usd", per_million(price.input)},
                        {"output_per_million_usd", per_million(price.output)},
                        {"cache_read_per_million_usd", per_million(price.cache_read)},
                        {"cache_write_per_million_usd", per_million(price.cache_write)}};
    data.push_back(std::move(model));
  }
  if (anthropic) {
    // One page holds every model: has_more is false, and the ids bound the page as
    // Anthropic's list does (null when the allow-list leaves nothing).
    nlohmann::json first = data.empty() ? nlohmann::json() : data.front()["id"];
    nlohmann::json last = data.empty() ? nlohmann::json() : data.back()["id"];
    return nlohmann::json{
        {"data", std::move(data)}, {"has_more", false}, {"first_id", first}, {"last_id", last}};
  }
  return nlohmann::json{{"object", "list"}, {"data", std::move(data)}};
}

}  // namespace joey::cloud
