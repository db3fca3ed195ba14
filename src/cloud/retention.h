// The retention job (issue 7 §5, P9): an organization whose settings say
// cloud.retention_days = N keeps its tasks for N days after their last update; older
// ones are deleted with their messages, search terms, batches and shares (the same rows
// and order as deleting one task, cloud/task_service.h delete_tenant_tasks). A null
// retention_days keeps tasks forever; personal tasks (no organization) are never
// touched. Usage rows stay: they hold counts, not content, and usage reports need them.
//
// Each deletion is recorded in the organization's audit log as "tasks.expired" (actor
// "joeyd", target the number of tasks) in the transaction that deletes. Organizations
// are listed from an all-tenants transaction (store/schema.cpp); each is then purged in
// its own scope, at most kMaxTasksPerDelete tasks per transaction. One organization's
// failure does not stop the others: it is counted and logged, and the run goes on.
//
// joeyd runs the job once at start and then every 24 hours (RetentionJob); `joeyd
// retention run` runs it once by hand. Logs carry counts and organization ids only.
//
// Thread-safety: purge_expired_tasks may run concurrently with requests (and with
// another run: each deletion is idempotent). RetentionJob's methods are for one owner
// thread; its own thread only calls purge_expired_tasks.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "cloud/org_service.h"
#include "store/database.h"

namespace joey::cloud {

struct OrgRetention {
  std::string org_id;
  int64_t retention_days = 0;
  int64_t tasks_deleted = 0;
};

struct RetentionReport {
  int64_t organizations_checked = 0;
  // Organizations with a retention period, whether or not anything was old enough.
  std::vector<OrgRetention> purged;
  int64_t tasks_deleted = 0;
  // Organizations whose purge failed (their ids; the errors are logged).
  std::vector<std::string> failed;
};

// Deletes every organization's tasks last updated before now_ms - retention_days. On
// SQLite, flushes deleted bytes out of the WAL when anything was deleted
// (store::Database::flush_deleted). An error only when organizations cannot be listed.
Result<RetentionReport> purge_expired_tasks(store::Database& database, OrgService& orgs,
                                            int64_t now_ms);

struct RetentionJobOptions {
  std::chrono::milliseconds interval = std::chrono::hours(24);
  // Unix milliseconds now; empty means the system clock.
  std::function<int64_t()> clock_ms;
};

// Runs purge_expired_tasks on a background thread: once at start(), then every
// interval until stop() (or destruction), logging "retention_purged" with counts.
class RetentionJob {
 public:
  // `database` and `orgs` must outlive the job.
  RetentionJob(store::Database& database, OrgService& orgs, RetentionJobOptions options = {});
  ~RetentionJob();  // stops
  RetentionJob(const RetentionJob&) = delete;
  RetentionJob& operator=(const RetentionJob&) = delete;

  // Starts the thread (no-op when running).
  void start();
  // Wakes the thread, waits for a run in progress to finish, and joins it.
  void stop();

 private:
  void run();

  store::Database& database_;
  OrgService& orgs_;
  RetentionJobOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  std::thread thread_;
};

}  // namespace joey::cloud
