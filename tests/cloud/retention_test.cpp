// The retention job on SQLite and PostgreSQL: an organization with retention_days loses
// the tasks it has not touched for that long (with their messages and search terms) and
// keeps the newer ones; an organization without it and personal tasks are untouched;
// each deletion is in the audit log (tasks.expired by joeyd, and tasks.purged for an
// admin's DELETE /api/orgs/{id}/tasks); the job's thread runs at start and stops.
#include "cloud/retention.h"

#include <gtest/gtest.h>

#include "cloud/cloud_routes_fixture.h"

namespace joey::cloud {
namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kStart = 1'800'000'000'000;

using testing::kPassword;
using testing::Person;
using testing::Reply;

class RetentionTest : public testing::CloudRoutesTest {
 protected:
  void set_retention(const Person& admin, const std::string& org, const nlohmann::json& days) {
    Reply current = call(admin, "GET", "/api/orgs/" + org + "/settings");
    ASSERT_EQ(current.status, 200);
    Reply patched =
        call(admin, "PATCH", "/api/orgs/" + org + "/settings",
             {{"version", current.body["version"]}, {"cloud", {{"retention_days", days}}}});
    ASSERT_EQ(patched.status, 200) << patched.body.dump();
  }

  // A task with two messages whose text holds `word`, last updated now.
  void upload_words(const Person& who, const std::string& task, const std::string& word) {
    nlohmann::json body = {{"batch_id", "b-" + task},
                           {"messages",
                            {{{"ts", 1}, {"role", "user"}, {"content", "please fix " + word}},
                             {{"ts", 2}, {"role", "assistant"}, {"content", "fixed " + word}}}}};
    Reply reply = call(who, "POST", "/api/tasks/" + task + "/messages", body);
    ASSERT_EQ(reply.status, 200) << reply.body.dump();
  }

  bool task_exists(const Person& who, const std::string& task) {
    const int status = call(who, "GET", "/api/tasks/" + task).status;
    EXPECT_TRUE(status == 200 || status == 404) << status;
    return status == 200;
  }

  size_t search_hits(const Person& who, const std::string& word) {
    Reply reply = call(who, "GET", "/api/tasks?q=" + word);
    EXPECT_EQ(reply.status, 200);
    return reply.body.is_object() ? reply.body["tasks"].size() : 0;
  }

  int64_t org_rows(const std::string& table, const std::string& org) {
    Result<store::Transaction> tx = store_->begin(store::Scope::for_org(org), store::Access::kRead);
    EXPECT_TRUE(tx.ok());
    auto rows = tx->query("SELECT COUNT(*) AS n FROM " + table + " WHERE org_id = :org");
    EXPECT_TRUE(rows.ok()) << rows.error().message;
    return rows.ok() ? (*rows)[0].integer("n").value_or(-1) : -1;
  }

  std::vector<nlohmann::json> audit(const Person& admin, const std::string& org,
                                    const std::string& action) {
    Reply reply = call(admin, "GET", "/api/orgs/" + org + "/audit");
    EXPECT_EQ(reply.status, 200) << reply.body.dump();
    std::vector<nlohmann::json> found;
    if (!reply.body.is_object()) return found;
    for (const auto& entry : reply.body["entries"]) {
      if (entry["action"] == action) found.push_back(entry);
    }
    return found;
  }
};

TEST_P(RetentionTest, OldTasksOfAnOrganizationWithRetentionGoAndTheRestStay) {
  const Person ada = sign_up("ada@example.com");
  const Person carl = sign_up("carl@example.com");
  const Person dan = sign_up("dan@example.com");
  upload_words(ada, "ada-personal", "zebra");  // before ada has an organization
  const std::string expiring = create_org(ada, "Expiring");
  const std::string keeping = create_org(carl, "Keeping");
  upload_words(ada, "ada-old", "walrus");
  upload_words(carl, "carl-old", "walrus");
  upload_words(dan, "dan-personal", "walrus");

  now_ms_ += 40 * kDayMs;
  upload_words(ada, "ada-new", "walrus");
  set_retention(ada, expiring, 30);
  set_retention(carl, keeping, nullptr);
  ASSERT_EQ(org_rows("task_messages", expiring), 4);

  Result<RetentionReport> report = purge_expired_tasks(*store_, *orgs_, now_ms_.load());
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->organizations_checked, 2);
  EXPECT_EQ(report->tasks_deleted, 1);
  EXPECT_TRUE(report->failed.empty());
  ASSERT_EQ(report->purged.size(), 1u);
  EXPECT_EQ(report->purged[0].org_id, expiring);
  EXPECT_EQ(report->purged[0].retention_days, 30);
  EXPECT_EQ(report->purged[0].tasks_deleted, 1);

  EXPECT_FALSE(task_exists(ada, "ada-old"));
  EXPECT_TRUE(task_exists(ada, "ada-new"));
  EXPECT_TRUE(task_exists(ada, "ada-personal"));
  EXPECT_TRUE(task_exists(carl, "carl-old"));
  EXPECT_TRUE(task_exists(dan, "dan-personal"));
  EXPECT_EQ(org_rows("tasks", expiring), 1);
  EXPECT_EQ(org_rows("task_messages", expiring), 2);
  EXPECT_EQ(org_rows("task_search", expiring), 2);
  EXPECT_EQ(org_rows("task_batches", expiring), 1);
  EXPECT_EQ(search_hits(ada, "walrus"), 1u);  // ada-new only
  EXPECT_EQ(search_hits(carl, "walrus"), 1u);
  EXPECT_EQ(search_hits(ada, "zebra"), 1u);

  const std::vector<nlohmann::json> expired = audit(ada, expiring, "tasks.expired");
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0]["actor_user_id"], "joeyd");
  EXPECT_EQ(expired[0]["target"], "1");
  EXPECT_TRUE(audit(carl, keeping, "tasks.expired").empty());

  // Nothing more is old enough: a second run deletes nothing and logs nothing.
  Result<RetentionReport> again = purge_expired_tasks(*store_, *orgs_, now_ms_.load());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->tasks_deleted, 0);
  EXPECT_EQ(audit(ada, expiring, "tasks.expired").size(), 1u);
}

TEST_P(RetentionTest, ATaskUpdatedWithinThePeriodStays) {
  const Person ada = sign_up("ada@example.com");
  const std::string org = create_org(ada, "Engines");
  upload_words(ada, "touched", "walrus");
  now_ms_ += 20 * kDayMs;
  // A later batch moves updated_at forward.
  Reply more = call(
      ada, "POST", "/api/tasks/touched/messages",
      {{"batch_id", "b2"}, {"messages", {{{"ts", 3}, {"role", "user"}, {"content", "again"}}}}});
  ASSERT_EQ(more.status, 200);
  set_retention(ada, org, 30);
  now_ms_ += 15 * kDayMs;  // 35 days after creation, 15 after the last update
  Result<RetentionReport> report = purge_expired_tasks(*store_, *orgs_, now_ms_.load());
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->tasks_deleted, 0);
  EXPECT_TRUE(task_exists(ada, "touched"));
  now_ms_ += 16 * kDayMs;
  report = purge_expired_tasks(*store_, *orgs_, now_ms_.load());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->tasks_deleted, 1);
  EXPECT_FALSE(task_exists(ada, "touched"));
}

TEST_P(RetentionTest, PurgingAnOrganizationsTasksIsAudited) {
  const Person ada = sign_up("ada@example.com");
  const std::string org = create_org(ada, "Engines");
  upload_words(ada, "one", "walrus");
  upload_words(ada, "two", "walrus");
  Reply purged = call(ada, "DELETE", "/api/orgs/" + org + "/tasks");
  ASSERT_EQ(purged.status, 200) << purged.body.dump();
  EXPECT_EQ(purged.body["deleted"], 2);
  const std::vector<nlohmann::json> entries = audit(ada, org, "tasks.purged");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0]["actor_user_id"], ada.id);
  EXPECT_EQ(entries[0]["target"], "2");
}

TEST_P(RetentionTest, TheJobRunsAtStartAndStops) {
  const Person ada = sign_up("ada@example.com");
  const std::string org = create_org(ada, "Engines");
  upload_words(ada, "old", "walrus");
  set_retention(ada, org, 1);
  RetentionJobOptions options;
  options.clock_ms = [] { return kStart + 2 * kDayMs; };
  {
    RetentionJob job(*store_, *orgs_, options);
    job.start();
    // Waits for the first run (at most 10 s), then stops.
    for (int i = 0; i < 1000 && org_rows("tasks", org) != 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    job.stop();
  }
  EXPECT_EQ(org_rows("tasks", org), 0);
  EXPECT_EQ(audit(ada, org, "tasks.expired").size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, RetentionTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace joey::cloud
