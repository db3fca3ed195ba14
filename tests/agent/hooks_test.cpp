#include "agent/hooks.h"

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/json.h"

namespace joey::agent {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

class HooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "joey-hooks-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    workspace_ = fs::canonical(pattern);
  }
  void TearDown() override { fs::remove_all(workspace_); }

  json pre_tool_event() const {
    return hook_event("pre_tool", "write_to_file", json{{"path", "src/a.cpp"}, {"content", "x"}},
                      "task-123", workspace_);
  }

  std::string read(const fs::path& path) const {
    std::ifstream stream(path);
    std::stringstream buffer;
    buffer << stream.rdbuf();
    return buffer.str();
  }

  fs::path workspace_;
};

TEST_F(HooksTest, HookExitingZeroAllowsTheCall) {
  auto result = run_hook("true", pre_tool_event(), workspace_);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(result->allowed);
  EXPECT_EQ(result->reason, "");
}

TEST_F(HooksTest, HookExitingNonZeroRefusesWithItsTrimmedStderr) {
  auto result =
      run_hook("echo 'out is ignored'; printf '\\n  no edits under src/ today  \\n' >&2; exit 3",
               pre_tool_event(), workspace_);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_FALSE(result->allowed);
  EXPECT_EQ(result->reason, "no edits under src/ today");
}

TEST_F(HooksTest, RefusalWithoutStderrNamesTheHookAndExitStatus) {
  auto result = run_hook("exit 7", pre_tool_event(), workspace_);
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->allowed);
  EXPECT_THAT(result->reason, HasSubstr("pre_tool hook `exit 7`"));
  EXPECT_THAT(result->reason, HasSubstr("status 7"));
}

TEST_F(HooksTest, LongStderrIsCappedAtTwoKibibytes) {
  auto result =
      run_hook("head -c 100000 /dev/zero | tr '\\0' x >&2; exit 1", pre_tool_event(), workspace_);
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->allowed);
  EXPECT_EQ(result->reason.size(), kHookReasonCap);
  EXPECT_EQ(result->reason.find_first_not_of('x'), std::string::npos);
}

TEST_F(HooksTest, StdinCarriesTheEventJsonAndTheHookRunsInTheWorkspace) {
  auto result = run_hook("cat > event.json; printf %s \"$JOEY_HOOK\" > name.txt", pre_tool_event(),
                         workspace_);
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_TRUE(result->allowed) << result->reason;
  json event = parse_json(read(workspace_ / "event.json"));
  ASSERT_TRUE(event.is_object());
  EXPECT_EQ(event["hook"], "pre_tool");
  EXPECT_EQ(event["tool"], "write_to_file");
  EXPECT_EQ(event["arguments"]["path"], "src/a.cpp");
  EXPECT_EQ(event["task_id"], "task-123");
  EXPECT_EQ(event["workspace"], workspace_.string());
  EXPECT_EQ(read(workspace_ / "name.txt"), "pre_tool");
}

TEST_F(HooksTest, HookCanRefuseBasedOnTheEvent) {
  std::string command =
      "grep -q '\"tool\":\"execute_command\"' && { echo 'no commands' >&2; exit 1; } || exit 0";
  json command_event =
      hook_event("pre_tool", "execute_command", json{{"command", "ls"}}, "t", workspace_);
  auto refused = run_hook(command, command_event, workspace_);
  ASSERT_TRUE(refused.ok());
  EXPECT_FALSE(refused->allowed);
  EXPECT_EQ(refused->reason, "no commands");
  auto allowed = run_hook(command, pre_tool_event(), workspace_);
  ASSERT_TRUE(allowed.ok());
  EXPECT_TRUE(allowed->allowed);
}

TEST_F(HooksTest, HookRunningPastTheTimeoutIsAnErrorNamingIt) {
  auto result = run_hook("sleep 30", pre_tool_event(), workspace_, std::chrono::milliseconds(200));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kTimeout);
  EXPECT_THAT(result.error().message, HasSubstr("pre_tool hook `sleep 30`"));
}

TEST_F(HooksTest, HookThatCannotStartIsAnErrorNamingIt) {
  auto result =
      run_hook("true", hook_event("post_tool", "read_file", json::object(), "t", workspace_),
               workspace_ / "missing-directory");
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("post_tool hook `true`"));
}

TEST_F(HooksTest, EmptyHookCommandIsInvalid) {
  auto result = run_hook("  ", pre_tool_event(), workspace_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kInvalidArgument);
}

TEST_F(HooksTest, HookThatExitsWithoutReadingStdinStillGetsAResult) {
  json big = pre_tool_event();
  big["arguments"]["content"] = std::string(1 << 20, 'a');
  auto result = run_hook("exit 0", big, workspace_);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(result->allowed);
}

TEST_F(HooksTest, InvalidUtf8InArgumentsDoesNotStopTheHook) {
  json event = pre_tool_event();
  event["arguments"]["content"] = std::string("\xff\xfe bad", 6);
  auto result = run_hook("cat > event.json", event, workspace_);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(parse_json(read(workspace_ / "event.json")).is_object());
}

TEST(HookEventTest, OnCompleteEventLeavesOutToolAndCarriesResult) {
  json event = hook_event("on_complete", "", json(), "task-9", "/work/project", "all done");
  EXPECT_EQ(event, (json{{"hook", "on_complete"},
                         {"task_id", "task-9"},
                         {"workspace", "/work/project"},
                         {"result", "all done"}}));
}

}  // namespace
}  // namespace joey::agent
