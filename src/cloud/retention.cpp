#include "cloud/retention.h"

#include <utility>

#include "base/log.h"
#include "cloud/key_ring.h"
#include "cloud/task_service.h"

namespace joey::cloud {
namespace {

constexpr char kActor[] = "joeyd";
// Rounds of kMaxTasksPerDelete tasks one organization gets per run (5 million tasks);
// what is left waits for the next run.
constexpr int kMaxRoundsPerOrg = 10000;

int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The organization's retention period in days, or nullopt to keep tasks forever.
std::optional<int64_t> retention_days(const nlohmann::json& settings) {
  const auto cloud = settings.find("cloud");
  if (cloud == settings.end() || !cloud->is_object()) return std::nullopt;
  const auto days = cloud->find("retention_days");
  if (days == cloud->end() || !days->is_number_integer()) return std::nullopt;
  const int64_t value = days->get<int64_t>();
  // The settings merge allows 1..36500; anything else is not a period to act on.
  if (value < 1 || value > 36500) return std::nullopt;
  return value;
}

// Deletes one organization's tasks last updated before `cutoff_ms`; returns how many.
Result<int64_t> purge_org(store::Database& database, OrgService& orgs, const std::string& org_id,
                          int64_t cutoff_ms) {
  const Tenant tenant = Tenant::org(org_id);
  int64_t deleted = 0;
  for (int round = 0; round < kMaxRoundsPerOrg; ++round) {
    store::Transaction tx = TRY(database.begin(store::Scope::for_org(org_id)));
    store::Rows rows =
        TRY(tx.query("SELECT id FROM tasks WHERE org_id = :org AND updated_at < ? "
                     "ORDER BY updated_at, id LIMIT ?",
                     {cutoff_ms, static_cast<int64_t>(kMaxTasksPerDelete)}));
    if (rows.empty()) break;
    std::vector<std::string> ids;
    ids.reserve(rows.size());
    for (const store::Row& row : rows) ids.push_back(TRY(row.text("id")));
    const int64_t removed = TRY(delete_tenant_tasks(tx, tenant, ids));
    if (removed > 0) {
      TRY(orgs.record_audit(tx, kActor, "tasks.expired", std::to_string(removed)));
    }
    TRY(tx.commit());
    deleted += removed;
    if (rows.size() < kMaxTasksPerDelete) break;
  }
  return deleted;
}

}  // namespace

Result<RetentionReport> purge_expired_tasks(store::Database& database, OrgService& orgs,
                                            int64_t now_ms) {
  std::vector<std::string> org_ids;
  {
    store::Transaction tx = TRY(database.begin_all_tenants(store::Access::kRead));
    for (const store::Row& row : TRY(tx.query("SELECT id FROM organizations ORDER BY id"))) {
      org_ids.push_back(TRY(row.text("id")));
    }
  }
  RetentionReport report;
  for (const std::string& org_id : org_ids) {
    ++report.organizations_checked;
    Result<nlohmann::json> settings = orgs.settings_for_server(org_id);
    if (!settings.ok()) {
      // Deleted since it was listed: nothing to keep or purge.
      if (settings.error().kind == ErrorKind::kNotFound) continue;
      log::warn("retention_failed",
                {log::field("org_id", org_id), log::field("error", settings.error().message)});
      report.failed.push_back(org_id);
      continue;
    }
    const std::optional<int64_t> days = retention_days(*settings);
    if (!days) continue;
    Result<int64_t> deleted = purge_org(database, orgs, org_id, now_ms - *days * 86'400'000);
    if (!deleted.ok()) {
      log::warn("retention_failed",
                {log::field("org_id", org_id), log::field("error", deleted.error().message)});
      report.failed.push_back(org_id);
      continue;
    }
    report.purged.push_back(OrgRetention{org_id, *days, *deleted});
    report.tasks_deleted += *deleted;
  }
  if (report.tasks_deleted > 0) TRY(database.flush_deleted());
  return report;
}

RetentionJob::RetentionJob(store::Database& database, OrgService& orgs, RetentionJobOptions options)
    : database_(database), orgs_(orgs), options_(std::move(options)) {
  if (!options_.clock_ms) options_.clock_ms = system_now_ms;
}

RetentionJob::~RetentionJob() { stop(); }

void RetentionJob::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void RetentionJob::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RetentionJob::run() {
  // One run per interval until stopped; the wait wakes early only to stop.
  for (;;) {
    Result<RetentionReport> report = purge_expired_tasks(database_, orgs_, options_.clock_ms());
    if (report.ok()) {
      log::info("retention_purged",
                {log::field("organizations", report->organizations_checked),
                 log::field("organizations_with_retention", report->purged.size()),
                 log::field("tasks_deleted", report->tasks_deleted),
                 log::field("organizations_failed", report->failed.size())});
    } else {
      log::warn("retention_failed", {log::field("error", report.error().message)});
    }
    std::unique_lock<std::mutex> lock(mutex_);
    if (wake_.wait_for(lock, options_.interval, [this] { return stopping_; })) return;
  }
}

}  // namespace joey::cloud
