// The task history routes through the router's boundary (no sockets), on SQLite and
// PostgreSQL: every combination of the collection gate, idempotent uploads, search over
// the blind index (words, prefixes, ranking, snippets), who sees which task, deletion
// and purging, usage records, bad input, and at rest: a canary found by search is in
// none of the database's bytes.
#include "cloud/task_routes.h"

#include <gtest/gtest.h>

#include "cloud/cloud_routes_fixture.h"

namespace joey::cloud {
namespace {

using testing::batch;
using testing::kPassword;
using testing::kTaskA;
using testing::kTaskB;
using testing::Person;
using testing::Reply;

class TaskRoutesTest : public testing::CloudRoutesTest {};

TEST_P(TaskRoutesTest, TheGateFollowsTheOrganizationElseTheUser) {
  const Person ada = sign_up("ada@example.com");
  // No organization, user setting unset: on by default.
  Reply settings = call(ada, "GET", "/api/agent/settings");
  ASSERT_EQ(settings.status, 200) << settings.body.dump();
  EXPECT_TRUE(settings.body["organization"].is_null());
  EXPECT_EQ(settings.body["user"]["id"], ada.id);
  EXPECT_EQ(settings.body["collection"]["enabled"], true);
  EXPECT_EQ(settings.body["collection"]["source"], "user");
  EXPECT_EQ(upload(ada, kTaskA, batch("b1", {"one"})).status, 200);

  // The user turns it off: refused, nothing stored.
  ASSERT_EQ(call(ada, "PATCH", "/api/me/settings", {{"task_sync_enabled", false}}).status, 200);
  EXPECT_EQ(call(ada, "GET", "/api/agent/settings").body["collection"]["enabled"], false);
  Reply refused = upload(ada, kTaskB, batch("b1", {"two"}));
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.body["error"]["code"], "collection_disabled");
  Reply usage = call(ada, "POST", std::string("/api/tasks/") + kTaskB + "/usage",
                     {{"request_id", "r1"},
                      {"ts", 1},
                      {"model", "gpt-4o"},
                      {"input_tokens", 10},
                      {"output_tokens", 5}});
  EXPECT_EQ(usage.status, 403);
  EXPECT_EQ(stored_rows("task_messages", ada), 1);
  EXPECT_EQ(stored_rows("task_usage", ada), 0);

  // In an organization the organization decides, whatever the user's own setting.
  const std::string org = create_org(ada, "Engines");
  settings = call(ada, "GET", "/api/agent/settings");
  EXPECT_EQ(settings.body["organization"]["id"], org);
  EXPECT_EQ(settings.body["collection"]["source"], "organization");
  EXPECT_EQ(settings.body["collection"]["enabled"], true);
  EXPECT_EQ(upload(ada, kTaskB, batch("b1", {"two"})).status, 200);
  set_cloud(ada, org, {{"record_task_messages", false}});
  ASSERT_EQ(call(ada, "PATCH", "/api/me/settings", {{"task_sync_enabled", true}}).status, 200);
  EXPECT_EQ(call(ada, "GET", "/api/agent/settings").body["collection"]["enabled"], false);
  refused = upload(ada, kTaskB, batch("b2", {"three"}));
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.body["error"]["code"], "collection_disabled");
  EXPECT_EQ(stored_rows("task_messages", ada), 2);

  // Signed out: 401, nothing stored.
  EXPECT_EQ(upload(Person{}, kTaskB, batch("b3", {"four"})).status, 401);
  EXPECT_EQ(stored_rows("task_messages", ada), 2);
}

TEST_P(TaskRoutesTest, SettingsCarryAnETagThatAnswers304) {
  const Person ada = sign_up("ada@example.com");
  Reply first = call(ada, "GET", "/api/agent/settings");
  const std::string etag = first.header("ETag");
  ASSERT_FALSE(etag.empty());
  Reply again = call(ada, "GET", "/api/agent/settings", nullptr, {{"if-none-match", etag}});
  EXPECT_EQ(again.status, 304);
  ASSERT_EQ(call(ada, "PATCH", "/api/me/settings", {{"task_sync_enabled", false}}).status, 200);
  Reply changed = call(ada, "GET", "/api/agent/settings", nullptr, {{"if-none-match", etag}});
  EXPECT_EQ(changed.status, 200);
  EXPECT_NE(changed.header("ETag"), etag);
  EXPECT_EQ(call(ada, "PATCH", "/api/me/settings", {{"task_sync_enabled", "no"}}).status, 400);
  EXPECT_EQ(call(ada, "PATCH", "/api/me/settings", {{"telemetry", true}}).status, 400);
}

TEST_P(TaskRoutesTest, UploadsAppendInOrderAndABatchCountsOnce) {
  const Person ada = sign_up("ada@example.com");
  Reply first = upload(ada, kTaskA, batch("b1", {"alpha", "beta"}));
  ASSERT_EQ(first.status, 200) << first.body.dump();
  EXPECT_EQ(first.body["accepted"], 2);
  EXPECT_EQ(first.body["duplicate"], false);
  Reply repeated = upload(ada, kTaskA, batch("b1", {"alpha", "beta"}));
  EXPECT_EQ(repeated.status, 200);
  EXPECT_EQ(repeated.body["duplicate"], true);
  EXPECT_EQ(upload(ada, kTaskA, batch("b2", {"gamma"})).status, 200);
  Reply transcript = call(ada, "GET", std::string("/api/tasks/") + kTaskA);
  ASSERT_EQ(transcript.status, 200) << transcript.body.dump();
  EXPECT_EQ(transcript.header("Cache-Control"), "no-store");
  ASSERT_EQ(transcript.body["messages"].size(), 3u);
  EXPECT_EQ(transcript.body["messages"][0]["content"], "alpha");
  EXPECT_EQ(transcript.body["messages"][2]["content"], "gamma");
  EXPECT_EQ(transcript.body["messages"][2]["seq"], 2);
  EXPECT_EQ(transcript.body["task"]["title"], "title b1");
  EXPECT_EQ(transcript.body["task"]["message_count"], 3);
  EXPECT_EQ(transcript.body["task"]["mode"], "code");
}

TEST_P(TaskRoutesTest, SearchMatchesWordsAndPrefixesBestFirstWithSnippets) {
  const Person ada = sign_up("ada@example.com");
  ASSERT_EQ(upload(ada, kTaskA,
                   batch("b1", {"The checkpoint restore lost zebrafish.txt",
                                "zebrafish zebrafish zebrafish everywhere"}))
                .status,
            200);
  ASSERT_EQ(upload(ada, kTaskB, batch("b1", {"a note about zebrafish once"}, "ask")).status, 200);
  EXPECT_EQ(task_ids(ada, "?q=zebrafish"), (std::vector<std::string>{kTaskA, kTaskB}));
  EXPECT_EQ(task_ids(ada, "?q=ZEBRA"), (std::vector<std::string>{kTaskA, kTaskB}));
  EXPECT_EQ(task_ids(ada, "?q=checkpoint+restore"), (std::vector<std::string>{kTaskA}));
  EXPECT_EQ(task_ids(ada, "?q=checkpoint%20note"), (std::vector<std::string>{}));
  EXPECT_EQ(task_ids(ada, "?q=zebrafish&mode=ask"), (std::vector<std::string>{kTaskB}));
  EXPECT_EQ(task_ids(ada, "?q=absent"), (std::vector<std::string>{}));
  Reply reply = call(ada, "GET", "/api/tasks?q=restore");
  ASSERT_EQ(reply.status, 200);
  EXPECT_NE(reply.body["tasks"][0]["snippet"].get<std::string>().find("restore"),
            std::string::npos);
  // Without a query, newest first, paged.
  EXPECT_EQ(task_ids(ada), (std::vector<std::string>{kTaskB, kTaskA}));
  Reply page = call(ada, "GET", "/api/tasks?limit=1");
  ASSERT_EQ(page.body["tasks"].size(), 1u);
  ASSERT_TRUE(page.body["next_cursor"].is_string());
  EXPECT_EQ(task_ids(ada, "?limit=1&cursor=" + page.body["next_cursor"].get<std::string>()),
            (std::vector<std::string>{kTaskA}));
  EXPECT_EQ(call(ada, "GET", "/api/tasks?cursor=xyz").status, 400);
  EXPECT_EQ(call(ada, "GET", "/api/tasks?colour=red").status, 400);
}

TEST_P(TaskRoutesTest, ACanaryFoundBySearchIsInNoStoredByte) {
  const Person ada = sign_up("ada@example.com");
  const std::string org = create_org(ada, "Engines");
  ASSERT_EQ(upload(ada, kTaskA, batch("b1", {"remember canaryphrase7c1e9 please"})).status, 200);
  const Person bob = sign_up("bob@example.com");  // no organization: a user-key task
  ASSERT_EQ(upload(bob, kTaskB, batch("b1", {"bob says canaryphrase7c1e9 too"})).status, 200);
  EXPECT_EQ(task_ids(ada, "?q=canaryphrase7c1e9"), (std::vector<std::string>{kTaskA}));
  EXPECT_EQ(task_ids(bob, "?q=canaryphrase7c1e9"), (std::vector<std::string>{kTaskB}));
  EXPECT_EQ(task_ids(bob, "?q=canaryph"), (std::vector<std::string>{kTaskB}));
  const std::string bytes = database_->stored_bytes();
  EXPECT_NE(bytes.find("Engines"), std::string::npos);  // the scan sees plain columns
  EXPECT_EQ(bytes.find("canaryphrase"), std::string::npos);
  EXPECT_EQ(bytes.find("remember"), std::string::npos);
  EXPECT_EQ(bytes.find("title b1"), std::string::npos);
}

TEST_P(TaskRoutesTest, MembersSeeTheirOwnTasksAdminsSeeTheOrganizations) {
  const Person ada = sign_up("ada@example.com");
  const Person bob = sign_up("bob@example.com");
  const Person eve = sign_up("eve@example.com");
  const std::string org = create_org(ada, "Engines");
  ASSERT_EQ(join(ada, org, bob, "bob@example.com", "member"), 200);
  ASSERT_EQ(upload(ada, kTaskA, batch("b1", {"ada's shared word"})).status, 200);
  ASSERT_EQ(upload(bob, kTaskB, batch("b1", {"bob's shared word"})).status, 200);

  EXPECT_EQ(task_ids(bob), (std::vector<std::string>{kTaskB}));
  EXPECT_EQ(task_ids(bob, "?q=shared"), (std::vector<std::string>{kTaskB}));
  EXPECT_EQ(call(bob, "GET", std::string("/api/tasks/") + kTaskA).status, 404);
  EXPECT_EQ(task_ids(ada), (std::vector<std::string>{kTaskB, kTaskA}));
  EXPECT_EQ(task_ids(ada, "?user=" + bob.id), (std::vector<std::string>{kTaskB}));
  EXPECT_EQ(call(ada, "GET", std::string("/api/tasks/") + kTaskB).status, 200);
  // allow_members_view_all opens the organization's tasks to members.
  set_cloud(ada, org, {{"allow_members_view_all", true}});
  EXPECT_EQ(task_ids(bob, "?q=shared").size(), 2u);
  EXPECT_EQ(call(bob, "GET", std::string("/api/tasks/") + kTaskA).status, 200);
  // ...but only admins delete others' tasks.
  EXPECT_EQ(call(bob, "DELETE", std::string("/api/tasks/") + kTaskA).status, 403);
  // Outsiders see nothing, and cannot take a task id that exists.
  EXPECT_TRUE(task_ids(eve).empty());
  EXPECT_EQ(call(eve, "GET", std::string("/api/tasks/") + kTaskA).status, 404);
  EXPECT_EQ(call(eve, "DELETE", std::string("/api/tasks/") + kTaskA).status, 404);
  Reply taken = upload(eve, kTaskA, batch("b9", {"mine now"}));
  EXPECT_EQ(taken.status, 409);
  EXPECT_EQ(taken.body["error"]["code"], "task_id_taken");
  EXPECT_EQ(call(ada, "GET", std::string("/api/tasks/") + kTaskA).body["messages"].size(), 1u);
}

TEST_P(TaskRoutesTest, DeletingATaskOrPurgingAnOrganizationRemovesEveryRow) {
  const Person ada = sign_up("ada@example.com");
  const Person bob = sign_up("bob@example.com");
  const std::string org = create_org(ada, "Engines");
  ASSERT_EQ(join(ada, org, bob, "bob@example.com", "member"), 200);
  ASSERT_EQ(upload(ada, kTaskA, batch("b1", {"first words"})).status, 200);
  ASSERT_EQ(upload(bob, kTaskB, batch("b1", {"second words"})).status, 200);

  std::string sealed;  // bob's message as stored, to look for after the deletion
  {
    Result<store::Transaction> tx = store_->begin(store::Scope::for_user(bob.id));
    ASSERT_TRUE(tx.ok());
    auto rows = tx->query("SELECT sealed FROM task_messages WHERE user_id = :user");
    ASSERT_TRUE(rows.ok() && rows->size() == 1u);
    sealed = (*rows)[0].blob("sealed").value_or("");
  }
  EXPECT_EQ(call(bob, "DELETE", std::string("/api/tasks/") + kTaskB).status, 204);
  EXPECT_EQ(call(bob, "GET", std::string("/api/tasks/") + kTaskB).status, 404);
  if (!database_->postgres()) {
    // secure_delete zeroed its pages and the WAL was checkpointed (docs/storage.md).
    EXPECT_EQ(database_->stored_bytes().find(sealed), std::string::npos);
  }
  EXPECT_TRUE(task_ids(ada, "?q=second").empty());
  EXPECT_EQ(stored_rows("task_messages", bob), 0);
  EXPECT_EQ(stored_rows("task_search", bob), 0);
  EXPECT_EQ(stored_rows("task_batches", bob), 0);
  // The id is free again once its task is gone.
  EXPECT_EQ(upload(bob, kTaskB, batch("b1", {"again"})).status, 200);

  EXPECT_EQ(call(bob, "DELETE", "/api/orgs/" + org + "/tasks").status, 403);
  Reply purged = call(ada, "DELETE", "/api/orgs/" + org + "/tasks");
  ASSERT_EQ(purged.status, 200) << purged.body.dump();
  EXPECT_EQ(purged.body["deleted"], 2);
  EXPECT_TRUE(task_ids(ada).empty());
  EXPECT_EQ(stored_rows("task_messages", ada) + stored_rows("task_messages", bob), 0);
  EXPECT_EQ(stored_rows("task_search", ada) + stored_rows("task_search", bob), 0);
  const Person eve = sign_up("eve@example.com");
  EXPECT_EQ(call(eve, "DELETE", "/api/orgs/" + org + "/tasks").status, 404);
}

TEST_P(TaskRoutesTest, UsageIsRecordedOncePerRequest) {
  const Person ada = sign_up("ada@example.com");
  const nlohmann::json usage = {{"request_id", "r1"},   {"ts", 1795000000000},
                                {"model", "gpt-4o"},    {"input_tokens", 1200},
                                {"output_tokens", 300}, {"cache_read_tokens", 800},
                                {"cost_usd", 0.0123}};
  const std::string path = std::string("/api/tasks/") + kTaskA + "/usage";
  Reply first = call(ada, "POST", path, usage);
  ASSERT_EQ(first.status, 200) << first.body.dump();
  EXPECT_EQ(first.body["duplicate"], false);
  EXPECT_EQ(call(ada, "POST", path, usage).body["duplicate"], true);
  EXPECT_EQ(stored_rows("task_usage", ada), 1);
  nlohmann::json negative = usage;
  negative["input_tokens"] = -1;
  EXPECT_EQ(call(ada, "POST", path, negative).status, 400);
}

TEST_P(TaskRoutesTest, BadUploadsAreRefusedWholeWithAReason) {
  const Person ada = sign_up("ada@example.com");
  EXPECT_EQ(upload(ada, "bad id with spaces", batch("b1", {"x"})).status, 400);
  EXPECT_EQ(upload(ada, "../etc", batch("b1", {"x"})).status, 404);  // not a route
  nlohmann::json unknown = batch("b1", {"x"});
  unknown["extra"] = 1;
  EXPECT_EQ(upload(ada, kTaskA, unknown).status, 400);
  nlohmann::json bad_role = batch("b1", {"x"});
  bad_role["messages"][0]["role"] = "wizard";
  EXPECT_EQ(upload(ada, kTaskA, bad_role).status, 400);
  nlohmann::json empty = batch("b1", {});
  EXPECT_EQ(upload(ada, kTaskA, empty).status, 400);
  nlohmann::json huge = batch("b1", {std::string(kMaxMessageContentBytes + 1, 'a')});
  Reply too_big = upload(ada, kTaskA, huge);
  EXPECT_EQ(too_big.status, 400);
  EXPECT_EQ(too_big.message().find("aaaa"), std::string::npos);
  EXPECT_TRUE(task_ids(ada).empty());
}

TEST_P(TaskRoutesTest, DeletingAnAccountDeletesItsTasksAndShredsItsKey) {
  const Person ada = sign_up("ada@example.com");
  const Person bob = sign_up("bob@example.com");
  const Person cat = sign_up("cat@example.com");
  const std::string org = create_org(ada, "Engines");
  ASSERT_EQ(join(ada, org, bob, "bob@example.com", "member"), 200);
  ASSERT_EQ(upload(ada, kTaskA, batch("b1", {"ada keeps this"})).status, 200);
  ASSERT_EQ(upload(bob, kTaskB, batch("b1", {"bob's words"})).status, 200);
  ASSERT_EQ(call(bob, "POST", std::string("/api/tasks/") + kTaskB + "/usage",
                 {{"request_id", "r1"},
                  {"ts", 1},
                  {"model", "m"},
                  {"input_tokens", 1},
                  {"output_tokens", 1}})
                .status,
            200);
  // Cat has no organization: her task is sealed under her own key. Keep a copy of the
  // sealed bytes, as a backup would.
  const std::string cat_task = "20261126T010205-0000000000000000000000000000cafe";
  ASSERT_EQ(upload(cat, cat_task, batch("b1", {"cat's secret shredded7d2"})).status, 200);
  std::string sealed_copy;
  {
    Result<store::Transaction> tx = store_->begin(store::Scope::for_user(cat.id));
    ASSERT_TRUE(tx.ok());
    auto rows = tx->query("SELECT sealed FROM task_messages WHERE user_id = :user");
    ASSERT_TRUE(rows.ok() && rows->size() == 1u);
    sealed_copy = (*rows)[0].blob("sealed").value_or("");
  }

  // The last owner of an organization with members cannot leave it ownerless.
  Reply refused = call(ada, "DELETE", "/api/me", {{"password", kPassword}});
  EXPECT_EQ(refused.status, 409);
  EXPECT_NE(refused.message().find("Engines"), std::string::npos) << refused.message();
  EXPECT_EQ(call(bob, "DELETE", "/api/me", {{"password", "not the password"}}).status, 403);
  EXPECT_EQ(call(bob, "DELETE", "/api/me", nlohmann::json::object()).status, 400);

  Reply deleted = call(bob, "DELETE", "/api/me", {{"password", kPassword}});
  ASSERT_EQ(deleted.status, 204) << deleted.body.dump();
  EXPECT_EQ(call(bob, "GET", "/api/tasks").status, 401);
  EXPECT_EQ(task_ids(ada), (std::vector<std::string>{kTaskA}));
  EXPECT_EQ(stored_rows("task_messages", bob) + stored_rows("task_usage", bob) +
                stored_rows("task_search", bob) + stored_rows("memberships", bob),
            0);

  ASSERT_EQ(call(cat, "DELETE", "/api/me", {{"password", kPassword}}).status, 204);
  EXPECT_EQ(stored_rows("data_keys", cat), 0);
  {
    // The backup copy no longer opens: its key is gone (crypto-shredding).
    Result<store::Transaction> tx = store_->begin(store::Scope::for_user(cat.id));
    ASSERT_TRUE(tx.ok());
    Result<std::string> opened = keys_->open(*tx, Tenant::user(cat.id), "task_messages", "sealed",
                                             cat_task + ":0", sealed_copy);
    EXPECT_FALSE(opened.ok());
  }
  if (!database_->postgres()) {
    // SQLite: secure_delete zeroed the pages and the WAL was checkpointed.
    EXPECT_EQ(database_->stored_bytes().find(sealed_copy), std::string::npos);
  }
}

TEST_P(TaskRoutesTest, AnOrganizationWhoseOnlyMemberLeavesIsDeletedWithItsKeys) {
  const Person ada = sign_up("ada@example.com");
  const std::string org = create_org(ada, "Solo");
  ASSERT_EQ(upload(ada, kTaskA, batch("b1", {"alone"})).status, 200);
  ASSERT_EQ(call(ada, "DELETE", "/api/me", {{"password", kPassword}}).status, 204);
  Result<store::Transaction> tx = store_->begin(store::Scope::for_org(org), store::Access::kRead);
  ASSERT_TRUE(tx.ok());
  for (const char* sql : {"SELECT COUNT(*) AS n FROM organizations WHERE id = :org",
                          "SELECT COUNT(*) AS n FROM data_keys WHERE org_id = :org",
                          "SELECT COUNT(*) AS n FROM tasks WHERE org_id = :org"}) {
    auto rows = tx->query(sql);
    ASSERT_TRUE(rows.ok()) << rows.error().message;
    EXPECT_EQ((*rows)[0].integer("n").value_or(-1), 0) << sql;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, TaskRoutesTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace joey::cloud
