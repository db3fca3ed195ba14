#include "cloud/usage_service.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <utility>

#include "cloud/query_params.h"

namespace joey::cloud {
namespace {

// 9999-12-31T23:59:59.999Z, as for uploads (cloud/task_wire.h).
constexpr int64_t kMaxTimestampMs = 253402300799999;

constexpr std::array<std::string_view, 3> kUsageParams = {"from", "to", "group_by"};

Error invalid(std::string message) {
  return make_error(ErrorKind::kInvalidArgument, std::move(message));
}

Result<int64_t> parse_ms(const std::string& value, const char* name) {
  const std::optional<int64_t> ms = parse_decimal(value, kMaxTimestampMs);
  if (!ms) return invalid(std::string(name) + " must be Unix milliseconds (digits only)");
  return *ms;
}

// The aggregate columns every report query selects.
constexpr const char* kTotalsColumns =
    "CAST(COALESCE(SUM(u.input_tokens), 0) AS BIGINT) AS input_tokens, "
    "CAST(COALESCE(SUM(u.output_tokens), 0) AS BIGINT) AS output_tokens, "
    "CAST(COALESCE(SUM(u.cache_read_tokens), 0) AS BIGINT) AS cache_read_tokens, "
    "CAST(COALESCE(SUM(u.cache_write_tokens), 0) AS BIGINT) AS cache_write_tokens, "
    "COALESCE(SUM(u.cost_usd), 0) AS cost_usd, COUNT(*) AS requests, "
    "COUNT(DISTINCT u.task_id) AS task_count";

Result<UsageTotals> totals_from(const store::Row& row) {
  UsageTotals totals;
  totals.input_tokens = TRY(row.integer("input_tokens"));
  totals.output_tokens = TRY(row.integer("output_tokens"));
  totals.cache_read_tokens = TRY(row.integer("cache_read_tokens"));
  totals.cache_write_tokens = TRY(row.integer("cache_write_tokens"));
  totals.cost_usd = TRY(row.real("cost_usd"));
  totals.requests = TRY(row.integer("requests"));
  totals.tasks = TRY(row.integer("task_count"));
  return totals;
}

}  // namespace

const char* usage_grouping_name(UsageGrouping grouping) {
  switch (grouping) {
    case UsageGrouping::kDay:
      return "day";
    case UsageGrouping::kMember:
      return "member";
    case UsageGrouping::kModel:
      return "model";
  }
  return "day";
}

Result<UsageQuery> parse_usage_query(std::string_view raw_query, int64_t now_ms,
                                     bool allow_member) {
  const std::vector<std::optional<std::string>> values = TRY(split_query(raw_query, kUsageParams));
  UsageQuery query;
  query.to_ms = values[1] ? TRY(parse_ms(*values[1], "to")) : now_ms;
  if (values[0]) {
    query.from_ms = TRY(parse_ms(*values[0], "from"));
  } else {
    const int64_t span = kDefaultUsageRangeDays * kMillisPerDay;
    query.from_ms = query.to_ms > span ? query.to_ms - span : 0;
  }
  if (query.from_ms > query.to_ms) return invalid("from must not be after to");
  if (query.to_ms - query.from_ms > kMaxUsageRangeDays * kMillisPerDay) {
    return invalid("a usage report spans at most " + std::to_string(kMaxUsageRangeDays) +
                   " days (from to to)");
  }
  if (values[2]) {
    const std::string& group_by = *values[2];
    if (group_by == "day") {
      query.group_by = UsageGrouping::kDay;
    } else if (group_by == "model") {
      query.group_by = UsageGrouping::kModel;
    } else if (group_by == "member" && allow_member) {
      query.group_by = UsageGrouping::kMember;
    } else {
      return invalid(allow_member ? "group_by must be day, member or model"
                                  : "group_by must be day or model");
    }
  }
  return query;
}

nlohmann::json UsageTotals::to_json() const {
  return {{"input_tokens", input_tokens},
          {"output_tokens", output_tokens},
          {"cache_read_tokens", cache_read_tokens},
          {"cache_write_tokens", cache_write_tokens},
          // A sum of costs, to a billionth of a dollar: 0.1 + 0.2 is not shown as
          // 0.30000000000000004.
          {"cost_usd", std::round(cost_usd * 1e9) / 1e9},
          {"requests", requests},
          {"tasks", tasks}};
}

nlohmann::json UsageReport::to_json() const {
  nlohmann::json groups_json = nlohmann::json::array();
  for (const UsageGroup& group : groups) {
    nlohmann::json entry = group.totals.to_json();
    entry["key"] = group.key;
    if (query.group_by == UsageGrouping::kMember) {
      entry["email"] = group.email ? nlohmann::json(*group.email) : nlohmann::json(nullptr);
      entry["name"] = group.name ? nlohmann::json(*group.name) : nlohmann::json(nullptr);
    }
    groups_json.push_back(std::move(entry));
  }
  return {{"from", query.from_ms},
          {"to", query.to_ms},
          {"group_by", usage_grouping_name(query.group_by)},
          {"groups", std::move(groups_json)},
          {"total", total.to_json()}};
}

std::string utc_date(int64_t days) {
  // Howard Hinnant's civil_from_days: the proleptic Gregorian calendar, exact for every
  // day a timestamp up to 9999-12-31 names.
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t month_index = (5 * day_of_year + 2) / 153;
  const int64_t day = day_of_year - (153 * month_index + 2) / 5 + 1;
  const int64_t month = month_index < 10 ? month_index + 3 : month_index - 9;
  const int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  char text[80];  // room for any int64_t fields, so the compiler sees no truncation
  std::snprintf(text, sizeof text, "%04lld-%02lld-%02lld", static_cast<long long>(year),
                static_cast<long long>(month), static_cast<long long>(day));
  return text;
}

UsageService::UsageService(store::Database& database, OrgService& orgs)
    : database_(database), orgs_(orgs) {}

Result<UsageReport> UsageService::report(const store::Scope& scope,
                                         const std::string& tenant_condition,
                                         const UsageQuery& query) {
  if (settle_) settle_();
  UsageReport report;
  report.query = query;
  std::string key;
  switch (query.group_by) {
    case UsageGrouping::kDay:
      key = "u.ts / 86400000";
      break;
    case UsageGrouping::kMember:
      key = "u.user_id";
      break;
    case UsageGrouping::kModel:
      key = "u.model";
      break;
  }
  // Usage the agents report for their tasks, and the model proxy's own records (an agent
  // that uses the proxy reports none of its own, so nothing is counted twice).
  const std::string where =
      " FROM (SELECT t.user_id AS user_id, t.ts AS ts, t.model AS model, "
      "t.input_tokens AS input_tokens, t.output_tokens AS output_tokens, "
      "t.cache_read_tokens AS cache_read_tokens, t.cache_write_tokens AS cache_write_tokens, "
      "t.cost_usd AS cost_usd, t.task_id AS task_id FROM task_usage t WHERE t." +
      tenant_condition +
      " AND t.ts >= ? AND t.ts <= ? UNION ALL SELECT p.user_id, p.ts, p.model, p.input_tokens, "
      "p.output_tokens, p.cache_read_tokens, p.cache_write_tokens, p.cost_usd, NULL "
      "FROM proxy_requests p WHERE p." +
      tenant_condition + " AND p.ts >= ? AND p.ts <= ?) u";
  const std::vector<store::Value> range = {query.from_ms, query.to_ms, query.from_ms, query.to_ms};
  store::Transaction tx = TRY(database_.begin(scope, store::Access::kRead));
  store::Rows rows = TRY(tx.query("SELECT " + key + " AS group_key, " + kTotalsColumns + where +
                                      " GROUP BY " + key + " ORDER BY " + key,
                                  range));
  for (const store::Row& row : rows) {
    UsageGroup group;
    group.key = query.group_by == UsageGrouping::kDay ? utc_date(TRY(row.integer("group_key")))
                                                      : TRY(row.text("group_key"));
    group.totals = TRY(totals_from(row));
    report.groups.push_back(std::move(group));
  }
  store::Rows total = TRY(tx.query(std::string("SELECT ") + kTotalsColumns + where, range));
  if (!total.empty()) report.total = TRY(totals_from(total[0]));
  TRY(tx.commit());
  return report;
}

Result<UsageReport> UsageService::org_usage(const User& caller, const std::string& org_id,
                                            const UsageQuery& query) {
  const OrgInfo org = TRY(orgs_.get_org(caller, org_id));
  if (org.role == Role::kMember) {
    return make_error(ErrorKind::kPermissionDenied,
                      "only an organization's admins and owners can read its usage");
  }
  UsageReport usage = TRY(report(store::Scope::for_org(org_id, caller.id), "org_id = :org", query));
  if (query.group_by == UsageGrouping::kMember && !usage.groups.empty()) {
    std::map<std::string, std::pair<std::string, std::string>> members;
    for (Member& member : TRY(orgs_.list_members(caller, org_id))) {
      members.emplace(member.user_id, std::pair(std::move(member.email), std::move(member.name)));
    }
    for (UsageGroup& group : usage.groups) {
      const auto found = members.find(group.key);
      if (found == members.end()) continue;
      group.email = found->second.first;
      group.name = found->second.second;
    }
  }
  return usage;
}

Result<UsageReport> UsageService::user_usage(const User& caller, const UsageQuery& query) {
  if (query.group_by == UsageGrouping::kMember) {
    return invalid("group_by must be day or model");
  }
  return report(store::Scope::for_user(caller.id), "user_id = :user", query);
}

}  // namespace joey::cloud
