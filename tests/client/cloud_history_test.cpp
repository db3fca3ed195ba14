// `joey history --cloud list|search|show` against a scripted Cloud: what is asked
// (GET /api/tasks with the query escaped, the token only in Authorization), what is
// printed, and the errors a user can act on (signed out, unknown task, server down).
// (tests/e2e/cloud_tasks.test.mjs runs the same commands against a real joeyd.)
#include <gtest/gtest.h>
#include <stdlib.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/history_command.h"
#include "client/scripted_cloud_transport.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;
using testing::CloudAnswer;
using testing::header_of;
using testing::ScriptedCloud;
using testing::ScriptedCloudTransport;

constexpr const char* kServer = "http://127.0.0.1:8420";
constexpr const char* kToken = "joey_pat_0123456789abcdefghijklmnopqrstuvwxyzABCD";

const std::string kTaskList =
    R"({"tasks":[{"id":"20261125T154419-1a2b3c4d","user_id":"u1","organization_id":null,)"
    R"("title":"Fix the parser","mode":"code","model":"gpt-4o","created_at":1800000000000,)"
    R"("updated_at":1800000060000,"message_count":4,"snippet":"the parser was wrong"}],"next_cursor":null})";

std::string read_all(std::FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string text;
  char buffer[512];
  while (size_t got = std::fread(buffer, 1, sizeof buffer, file)) text.append(buffer, got);
  return text;
}

struct CommandRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class CloudHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "joey-cloud-history-XXXXXX").string();
    home_ = mkdtemp(pattern.data());
    setenv("JOEY_CLOUD_URL", kServer, 1);
    setenv("JOEY_CLOUD_TOKEN", kToken, 1);
  }
  void TearDown() override {
    unsetenv("JOEY_CLOUD_URL");
    unsetenv("JOEY_CLOUD_TOKEN");
    std::error_code ignored;
    fs::remove_all(home_, ignored);
  }

  CommandRun run(std::vector<std::string> args) {
    std::FILE* out = std::tmpfile();
    std::FILE* err = std::tmpfile();
    CommandRun result;
    {
      CLI::App app("joey");
      HistoryCommandOptions options;
      options.out = out;
      options.err = err;
      options.database = home_ / "history.db";
      options.joey_home = home_;
      options.make_cloud_transport = [this] {
        return std::make_unique<ScriptedCloudTransport>(&cloud_);
      };
      register_history_command(app, result.exit_code, options);
      std::reverse(args.begin(), args.end());
      app.parse(args);
    }
    result.out = read_all(out);
    result.err = read_all(err);
    std::fclose(out);
    std::fclose(err);
    return result;
  }
  void answer(CloudAnswer next) {
    cloud_.handler = [next](const llm::HttpRequest&) { return next; };
  }

  fs::path home_;
  ScriptedCloud cloud_;
};

TEST_F(CloudHistoryTest, ListAsksTheCloudAndPrintsItsTasks) {
  answer(CloudAnswer{200, kTaskList, {}});
  CommandRun result = run({"history", "--cloud", "list", "--limit", "5"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const auto requests = cloud_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].url, std::string(kServer) + "/api/tasks?limit=5");
  EXPECT_EQ(requests[0].purpose, "cloud");
  EXPECT_EQ(header_of(requests[0], "Authorization"), std::string("Bearer ") + kToken);
  EXPECT_NE(result.out.find("20261125T154419-1a2b3c4d"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("Fix the parser"), std::string::npos);
  EXPECT_NE(result.out.find("2027-01-15 08:01"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find(kToken), std::string::npos);
}

TEST_F(CloudHistoryTest, ListJsonPrintsTheTasksArray) {
  answer(CloudAnswer{200, kTaskList, {}});
  CommandRun result = run({"history", "--cloud", "list", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json parsed = nlohmann::json::parse(result.out);
  ASSERT_TRUE(parsed.is_array());
  EXPECT_EQ(parsed[0]["id"], "20261125T154419-1a2b3c4d");
}

TEST_F(CloudHistoryTest, SearchEscapesTheQueryAndShowsSnippets) {
  answer(CloudAnswer{200, kTaskList, {}});
  CommandRun result = run({"history", "--cloud", "search", "parser", "a&b=c"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(cloud_.requests()[0].url,
            std::string(kServer) + "/api/tasks?q=parser%20a%26b%3Dc&limit=10");
  EXPECT_NE(result.out.find("the parser was wrong"), std::string::npos);
}

TEST_F(CloudHistoryTest, ShowPrintsTheTranscript) {
  answer(CloudAnswer{
      200,
      R"({"task":{"id":"t1","title":"Fix","mode":"code","model":"m","created_at":1,)"
      R"("updated_at":2,"message_count":2},"messages":[{"seq":1,"ts":1,"role":"user",)"
      R"("content":"please fix"},{"seq":2,"ts":2,"role":"assistant","content":"fixed"}]})",
      {}});
  CommandRun result = run({"history", "--cloud", "show", "t1"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(cloud_.requests()[0].url, std::string(kServer) + "/api/tasks/t1");
  EXPECT_NE(result.out.find("please fix"), std::string::npos);
  EXPECT_NE(result.out.find("2 assistant"), std::string::npos) << result.out;
}

TEST_F(CloudHistoryTest, UnknownTaskIsAClearError) {
  answer(CloudAnswer{404, R"({"error":{"code":"not_found","message":"no such task"}})", {}});
  CommandRun result = run({"history", "--cloud", "show", "t1"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err, "joey: error: reading task t1 from the Cloud: no such task\n");
}

TEST_F(CloudHistoryTest, ServerDownIsAClearError) {
  CloudAnswer down;
  down.network_error = true;
  answer(down);
  CommandRun result = run({"history", "--cloud", "list"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("reaching the joey Cloud at http://127.0.0.1:8420"), std::string::npos)
      << result.err;
}

TEST_F(CloudHistoryTest, SignedOutSaysHowToSignIn) {
  unsetenv("JOEY_CLOUD_URL");
  unsetenv("JOEY_CLOUD_TOKEN");
  CommandRun result = run({"history", "--cloud", "list"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err,
            "joey: error: not signed in to a joey Cloud: run `joey login --server URL`\n");
  EXPECT_TRUE(cloud_.requests().empty());
}

TEST_F(CloudHistoryTest, ShowRefusesAnIdThatIsNotOne) {
  CommandRun result = run({"history", "--cloud", "show", "../../api/me"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(cloud_.requests().empty());
}

TEST_F(CloudHistoryTest, WithoutCloudTheLocalHistoryIsRead) {
  CommandRun result = run({"history", "list"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(cloud_.requests().empty());
  EXPECT_NE(result.out.find("No tasks in the history yet."), std::string::npos);
}

}  // namespace
}  // namespace joey::client
