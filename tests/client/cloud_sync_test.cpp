// Uploading task history (issue 7 §2) against a scripted Cloud: the gate (on, off,
// unknown, signed out, another user's cache), batching, redaction before anything
// leaves (P2), the outbox surviving a restart and a killed run, retries, 401/403/4xx,
// the bounds, and usage deltas.
#include "client/cloud_sync.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "base/atomic_file.h"
#include "base/json.h"
#include "base/redact.h"
#include "client/scripted_cloud_transport.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::agent_settings_body;
using testing::CloudAnswer;
using testing::ScriptedCloud;
using testing::ScriptedCloudTransport;

constexpr const char* kServer = "http://127.0.0.1:8420";
constexpr const char* kToken = "joey_pat_0123456789abcdefghijklmnopqrstuvwxyzABCD";
constexpr const char* kTask = "20261125T154419-1a2b3c4d";
constexpr std::chrono::seconds kPatience{20};
// Larger than any pid_max: no such process.
constexpr pid_t kDeadPid = (1 << 22) + 7;

llm::Message user_text(const std::string& text) {
  llm::Message message;
  message.text = text;
  return message;
}

class CloudSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "joey-cloud-sync-XXXXXX").string();
    home_ = mkdtemp(pattern.data());
    err_ = std::tmpfile();
    options_.make_transport = [this](const Cancellation*) {
      return std::make_unique<ScriptedCloudTransport>(&cloud_);
    };
    options_.now_ms = [] { return int64_t{1'800'000'000'000}; };
    options_.batch_age = std::chrono::hours(1);  // batches close by count or at task end
    options_.retry_base = std::chrono::milliseconds(1);
    options_.retry_cap = std::chrono::milliseconds(4);
    options_.exit_budget = std::chrono::seconds(10);
    options_.err = err_;
    serve(true);
  }
  void TearDown() override {
    std::fclose(err_);
    std::error_code ignored;
    fs::remove_all(home_, ignored);
  }

  // The settings answer the gate; POSTs answer from `posts` in order, then 200.
  void serve(bool enabled, bool settings_down = false) {
    cloud_.handler = [this, enabled, settings_down](const llm::HttpRequest& request) {
      if (request.url.ends_with("/api/agent/settings")) {
        CloudAnswer answer{200, agent_settings_body(enabled), {{"etag", "\"e\""}}};
        answer.network_error = settings_down;
        return answer;
      }
      std::lock_guard lock(posts_mutex_);
      if (!posts_.empty()) {
        CloudAnswer next = posts_.front();
        posts_.erase(posts_.begin());
        return next;
      }
      return CloudAnswer{200, R"({"accepted":1,"duplicate":false})", {}};
    };
  }
  void then_answer(std::vector<CloudAnswer> answers) {
    std::lock_guard lock(posts_mutex_);
    posts_ = std::move(answers);
  }

  std::unique_ptr<CloudSync> open(bool signed_in = true) {
    std::optional<CloudCredentials> credentials;
    if (signed_in) credentials = CloudCredentials{kServer, kToken, "login"};
    return CloudSync::open(home_, credentials, options_);
  }

  // A small task: the request, a tool call, its result, the answer.
  static void run_task(CloudSync& sync, const std::string& task_id = kTask,
                       const std::string& tool_output = "3 files") {
    sync.task_started({task_id, "/work", "code", "openai", "gpt-4o", "Fix the bug\nin main.cpp"});
    sync.message_added(task_id, user_text("Fix the bug\nin main.cpp"));
    llm::Message call;
    call.role = llm::Role::kAssistant;
    call.text = "Looking.";
    call.tool_calls.push_back({"c1", "list_files", R"({"path":"."})"});
    sync.message_added(task_id, call);
    llm::Message result;
    result.tool_results.push_back({"c1", "list_files", tool_output, false});
    sync.message_added(task_id, result);
    sync.task_finished(task_id, agent::TaskStatus::kCompleted, "done");
  }

  std::vector<json> posted(const std::string& kind) {
    std::vector<json> bodies;
    for (const llm::HttpRequest& request : cloud_.requests_to("/" + kind, "POST")) {
      bodies.push_back(parse_json(request.body));
    }
    return bodies;
  }

  fs::path outbox_dir() const { return home_ / "cloud" / "outbox"; }
  size_t outbox_files() const {
    size_t count = 0;
    std::error_code error;
    for (fs::directory_iterator it(outbox_dir(), error), end; !error && it != end;
         it.increment(error)) {
      ++count;
    }
    return count;
  }
  std::string err_text() {
    std::fflush(err_);
    std::rewind(err_);
    std::string text;
    char buffer[512];
    while (size_t read = std::fread(buffer, 1, sizeof buffer, err_)) text.append(buffer, read);
    return text;
  }

  fs::path home_;
  ScriptedCloud cloud_;
  CloudSyncOptions options_;
  std::FILE* err_ = nullptr;
  std::mutex posts_mutex_;
  std::vector<CloudAnswer> posts_;
};

TEST_F(CloudSyncTest, GateOnUploadsTheTaskInOneBatchWithItsMetadata) {
  auto sync = open();
  run_task(*sync);
  ASSERT_TRUE(sync->wait_until_idle(kPatience));
  sync->shutdown();
  const std::vector<json> batches = posted("messages");
  ASSERT_EQ(batches.size(), 1u);
  const json& batch = batches[0];
  EXPECT_EQ(cloud_.requests_to("/messages")[0].url,
            std::string(kServer) + "/api/tasks/" + kTask + "/messages");
  EXPECT_EQ(cloud_.requests_to("/messages")[0].purpose, "cloud");
  EXPECT_EQ(batch["mode"], "code");
  EXPECT_EQ(batch["model"], "gpt-4o");
  EXPECT_EQ(batch["title"], "Fix the bug");
  EXPECT_TRUE(batch["batch_id"].get<std::string>().starts_with(std::string(kTask) + "-b1-"));
  std::vector<std::string> roles;
  for (const json& message : batch["messages"]) roles.push_back(message["role"]);
  EXPECT_EQ(roles, (std::vector<std::string>{"user", "assistant", "tool_call", "tool_result"}));
  EXPECT_EQ(batch["messages"][2]["content"], R"(list_files {"path":"."})");
  EXPECT_EQ(batch["messages"][3]["content"], "list_files\n3 files");
  EXPECT_EQ(batch["messages"][0]["ts"], 1'800'000'000'000);
  EXPECT_EQ(outbox_files(), 0u);
}

TEST_F(CloudSyncTest, GateOffUploadsNothing) {
  serve(false);
  auto sync = open();
  ASSERT_TRUE(sync->wait_until_idle(kPatience));
  EXPECT_EQ(sync->collection(), Collection::kOff);
  run_task(*sync);
  sync->shutdown();
  EXPECT_TRUE(posted("messages").empty());
  EXPECT_EQ(outbox_files(), 0u);
}

TEST_F(CloudSyncTest, UnknownGateUploadsNothing) {
  serve(true, /*settings_down=*/true);
  auto sync = open();
  run_task(*sync);  // before or after the fetch: either way nothing may leave
  ASSERT_TRUE(sync->wait_until_idle(kPatience));
  EXPECT_EQ(sync->collection(), Collection::kUnknown);
  sync->shutdown();
  EXPECT_TRUE(posted("messages").empty());
  EXPECT_EQ(outbox_files(), 0u);
}

TEST_F(CloudSyncTest, SignedOutMakesNoRequestAtAll) {
  auto sync = open(/*signed_in=*/false);
  run_task(*sync);
  sync->usage_updated(kTask, agent::UsageTotals{{10, 5, 0, 0}, 0.01}, 1);
  sync->shutdown();
  EXPECT_TRUE(cloud_.requests().empty());
  EXPECT_FALSE(fs::exists(outbox_dir()));
}

TEST_F(CloudSyncTest, AnotherUsersCacheDoesNotOpenTheGate) {
  CachedAgentSettings cache;
  cache.server = kServer;
  cache.user_id = "someone-else";
  cache.token_fingerprint = token_fingerprint("joey_pat_of_someone_else_0123456789");
  cache.validated_at_ms = options_.now_ms();
  cache.collection_enabled = true;
  cache.settings = parse_json(agent_settings_body(true, "someone-else"));
  ASSERT_TRUE(write_file_atomically(agent_settings_cache_path(home_),
                                    serialize_settings_cache(cache), true, 0600)
                  .ok());
  serve(true, /*settings_down=*/true);
  auto sync = open();
  run_task(*sync);
  ASSERT_TRUE(sync->wait_until_idle(kPatience));
  sync->shutdown();
  EXPECT_EQ(sync->collection(), Collection::kUnknown);
  EXPECT_TRUE(posted("messages").empty());
}

TEST_F(CloudSyncTest, StaleCacheDoesNotOpenTheGate) {
  CachedAgentSettings cache;
  cache.server = kServer;
  cache.user_id = "u1";
  cache.token_fingerprint = token_fingerprint(kToken);
  cache.validated_at_ms = options_.now_ms() - 25LL * 3600 * 1000;
  cache.collection_enabled = true;
  cache.settings = parse_json(agent_settings_body(true));
  ASSERT_TRUE(write_file_atomically(agent_settings_cache_path(home_),
                                    serialize_settings_cache(cache), true, 0600)
                  .ok());
  serve(true, /*settings_down=*/true);
  auto sync = open();
  run_task(*sync);
  ASSERT_TRUE(sync->wait_until_idle(kPatience));
  sync->shutdown();
  EXPECT_TRUE(posted("messages").empty());
  EXPECT_EQ(outbox_files(), 0u);
}

TEST_F(CloudSyncTest, BatchesCloseAtFiftyMessagesAndOnlyTheFirstCarriesMetadata) {
  auto sync = open();
  sync->task_started({kTask, "/work", "code", "openai", "gpt-4o", "count"});
  for (int index = 0; index < 120; ++index) {
    sync->message_added(kTask, user_text("message " + std::to_string(index)));
  }
  sync->task_finished(kTask, agent::TaskStatus::kCompleted, "");
  ASSERT_TRUE(sync->wait_until_idle(kPatience));
  sync->shutdown();
  const std::vector<json> batches = posted("messages");
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0]["messages"].size(), 50u);
  EXPECT_EQ(batches[1]["messages"].size(), 50u);
  EXPECT_EQ(batches[2]["messages"].size(), 20u);
  EXPECT_TRUE(batches[0].contains("title"));
  EXPECT_FALSE(batches[1].contains("title"));
  EXPECT_FALSE(batches[2].contains("mode"));
  EXPECT_EQ(batches[2]["messages"][19]["content"], "message 119");  // in order
}

TEST_F(CloudSyncTest, KeysInToolResultsNeverReachTheTransport) {
  const std::string key = "sk-proj-AbCdEf0123456789GhIjKlMnOp";
  const std::string registered = "my-own-registered-secret-42";
  register_secret(registered);
  auto sync = open();
  run_task(*sync, kTask, "OPENAI_API_KEY=" + key + "\nTOKEN=" + registered);
  ASSERT_TRUE(sync->wait_until_idle(kPatience));
  sync->shutdown();
  ASSERT_EQ(posted("messages").size(), 1u);
  for (const llm::HttpRequest& request : cloud_.requests()) {
    EXPECT_EQ(request.body.find(key), std::string::npos);
    EXPECT_EQ(request.body.find(registered), std::string::npos);
  }
  EXPECT_NE(cloud_.requests_to("/messages")[0].body.find("[REDACTED]"), std::string::npos);
  clear_registered_secrets_for_testing();
}

TEST_F(CloudSyncTest, LongContentIsCutWithAVisibleMarker) {
  auto sync = open();
  run_task(*sync, kTask, std::string(200'000, 'x'));
  ASSERT_TRUE(sync->wait_until_idle(kPatience));
  sync->shutdown();
  const std::string content = posted("messages")[0]["messages"][3]["content"];
  EXPECT_LE(content.size(), kMaxWireContentBytes);
  EXPECT_NE(content.find("cut by joey"), std::string::npos);
}

TEST_F(CloudSyncTest, OutboxSurvivesARestartAndIsSentOnce) {
  then_answer(std::vector<CloudAnswer>(1000, CloudAnswer{503, "", {}}));
  options_.exit_budget = std::chrono::milliseconds(200);
  {
    auto sync = open();
    run_task(*sync);
    sync->shutdown();
  }
  const size_t failed_attempts = posted("messages").size();
  ASSERT_GE(failed_attempts, 1u);
  EXPECT_EQ(outbox_files(), 1u);
  const std::string batch_id = posted("messages")[0]["batch_id"];

  then_answer({});
  options_.exit_budget = std::chrono::seconds(10);
  auto restarted = open();
  ASSERT_TRUE(restarted->wait_until_idle(kPatience));
  restarted->shutdown();
  const std::vector<json> all = posted("messages");
  ASSERT_EQ(all.size(), failed_attempts + 1);
  EXPECT_EQ(all.back()["batch_id"], batch_id);
  EXPECT_EQ(outbox_files(), 0u);
}

TEST_F(CloudSyncTest, ClaimOfAKilledRunIsTakenOver) {
  OutboxEntry entry{
      kServer,
      "u1",
      kTask,
      "messages",
      "left-b1",
      json{{"batch_id", "left-b1"},
           {"messages", json::array({{{"ts", 1}, {"role", "user"}, {"content", "hi"}}})}}};
  ASSERT_TRUE(write_file_atomically(
                  outbox_dir() / ("0000000000001-1-000001.claimed-" + std::to_string(kDeadPid)),
                  serialize_outbox_entry(entry), true, 0600)
                  .ok());
  auto sync = open();
  ASSERT_TRUE(sync->wait_until_idle(kPatience));
  sync->shutdown();
  const std::vector<json> batches = posted("messages");
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0]["batch_id"], "left-b1");
  EXPECT_EQ(outbox_files(), 0u);
}

TEST_F(CloudSyncTest, FilesForAnotherServerOrUserAreKeptAndNotSent) {
  OutboxEntry other_server{"https://elsewhere.example",
                           "u1",
                           kTask,
                           "messages",
                           "x-b1",
                           json{{"batch_id", "x-b1"}, {"messages", json::array()}}};
  OutboxEntry other_user{kServer, "u2",
                         kTask,   "messages",
                         "y-b1",  json{{"batch_id", "y-b1"}, {"messages", json::array()}}};
  ASSERT_TRUE(write_file_atomically(outbox_dir() / "0000000000001-1-000001.json",
                                    serialize_outbox_entry(other_server), true, 0600)
                  .ok());
  ASSERT_TRUE(write_file_atomically(outbox_dir() / "0000000000001-1-000002.json",
                                    serialize_outbox_entry(other_user), true, 0600)
                  .ok());
  auto sync = open();
  ASSERT_TRUE(sync->wait_until_idle(kPatience));
  sync->shutdown();
  EXPECT_TRUE(posted("messages").empty());
  EXPECT_EQ(outbox_files(), 2u);
}

TEST_F(CloudSyncTest, RetriesOn429And503ThenSucceedsWithTheSameBatch) {
  then_answer(
      {CloudAnswer{
           429, R"({"error":{"code":"rate_limited","message":"slow"}})", {{"retry-after", "0"}}},
       CloudAnswer{503, "", {}}});
  auto sync = open();
  run_task(*sync);
  ASSERT_TRUE(sync->wait_until_idle(kPatience));
  sync->shutdown();
  const std::vector<json> attempts = posted("messages");
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(attempts[0]["batch_id"], attempts[2]["batch_id"]);
  EXPECT_EQ(attempts[1], attempts[2]);
  EXPECT_EQ(outbox_files(), 0u);
}

TEST_F(CloudSyncTest, CollectionDisabledDropsTheFileAndStopsUploading) {
  then_answer(
      {CloudAnswer{403, R"({"error":{"code":"collection_disabled","message":"off"}})", {}}});
  auto sync = open();
  run_task(*sync);
  ASSERT_TRUE(sync->wait_until_idle(kPatience));
  EXPECT_EQ(sync->collection(), Collection::kOff);
  run_task(*sync, "20261125T154420-00000002");
  sync->shutdown();
  EXPECT_EQ(posted("messages").size(), 1u);
  EXPECT_EQ(outbox_files(), 0u);
}

TEST_F(CloudSyncTest, UnauthorizedStopsAndKeepsTheFilesForTheNextRun) {
  then_answer({CloudAnswer{401, R"({"error":{"code":"unauthorized","message":"no"}})", {}}});
  auto sync = open();
  run_task(*sync);
  ASSERT_TRUE(sync->wait_until_idle(kPatience));
  sync->shutdown();
  EXPECT_EQ(posted("messages").size(), 1u);
  EXPECT_EQ(outbox_files(), 1u);
  EXPECT_TRUE(fs::exists(outbox_dir()));
  for (const auto& file : fs::directory_iterator(outbox_dir())) {
    EXPECT_TRUE(file.path().string().ends_with(".json")) << file.path();  // given back
  }
}

TEST_F(CloudSyncTest, OtherClientErrorsDropTheFileAndGoOn) {
  then_answer({CloudAnswer{409, R"({"error":{"code":"task_id_taken","message":"taken"}})", {}}});
  auto sync = open();
  run_task(*sync);
  run_task(*sync, "20261125T154420-00000002");
  ASSERT_TRUE(sync->wait_until_idle(kPatience));
  sync->shutdown();
  EXPECT_EQ(posted("messages").size(), 2u);
  EXPECT_EQ(outbox_files(), 0u);
}

TEST_F(CloudSyncTest, OutboxIsBoundedAndDropsTheOldestWithOneWarning) {
  options_.max_files = 3;
  options_.batch_messages = 1;
  options_.exit_budget = std::chrono::milliseconds(100);
  then_answer(std::vector<CloudAnswer>(100000, CloudAnswer{503, "", {}}));
  auto sync = open();
  ASSERT_TRUE(sync->wait_until_idle(kPatience));
  sync->task_started({kTask, "/work", "code", "openai", "gpt-4o", "many"});
  for (int index = 0; index < 8; ++index) sync->message_added(kTask, user_text("m"));
  sync->shutdown();
  EXPECT_LE(outbox_files(), 3u);
  const std::string warnings = err_text();
  EXPECT_NE(warnings.find("upload queue is full"), std::string::npos);
  EXPECT_EQ(warnings.find("upload queue is full"), warnings.rfind("upload queue is full"));
}

TEST_F(CloudSyncTest, UsageDeltasArePostedPerModelRequest) {
  auto sync = open();
  sync->task_started({kTask, "/work", "code", "openai", "gpt-4o", "t"});
  sync->usage_updated(kTask, agent::UsageTotals{{100, 20, 5, 0}, 0.25}, 1);
  sync->usage_updated(kTask, agent::UsageTotals{{150, 50, 5, 1}, 0.5}, 2);
  sync->task_finished(kTask, agent::TaskStatus::kCompleted, "");
  ASSERT_TRUE(sync->wait_until_idle(kPatience));
  sync->shutdown();
  const std::vector<json> usage = posted("usage");
  ASSERT_EQ(usage.size(), 2u);
  EXPECT_TRUE(usage[0]["request_id"].get<std::string>().starts_with(std::string(kTask) + "-r1-"));
  EXPECT_TRUE(usage[1]["request_id"].get<std::string>().starts_with(std::string(kTask) + "-r2-"));
  EXPECT_EQ(usage[0]["input_tokens"], 100);
  EXPECT_EQ(usage[1]["input_tokens"], 50);
  EXPECT_EQ(usage[1]["output_tokens"], 30);
  EXPECT_EQ(usage[1]["cache_write_tokens"], 1);
  EXPECT_DOUBLE_EQ(usage[1]["cost_usd"].get<double>(), 0.25);
  EXPECT_EQ(usage[1]["model"], "gpt-4o");
}

TEST_F(CloudSyncTest, TasksThroughTheCloudProxyUploadMessagesButNotUsage) {
  // The proxy records every request it forwards; the agent's report would count it twice.
  auto sync = open();
  sync->task_started({kTask, "/work", "code", "cloud", "claude-sonnet-4-5", "t"});
  sync->message_added(kTask, user_text("Fix the bug"));
  sync->usage_updated(kTask, agent::UsageTotals{{100, 20, 5, 0}, 0.25}, 1);
  sync->task_finished(kTask, agent::TaskStatus::kCompleted, "");
  ASSERT_TRUE(sync->wait_until_idle(kPatience));
  sync->shutdown();
  EXPECT_EQ(posted("messages").size(), 1u);
  EXPECT_TRUE(posted("usage").empty());
}

TEST_F(CloudSyncTest, GateOffDeletesThisUsersWaitingFiles) {
  OutboxEntry entry{kServer,  "u1",
                    kTask,    "messages",
                    "old-b1", json{{"batch_id", "old-b1"}, {"messages", json::array()}}};
  ASSERT_TRUE(write_file_atomically(outbox_dir() / "0000000000001-1-000001.json",
                                    serialize_outbox_entry(entry), true, 0600)
                  .ok());
  serve(false);
  auto sync = open();
  ASSERT_TRUE(sync->wait_until_idle(kPatience));
  sync->shutdown();
  EXPECT_EQ(outbox_files(), 0u);
  EXPECT_TRUE(posted("messages").empty());
}

TEST(CloudWire, BadOutboxFilesAreRefused) {
  for (
      const std::string& text :
      {std::string(""), std::string("{}"), std::string("[]"), std::string(50000, '{'),
       std::string(
           R"({"server":"s","user_id":"u","task_id":"../x","kind":"messages","id":"b","body":{}})"),
       std::string(
           R"({"server":"s","user_id":"u","task_id":"t","kind":"delete","id":"b","body":{}})"),
       std::string(
           R"({"server":"s","user_id":"u","task_id":"t","kind":"usage","id":"b","body":[]})"),
       std::string(
           R"({"server":"","user_id":"u","task_id":"t","kind":"usage","id":"b","body":{}})")}) {
    EXPECT_FALSE(parse_outbox_entry(text).ok()) << text.substr(0, 80);
  }
  Result<OutboxEntry> good = parse_outbox_entry(
      R"({"server":"s","user_id":"u","task_id":"t","kind":"usage","id":"b","body":{}})");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->path(), "/api/tasks/t/usage");
}

TEST(CloudWire, TitleIsTheFirstLineRedactedAndCut) {
  EXPECT_EQ(task_title("  Fix it\nplease"), "Fix it");
  EXPECT_EQ(task_title("use sk-proj-AbCdEf0123456789GhIjKlMnOp now"), "use [REDACTED] now");
  EXPECT_LE(task_title(std::string(500, 'a')).size(), kMaxTitleBytes);
  EXPECT_EQ(cut_content("short"), "short");
  const std::string cut = cut_content(std::string(100, 'a') + "é", 100);
  EXPECT_LE(cut.size(), 100u);
  EXPECT_NE(cut.find("102 bytes in all"), std::string::npos);
}

}  // namespace
}  // namespace joey::client
