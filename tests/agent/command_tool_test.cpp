#include "agent/command_tool.h"

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/workspace.h"
#include "support/temp_dir.h"

namespace joey::agent {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

fs::path make_temp_dir() { return joey::testing::make_temp_dir("joey-command-test"); }

class ScriptedGate : public ApprovalGate {
 public:
  Status request(const ApprovalRequest& request) override {
    requests.push_back(request);
    if (refuse_kind && *refuse_kind == request.kind) {
      return make_error(ErrorKind::kPermissionDenied, "refused by the user");
    }
    return ok_status();
  }
  std::optional<ActionKind> refuse_kind;
  std::vector<ApprovalRequest> requests;
};

class CommandToolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = make_temp_dir();
    workspace_ = std::make_unique<Workspace>(root_);
    context_.workspace = workspace_.get();
    context_.approvals = &gate_;
    context_.cancel = &cancel_;
    context_.on_command_output = [this](std::string_view chunk) { streamed_ += chunk; };
  }
  void TearDown() override { fs::remove_all(root_); }

  Result<ToolOutput> run(const json& args) { return execute_command_tool().run(args, context_); }

  fs::path root_;
  std::unique_ptr<Workspace> workspace_;
  ScriptedGate gate_;
  std::atomic<bool> cancel_{false};
  std::string streamed_;
  ToolContext context_;
};

TEST_F(CommandToolTest, SuccessfulCommandReportsExitCodeAndOutput) {
  auto output = run({{"command", "echo hello; pwd"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_EQ(output->content, "Exit code: 0\nOutput:\nhello\n" + root_.string() + "\n");
  EXPECT_EQ(output->summary, "ran `echo hello; pwd` (exit 0)");
  ASSERT_EQ(gate_.requests.size(), 1u);
  EXPECT_EQ(gate_.requests[0].kind, ActionKind::kCommand);
  EXPECT_EQ(gate_.requests[0].description, "echo hello; pwd");
}

TEST_F(CommandToolTest, NonZeroExitIsASuccessfulCallThatStatesTheCode) {
  auto output = run({{"command", "echo broken >&2; exit 3"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_THAT(output->content, StartsWith("Exit code: 3\n"));
  EXPECT_THAT(output->content, HasSubstr("broken"));
}

TEST_F(CommandToolTest, StdoutAndStderrAreCombinedAndStreamed) {
  auto output = run({{"command", "echo out; echo err >&2"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_THAT(output->content, HasSubstr("out\n"));
  EXPECT_THAT(output->content, HasSubstr("err\n"));
  EXPECT_THAT(streamed_, HasSubstr("out\n"));
  EXPECT_THAT(streamed_, HasSubstr("err\n"));
}

TEST_F(CommandToolTest, StdinIsEmpty) {
  auto output = run({{"command", "cat; echo done"}, {"timeout", 30}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_EQ(output->content, "Exit code: 0\nOutput:\ndone\n");
}

TEST_F(CommandToolTest, SilentCommandSaysThereWasNoOutput) {
  auto output = run({{"command", "true"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_EQ(output->content, "Exit code: 0\nOutput: (none)\n");
}

TEST_F(CommandToolTest, LongOutputKeepsHeadAndTail) {
  auto output =
      run({{"command", "echo FIRST; head -c 200000 /dev/zero | tr '\\0' x; echo; echo LAST"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_THAT(output->content, HasSubstr("FIRST"));
  EXPECT_THAT(output->content, HasSubstr("LAST"));
  EXPECT_THAT(output->content, HasSubstr("bytes omitted"));
  EXPECT_LT(output->content.size(), kCommandOutputCap + 200);
}

TEST_F(CommandToolTest, TimeoutIsReportedWithTheOutputSoFar) {
  auto output = run({{"command", "echo started; sleep 30"}, {"timeout", "1"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_THAT(output->content, HasSubstr("timed out after 1 second"));
  EXPECT_THAT(output->content, HasSubstr("started"));
  EXPECT_THAT(output->summary, HasSubstr("timed out"));
}

TEST_F(CommandToolTest, CancelStopsTheCommandAndTheTask) {
  context_.on_command_output = [this](std::string_view) { cancel_ = true; };
  auto output = run({{"command", "echo started; sleep 30"}});
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.error().kind, ErrorKind::kCancelled);
}

TEST_F(CommandToolTest, RefusedCommandDoesNotRun) {
  gate_.refuse_kind = ActionKind::kCommand;
  auto output = run({{"command", "touch ran"}});
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_FALSE(fs::exists(root_ / "ran"));
}

TEST_F(CommandToolTest, RunsInARelativeCwd) {
  fs::create_directories(root_ / "sub" / "dir");
  auto output = run({{"command", "pwd"}, {"cwd", "sub/dir"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_THAT(output->content, HasSubstr((root_ / "sub" / "dir").string()));
  ASSERT_EQ(gate_.requests.size(), 1u);
  EXPECT_EQ(gate_.requests[0].kind, ActionKind::kCommand);
}

TEST_F(CommandToolTest, CwdOutsideTheWorkspaceAsksOutsideWorkspaceToo) {
  fs::path outside = make_temp_dir();
  auto approved = run({{"command", "pwd"}, {"cwd", outside.string()}});
  ASSERT_TRUE(approved.ok()) << approved.error().message;
  ASSERT_EQ(gate_.requests.size(), 2u);
  EXPECT_EQ(gate_.requests[0].kind, ActionKind::kOutsideWorkspace);
  EXPECT_EQ(gate_.requests[1].kind, ActionKind::kCommand);

  gate_.refuse_kind = ActionKind::kOutsideWorkspace;
  auto refused = run({{"command", "touch ran"}, {"cwd", outside.string()}});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_FALSE(fs::exists(outside / "ran"));
  fs::remove_all(outside);
}

TEST_F(CommandToolTest, MissingCwdIsNotFound) {
  auto output = run({{"command", "pwd"}, {"cwd", "no/such/dir"}});
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.error().kind, ErrorKind::kNotFound);
  EXPECT_THAT(output.error().message, HasSubstr("'cwd'"));
}

TEST_F(CommandToolTest, BadTimeoutsAreRefusedNamingTheField) {
  for (const json& timeout : {json(0), json(1801), json("soon")}) {
    auto output = run({{"command", "true"}, {"timeout", timeout}});
    ASSERT_FALSE(output.ok()) << timeout.dump();
    EXPECT_EQ(output.error().kind, ErrorKind::kInvalidArgument);
    EXPECT_THAT(output.error().message, HasSubstr("'timeout'"));
  }
  EXPECT_TRUE(gate_.requests.empty());
}

TEST_F(CommandToolTest, EmptyCommandIsRefused) {
  auto output = run({{"command", "  "}});
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_THAT(output.error().message, HasSubstr("'command'"));
}

// ---- commands naming ignored files ----

class IgnoredCommandTest : public CommandToolTest {
 protected:
  void SetUp() override {
    CommandToolTest::SetUp();
    fs::create_directories(root_ / "secrets");
    fs::create_directories(root_ / "src");
    std::ofstream(root_ / ".joeyignore") << "secrets/\n*.env\n";
    std::ofstream(root_ / "prod.env") << "PASSWORD=hunter2\n";
    std::ofstream(root_ / "secrets/key.txt") << "TOPSECRET\n";
    workspace_ = std::make_unique<Workspace>(root_);
    context_.workspace = workspace_.get();
    gate_.refuse_kind = ActionKind::kProtectedWrite;
  }

  // The description of the one approval asked for `command` (which the gate refuses
  // when it is a protected write), or "" when the kind was not kProtectedWrite.
  std::string protected_description(const json& args) {
    gate_.requests.clear();
    auto output = run(args);
    if (gate_.requests.size() != 1) return "asked " + std::to_string(gate_.requests.size());
    if (gate_.requests[0].kind != ActionKind::kProtectedWrite) return "";
    EXPECT_FALSE(output.ok());
    return gate_.requests[0].description;
  }
};

TEST_F(IgnoredCommandTest, ACommandNamingAnIgnoredFileAsksForAProtectedWrite) {
  EXPECT_EQ(protected_description({{"command", "cat prod.env"}}),
            "run `cat prod.env`, which names ignored file prod.env");
  for (const char* command :
       {"cat 'prod.env'", "cat \"secrets/key.txt\"", "grep x <prod.env", "tool --in=prod.env",
        "cat secrets/missing.txt", "cat ./src/../prod.env", "echo $(cat prod.env)", "cat *.env",
        "ls secrets", "cat pro\\d.env", "cp src/a new.env"}) {
    EXPECT_THAT(protected_description({{"command", command}}),
                HasSubstr("which names ignored file"))
        << command;
  }
  EXPECT_EQ(streamed_, "");  // nothing ran
}

TEST_F(IgnoredCommandTest, TheFileIsResolvedAgainstTheCwd) {
  EXPECT_THAT(protected_description({{"command", "cat ../prod.env"}, {"cwd", "src"}}),
              HasSubstr("names ignored file prod.env"));
  EXPECT_EQ(protected_description({{"command", "cat key.txt"}, {"cwd", "secrets"}}),
            "run `cat key.txt` in ignored directory secrets");
}

TEST_F(IgnoredCommandTest, OtherCommandsAskForAnOrdinaryCommand) {
  for (const char* command : {"echo hello", "ls src", "cat README.md", "echo prod.envelope"}) {
    EXPECT_EQ(protected_description({{"command", command}}), "") << command;
    ASSERT_EQ(gate_.requests.size(), 1u);
    EXPECT_EQ(gate_.requests[0].kind, ActionKind::kCommand);
  }
}

TEST_F(IgnoredCommandTest, AnApprovedCommandNamingAnIgnoredFileRuns) {
  gate_.refuse_kind.reset();
  auto output = run({{"command", "wc -l < prod.env"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  ASSERT_EQ(gate_.requests.size(), 1u);
  EXPECT_EQ(gate_.requests[0].kind, ActionKind::kProtectedWrite);
  EXPECT_THAT(output->content, HasSubstr("1"));
}

}  // namespace
}  // namespace joey::agent
