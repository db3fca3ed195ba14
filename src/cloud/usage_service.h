// Usage reports of joeyd (issue 7 §6): tokens in and out, cache tokens, cost, request
// and task counts over the task_usage rows agents upload (cloud/task_service.h
// record_usage) and the model proxy's proxy_requests rows (cloud/proxy_service.h),
// grouped by day (UTC), member or model. No HTTP here:
// cloud/usage_routes.h maps these calls to routes.
//
// Who sees what. An organization's report covers the rows recorded for it (org_id),
// for its admins and owners only: a member gets kPermissionDenied, anyone else
// kNotFound (cloud/org_service.h). A user's own report covers the rows that name them
// (user_id) in every tenant — their personal ones and those of every organization.
//
// Bounds. A report spans at most kMaxUsageRangeDays; the database aggregates (GROUP BY
// over the indexed (org_id, ts) / (user_id, ts)), so no row is held in memory, and a
// report has at most one group per day, member or model in the range.
//
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "cloud/identity.h"
#include "cloud/org_service.h"
#include "store/database.h"

namespace joey::cloud {

inline constexpr int64_t kMillisPerDay = 86'400'000;
inline constexpr int64_t kMaxUsageRangeDays = 400;
inline constexpr int64_t kDefaultUsageRangeDays = 30;

enum class UsageGrouping { kDay, kMember, kModel };

// "day", "member", "model".
const char* usage_grouping_name(UsageGrouping grouping);

// The range [from_ms, to_ms] (Unix milliseconds, both ends included) and the grouping.
struct UsageQuery {
  int64_t from_ms = 0;
  int64_t to_ms = 0;
  UsageGrouping group_by = UsageGrouping::kDay;
};

// Parses ?from=&to=&group_by= from the raw, undecoded query string (untrusted).
// from/to are Unix milliseconds (digits only); to defaults to `now_ms`, from to
// kDefaultUsageRangeDays before `to` (not before 0). group_by is "day" (the default),
// "model", or — only when `allow_member` — "member". kInvalidArgument, naming the
// parameter, for an unknown or repeated parameter, a malformed value, from after to,
// or a range over kMaxUsageRangeDays.
Result<UsageQuery> parse_usage_query(std::string_view raw_query, int64_t now_ms, bool allow_member);

struct UsageTotals {
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cache_read_tokens = 0;
  int64_t cache_write_tokens = 0;
  double cost_usd = 0;
  int64_t requests = 0;  // usage rows (one per model request)
  int64_t tasks = 0;     // distinct task ids
  nlohmann::json to_json() const;
};

struct UsageGroup {
  // "YYYY-MM-DD" (UTC), a user id, or a model name.
  std::string key;
  // Grouped by member: the member's email and name while they belong to the
  // organization; nullopt for a former member.
  std::optional<std::string> email;
  std::optional<std::string> name;
  UsageTotals totals;
};

struct UsageReport {
  UsageQuery query;
  std::vector<UsageGroup> groups;  // ordered by key
  UsageTotals total;
  // {"from", "to", "group_by", "groups": [{"key", ...totals}], "total": {...}}; member
  // groups carry "email" and "name" (null for a former member).
  nlohmann::json to_json() const;
};

// "YYYY-MM-DD" of the UTC day `days` after 1970-01-01.
std::string utc_date(int64_t days);

class UsageService {
 public:
  // `database` and `orgs` must outlive the service.
  UsageService(store::Database& database, OrgService& orgs);

  // The organization's usage (admins and owners).
  Result<UsageReport> org_usage(const User& caller, const std::string& org_id,
                                const UsageQuery& query);
  // The caller's own usage in every tenant; group_by must not be kMember.
  Result<UsageReport> user_usage(const User& caller, const UsageQuery& query);

  // Called before each report reads: the model proxy writes its rows in the background
  // (ProxyService::flush), and a report must count the requests that have ended.
  void settle_with(std::function<void()> settle) { settle_ = std::move(settle); }

 private:
  // `tenant_condition` is an unaliased column condition ("org_id = :org"), applied to
  // both tables the report reads.
  Result<UsageReport> report(const store::Scope& scope, const std::string& tenant_condition,
                             const UsageQuery& query);

  store::Database& database_;
  OrgService& orgs_;
  std::function<void()> settle_;  // set before serving
};

}  // namespace joey::cloud
