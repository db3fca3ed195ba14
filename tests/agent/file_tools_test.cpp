#include "agent/file_tools.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
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

fs::path make_temp_dir() { return joey::testing::make_temp_dir("joey-file-tools-test"); }

class FakeGate : public ApprovalGate {
 public:
  enum class Answer { kApprove, kRefuse, kNeedsDecision };

  Status request(const ApprovalRequest& request) override {
    requests.push_back(request);
    switch (answer) {
      case Answer::kApprove:
        return ok_status();
      case Answer::kRefuse:
        return make_error(ErrorKind::kPermissionDenied, "refused by the user");
      case Answer::kNeedsDecision:
        return make_error(ErrorKind::kNeedsDecision, "ask the user");
    }
    return ok_status();
  }

  Answer answer = Answer::kApprove;
  std::vector<ApprovalRequest> requests;
};

class FileToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = make_temp_dir();
    outside_ = make_temp_dir();
    workspace_ = std::make_unique<Workspace>(root_);
    context_.workspace = workspace_.get();
    context_.approvals = &gate_;
  }
  void TearDown() override {
    fs::remove_all(root_);
    fs::remove_all(outside_);
  }

  static void write(const fs::path& path, const std::string& content) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
  }
  static std::string read(const fs::path& path) {
    std::ifstream file(path, std::ios::binary);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
  }

  Result<ToolOutput> run(const ToolDefinition& tool, const json& args) {
    return tool.run(args, context_);
  }

  // The workspace reads its ignore files when built: rebuild it after writing them.
  void reload_workspace() {
    workspace_ = std::make_unique<Workspace>(root_);
    context_.workspace = workspace_.get();
  }

  fs::path root_;
  fs::path outside_;
  std::unique_ptr<Workspace> workspace_;
  FakeGate gate_;
  ToolContext context_;
};

// ---- read_file ----

TEST_F(FileToolsTest, ReadFileNumbersEveryLine) {
  write(root_ / "a.txt", "alpha\nbeta\r\ngamma");
  auto output = run(read_file_tool(), {{"path", "a.txt"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_EQ(output->content, "1 | alpha\n2 | beta\n3 | gamma\n");
  EXPECT_EQ(output->summary, "read a.txt (lines 1-3)");
  EXPECT_TRUE(gate_.requests.empty());
}

TEST_F(FileToolsTest, ReadFileReturnsTheRequestedRange) {
  write(root_ / "a.txt", "1\n2\n3\n4\n5\n");
  auto output = run(read_file_tool(), {{"path", "a.txt"}, {"start_line", 2}, {"end_line", "3"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_EQ(output->content, "2 | 2\n3 | 3\n");
  auto to_end = run(read_file_tool(), {{"path", "a.txt"}, {"start_line", 4}, {"end_line", 99}});
  ASSERT_TRUE(to_end.ok());
  EXPECT_EQ(to_end->content, "4 | 4\n5 | 5\n");
}

TEST_F(FileToolsTest, ReadFileTruncatesAtTheLineLimitAndSaysHowToContinue) {
  std::string content;
  for (int line = 1; line <= 10; ++line) content += "line " + std::to_string(line) + "\n";
  write(root_ / "a.txt", content);
  auto output = run(read_file_tool({.max_lines = 4, .max_bytes = 1024}), {{"path", "a.txt"}});
  ASSERT_TRUE(output.ok());
  EXPECT_THAT(output->content, StartsWith("1 | line 1\n2 | line 2\n3 | line 3\n4 | line 4\n"));
  EXPECT_THAT(output->content, Not(HasSubstr("5 | ")));
  EXPECT_THAT(output->content, HasSubstr("lines 1-4 of 10"));
  EXPECT_THAT(output->content, HasSubstr("start_line=5"));
}

TEST_F(FileToolsTest, ReadFileTruncatesAtTheByteLimit) {
  std::string content;
  for (int line = 1; line <= 100; ++line) content += std::string(50, 'x') + "\n";
  write(root_ / "a.txt", content);
  auto output = run(read_file_tool({.max_lines = 2000, .max_bytes = 200}), {{"path", "a.txt"}});
  ASSERT_TRUE(output.ok());
  EXPECT_THAT(output->content, HasSubstr("3 | "));
  EXPECT_THAT(output->content, Not(HasSubstr("4 | ")));
  EXPECT_THAT(output->content, HasSubstr("start_line=4"));
}

TEST_F(FileToolsTest, ReadFileCutsASingleHugeLine) {
  write(root_ / "min.js", std::string(5000, 'y') + "\nnext\n");
  auto output = run(read_file_tool({.max_lines = 2000, .max_bytes = 1024}), {{"path", "min.js"}});
  ASSERT_TRUE(output.ok());
  EXPECT_THAT(output->content, StartsWith("1 | yyyy"));
  EXPECT_LT(output->content.size(), 1400u);
  EXPECT_THAT(output->content, HasSubstr("Line 1 was cut"));
  EXPECT_THAT(output->content, HasSubstr("start_line=2"));
}

TEST_F(FileToolsTest, ReadFileRefusesBinaryFiles) {
  write(root_ / "image.png", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16));
  auto output = run(read_file_tool(), {{"path", "image.png"}});
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_THAT(output.error().message, HasSubstr("binary"));
}

TEST_F(FileToolsTest, ReadFileReportsAMissingFileAsTheModelWroteIt) {
  auto output = run(read_file_tool(), {{"path", "src/../nope.txt"}});
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.error().kind, ErrorKind::kNotFound);
  EXPECT_THAT(output.error().message, HasSubstr("src/../nope.txt"));
}

TEST_F(FileToolsTest, ReadFileRefusesDirectories) {
  fs::create_directories(root_ / "src");
  auto output = run(read_file_tool(), {{"path", "src"}});
  ASSERT_FALSE(output.ok());
  EXPECT_THAT(output.error().message, HasSubstr("list_files"));
}

TEST_F(FileToolsTest, ReadFileRejectsBadLineArguments) {
  write(root_ / "a.txt", "one\n");
  for (const json& args :
       {json{{"path", "a.txt"}, {"start_line", "abc"}}, json{{"path", "a.txt"}, {"start_line", 0}},
        json{{"path", "a.txt"}, {"start_line", 5}}}) {
    auto output = run(read_file_tool(), args);
    ASSERT_FALSE(output.ok()) << args.dump();
    EXPECT_EQ(output.error().kind, ErrorKind::kInvalidArgument);
    EXPECT_THAT(output.error().message, HasSubstr("'start_line'")) << args.dump();
  }
  auto backwards = run(read_file_tool(), {{"path", "a.txt"}, {"start_line", 3}, {"end_line", 2}});
  ASSERT_FALSE(backwards.ok());
  EXPECT_THAT(backwards.error().message, HasSubstr("'end_line'"));
}

TEST_F(FileToolsTest, ReadFileOfAnEmptyFileSaysSo) {
  write(root_ / "empty.txt", "");
  auto output = run(read_file_tool(), {{"path", "empty.txt"}});
  ASSERT_TRUE(output.ok());
  EXPECT_THAT(output->content, HasSubstr("empty"));
}

TEST_F(FileToolsTest, ReadFileOutsideTheWorkspaceAsksAndHonoursARefusal) {
  write(outside_ / "secret.txt", "top secret\n");
  gate_.answer = FakeGate::Answer::kRefuse;
  auto output = run(read_file_tool(), {{"path", (outside_ / "secret.txt").string()}});
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.error().kind, ErrorKind::kPermissionDenied);
  ASSERT_EQ(gate_.requests.size(), 1u);
  EXPECT_EQ(gate_.requests[0].kind, ActionKind::kOutsideWorkspace);
}

TEST_F(FileToolsTest, ReadFileReplacesInvalidUtf8) {
  write(root_ / "latin1.txt", "caf\xe9 au lait\n");
  auto output = run(read_file_tool(), {{"path", "latin1.txt"}});
  ASSERT_TRUE(output.ok());
  EXPECT_EQ(output->content, "1 | caf\xEF\xBF\xBD au lait\n");
}

// ---- write_to_file ----

TEST_F(FileToolsTest, WriteToFileCreatesParentDirectoriesAndWritesExactly) {
  std::string content = "```\nnot a fence to strip\n```\n";
  auto output = run(write_to_file_tool(), {{"path", "deep/er/new.md"}, {"content", content}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_EQ(read(root_ / "deep/er/new.md"), content);
  EXPECT_THAT(output->content, HasSubstr("Created"));
  EXPECT_EQ(output->summary, "wrote deep/er/new.md (3 lines)");
  ASSERT_EQ(gate_.requests.size(), 1u);
  EXPECT_EQ(gate_.requests[0].kind, ActionKind::kWrite);
  EXPECT_EQ(gate_.requests[0].tool, "write_to_file");
}

TEST_F(FileToolsTest, WriteToFileOverwritesAndKeepsTheMode) {
  write(root_ / "run.sh", "old\n");
  fs::permissions(root_ / "run.sh", fs::perms(0755));
  auto output = run(write_to_file_tool(), {{"path", "run.sh"}, {"content", "new\n"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_EQ(read(root_ / "run.sh"), "new\n");
  EXPECT_THAT(output->content, HasSubstr("Overwrote"));
  EXPECT_EQ(fs::status(root_ / "run.sh").permissions() & fs::perms::all, fs::perms(0755));
  std::vector<fs::path> leftovers;
  for (const auto& entry : fs::directory_iterator(root_)) leftovers.push_back(entry.path());
  EXPECT_EQ(leftovers.size(), 1u) << "a temporary file was left behind";
}

TEST_F(FileToolsTest, WriteToFileRefusedByTheGateWritesNothing) {
  write(root_ / "keep.txt", "original\n");
  gate_.answer = FakeGate::Answer::kRefuse;
  auto refused = run(write_to_file_tool(), {{"path", "keep.txt"}, {"content", "changed\n"}});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_EQ(read(root_ / "keep.txt"), "original\n");
  auto created = run(write_to_file_tool(), {{"path", "new/file.txt"}, {"content", "x"}});
  ASSERT_FALSE(created.ok());
  EXPECT_FALSE(fs::exists(root_ / "new"));
}

TEST_F(FileToolsTest, WriteToFileNeedingADecisionStopsWithoutWriting) {
  gate_.answer = FakeGate::Answer::kNeedsDecision;
  auto output = run(write_to_file_tool(), {{"path", "a.txt"}, {"content", "x"}});
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.error().kind, ErrorKind::kNeedsDecision);
  EXPECT_FALSE(fs::exists(root_ / "a.txt"));
}

TEST_F(FileToolsTest, WriteOutsideTheWorkspaceAsksOutsideWorkspaceAndRefusalKeepsItUnwritten) {
  fs::create_directory_symlink(outside_, root_ / "escape");
  gate_.answer = FakeGate::Answer::kRefuse;
  std::string dot_dot = "../" + outside_.filename().string() + "/x.txt";
  for (const std::string& path :
       {dot_dot, (outside_ / "x.txt").string(), std::string("escape/x.txt")}) {
    gate_.requests.clear();
    auto output = run(write_to_file_tool(), {{"path", path}, {"content", "x"}});
    ASSERT_FALSE(output.ok()) << path;
    EXPECT_EQ(output.error().kind, ErrorKind::kPermissionDenied) << path;
    ASSERT_EQ(gate_.requests.size(), 1u) << path;
    EXPECT_EQ(gate_.requests[0].kind, ActionKind::kOutsideWorkspace) << path;
    EXPECT_FALSE(fs::exists(outside_ / "x.txt")) << path;
  }
  gate_.answer = FakeGate::Answer::kApprove;
  ASSERT_TRUE(run(write_to_file_tool(), {{"path", "escape/x.txt"}, {"content", "x"}}).ok());
  EXPECT_EQ(read(outside_ / "x.txt"), "x");
}

TEST_F(FileToolsTest, WriteToFileRefusesADirectoryTarget) {
  fs::create_directories(root_ / "dir");
  auto output = run(write_to_file_tool(), {{"path", "dir"}, {"content", "x"}});
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_TRUE(fs::is_directory(root_ / "dir"));
}

// ---- apply_diff ----

const char* kDiff =
    "<<<<<<< SEARCH\n"
    "  return 1;\n"
    "=======\n"
    "  return 2;\n"
    ">>>>>>> REPLACE\n";

TEST_F(FileToolsTest, ApplyDiffEditsTheFileAfterApproval) {
  write(root_ / "a.cpp", "int f() {\n  return 1;\n}\n");
  auto output = run(apply_diff_tool(), {{"path", "a.cpp"}, {"diff", kDiff}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_EQ(read(root_ / "a.cpp"), "int f() {\n  return 2;\n}\n");
  EXPECT_THAT(output->content, HasSubstr("Applied 1 block"));
  ASSERT_EQ(gate_.requests.size(), 1u);
  EXPECT_EQ(gate_.requests[0].kind, ActionKind::kWrite);
}

TEST_F(FileToolsTest, ApplyDiffThatDoesNotMatchLeavesTheFileUntouched) {
  std::string original = "int f() {\n  return 42;\n}\n";
  write(root_ / "a.cpp", original);
  auto output = run(apply_diff_tool(), {{"path", "a.cpp"},
                                        {"diff",
                                         "<<<<<<< SEARCH\nnothing like this\n=======\nx\n"
                                         ">>>>>>> REPLACE\n"}});
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_FALSE(output.error().message.empty());
  EXPECT_EQ(read(root_ / "a.cpp"), original);
  EXPECT_TRUE(gate_.requests.empty());
}

TEST_F(FileToolsTest, ApplyDiffRefusedByTheGateLeavesTheFileUntouched) {
  std::string original = "int f() {\n  return 1;\n}\n";
  write(root_ / "a.cpp", original);
  gate_.answer = FakeGate::Answer::kRefuse;
  auto output = run(apply_diff_tool(), {{"path", "a.cpp"}, {"diff", kDiff}});
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_EQ(read(root_ / "a.cpp"), original);
}

TEST_F(FileToolsTest, ApplyDiffOnAMissingFileIsNotFound) {
  auto output = run(apply_diff_tool(), {{"path", "gone.cpp"}, {"diff", kDiff}});
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.error().kind, ErrorKind::kNotFound);
  EXPECT_THAT(output.error().message, HasSubstr("gone.cpp"));
}

// ---- insert_content ----

TEST_F(FileToolsTest, InsertContentAtTheStart) {
  write(root_ / "a.txt", "one\ntwo\n");
  auto output = run(insert_content_tool(), {{"path", "a.txt"}, {"line", 1}, {"content", "zero"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_EQ(read(root_ / "a.txt"), "zero\none\ntwo\n");
  ASSERT_EQ(gate_.requests.size(), 1u);
  EXPECT_EQ(gate_.requests[0].kind, ActionKind::kWrite);
}

TEST_F(FileToolsTest, InsertContentInTheMiddle) {
  write(root_ / "a.txt", "one\ntwo\nthree\n");
  auto output =
      run(insert_content_tool(), {{"path", "a.txt"}, {"line", "3"}, {"content", "2a\n2b\n"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_EQ(read(root_ / "a.txt"), "one\ntwo\n2a\n2b\nthree\n");
  EXPECT_THAT(output->content, HasSubstr("2 lines"));
}

TEST_F(FileToolsTest, InsertContentWithLineZeroAppends) {
  write(root_ / "a.txt", "one\ntwo");
  auto output = run(insert_content_tool(), {{"path", "a.txt"}, {"line", 0}, {"content", "end"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_EQ(read(root_ / "a.txt"), "one\ntwo\nend\n");
}

TEST_F(FileToolsTest, InsertContentKeepsCrlfLineEndings) {
  write(root_ / "a.txt", "one\r\ntwo\r\n");
  auto output = run(insert_content_tool(), {{"path", "a.txt"}, {"line", 2}, {"content", "x\ny\n"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_EQ(read(root_ / "a.txt"), "one\r\nx\r\ny\r\ntwo\r\n");
}

TEST_F(FileToolsTest, InsertContentPastTheEndIsRefused) {
  write(root_ / "a.txt", "one\n");
  auto output = run(insert_content_tool(), {{"path", "a.txt"}, {"line", 5}, {"content", "x"}});
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_THAT(output.error().message, HasSubstr("'line'"));
  EXPECT_EQ(read(root_ / "a.txt"), "one\n");
}

TEST_F(FileToolsTest, InsertContentCreatesAMissingFileAtLineZero) {
  auto output = run(insert_content_tool(), {{"path", "new.txt"}, {"line", 0}, {"content", "hi"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_EQ(read(root_ / "new.txt"), "hi\n");
}

TEST_F(FileToolsTest, InsertContentRefusedByTheGateLeavesTheFileUntouched) {
  write(root_ / "a.txt", "one\n");
  gate_.answer = FakeGate::Answer::kRefuse;
  auto output = run(insert_content_tool(), {{"path", "a.txt"}, {"line", 1}, {"content", "x"}});
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(read(root_ / "a.txt"), "one\n");
}

// ---- ignored and protected files ----

TEST_F(FileToolsTest, EveryFileToolRefusesAnIgnoredFileWithoutTouchingIt) {
  write(root_ / ".joeyignore", "secrets/\n*.env\n");
  write(root_ / "secrets/key.txt", "TOP SECRET\n");
  write(root_ / "prod.env", "PASSWORD=hunter2\n");
  reload_workspace();
  const std::string diff = "<<<<<<< SEARCH\nTOP\n=======\nx\n>>>>>>> REPLACE";
  struct Call {
    ToolDefinition tool;
    json args;
  };
  for (const char* path : {"secrets/key.txt", "prod.env", "./secrets/../prod.env"}) {
    std::vector<Call> calls = {
        {read_file_tool(), {{"path", path}}},
        {write_to_file_tool(), {{"path", path}, {"content", "overwritten"}}},
        {apply_diff_tool(), {{"path", path}, {"diff", diff}}},
        {insert_content_tool(), {{"path", path}, {"line", 1}, {"content", "x"}}},
    };
    for (const Call& call : calls) {
      auto output = run(call.tool, call.args);
      ASSERT_FALSE(output.ok()) << call.tool.name << " " << path;
      EXPECT_EQ(output.error().kind, ErrorKind::kPermissionDenied);
      EXPECT_THAT(output.error().message,
                  HasSubstr("is listed in .joeyignore; joey may not read or change it"));
      EXPECT_THAT(output.error().message, Not(HasSubstr("SECRET")));
      EXPECT_THAT(output.error().message, Not(HasSubstr("hunter2")));
    }
  }
  EXPECT_EQ(read(root_ / "secrets/key.txt"), "TOP SECRET\n");
  EXPECT_EQ(read(root_ / "prod.env"), "PASSWORD=hunter2\n");
  EXPECT_TRUE(gate_.requests.empty());
}

TEST_F(FileToolsTest, CreatingAFileInAnIgnoredDirectoryIsRefused) {
  write(root_ / ".rooignore", "/private/\n");
  fs::create_directories(root_ / "private");
  reload_workspace();
  auto output = run(write_to_file_tool(), {{"path", "private/new.txt"}, {"content", "x"}});
  ASSERT_FALSE(output.ok());
  EXPECT_THAT(output.error().message, HasSubstr("private/new.txt is listed in .rooignore"));
  EXPECT_FALSE(fs::exists(root_ / "private/new.txt"));
}

TEST_F(FileToolsTest, ASymlinkToAnIgnoredFileIsRefused) {
  write(root_ / ".joeyignore", "secret.txt\n");
  write(root_ / "secret.txt", "TOP SECRET\n");
  fs::create_symlink(root_ / "secret.txt", root_ / "innocent.txt");
  reload_workspace();
  auto output = run(read_file_tool(), {{"path", "innocent.txt"}});
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_THAT(output.error().message, HasSubstr("secret.txt is listed in .joeyignore"));
}

TEST_F(FileToolsTest, ANegatedFileStaysReadable) {
  write(root_ / ".joeyignore", "*.env\n!example.env\n");
  write(root_ / "example.env", "KEY=\n");
  reload_workspace();
  auto output = run(read_file_tool(), {{"path", "example.env"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_EQ(output->content, "1 | KEY=\n");
}

TEST_F(FileToolsTest, UnreadableIgnoreRulesRefuseEveryFileInside) {
  fs::create_directories(root_ / ".joeyignore");  // a directory cannot be read as rules
  write(root_ / "a.txt", "alpha\n");
  reload_workspace();
  EXPECT_FALSE(workspace_->ignore_rules_status().ok());
  auto output = run(read_file_tool(), {{"path", "a.txt"}});
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_THAT(output.error().message, HasSubstr("ignore rules can be read"));
}

TEST_F(FileToolsTest, WritesToProtectedFilesAskForAProtectedWrite) {
  write(root_ / "AGENTS.md", "# Rules\none\n");
  const std::string diff = "<<<<<<< SEARCH\none\n=======\ntwo\n>>>>>>> REPLACE";
  struct Call {
    ToolDefinition tool;
    json args;
  };
  std::vector<Call> calls = {
      {write_to_file_tool(), {{"path", "AGENTS.md"}, {"content", "x"}}},
      {apply_diff_tool(), {{"path", "AGENTS.md"}, {"diff", diff}}},
      {insert_content_tool(), {{"path", "AGENTS.md"}, {"line", 0}, {"content", "x"}}},
      {write_to_file_tool(), {{"path", ".joey/config.toml"}, {"content", "x"}}},
      {write_to_file_tool(), {{"path", ".joeyignore"}, {"content", ""}}},
      {write_to_file_tool(), {{"path", ".rooignore"}, {"content", ""}}},
      {write_to_file_tool(), {{"path", ".roomodes"}, {"content", ""}}},
  };
  gate_.answer = FakeGate::Answer::kRefuse;
  for (const Call& call : calls) {
    gate_.requests.clear();
    auto output = run(call.tool, call.args);
    ASSERT_FALSE(output.ok()) << call.tool.name << " " << call.args.dump();
    EXPECT_EQ(output.error().kind, ErrorKind::kPermissionDenied);
    ASSERT_EQ(gate_.requests.size(), 1u) << call.args.dump();
    EXPECT_EQ(gate_.requests[0].kind, ActionKind::kProtectedWrite) << call.args.dump();
  }
  EXPECT_EQ(read(root_ / "AGENTS.md"), "# Rules\none\n");
  EXPECT_FALSE(fs::exists(root_ / ".joey"));
  EXPECT_FALSE(fs::exists(root_ / ".roomodes"));
}

TEST_F(FileToolsTest, ASymlinkToAProtectedFileIsAProtectedWrite) {
  write(root_ / "AGENTS.md", "rules\n");
  fs::create_symlink(root_ / "AGENTS.md", root_ / "notes.md");
  gate_.answer = FakeGate::Answer::kRefuse;
  auto output = run(write_to_file_tool(), {{"path", "notes.md"}, {"content", "x"}});
  ASSERT_FALSE(output.ok());
  ASSERT_EQ(gate_.requests.size(), 1u);
  EXPECT_EQ(gate_.requests[0].kind, ActionKind::kProtectedWrite);
  EXPECT_EQ(read(root_ / "AGENTS.md"), "rules\n");
}

TEST_F(FileToolsTest, ProtectedFilesStayReadableAndOtherWritesAskForAWrite) {
  write(root_ / "AGENTS.md", "rules\n");
  auto read_output = run(read_file_tool(), {{"path", "AGENTS.md"}});
  ASSERT_TRUE(read_output.ok());
  EXPECT_TRUE(gate_.requests.empty());
  auto output = run(write_to_file_tool(), {{"path", "docs/AGENTS.md"}, {"content", "x"}});
  ASSERT_TRUE(output.ok());
  ASSERT_EQ(gate_.requests.size(), 1u);
  EXPECT_EQ(gate_.requests[0].kind, ActionKind::kWrite);
}

// ---- helpers ----

TEST(LooksBinary, NulOrMostlyInvalidUtf8IsBinary) {
  EXPECT_TRUE(looks_binary(std::string("abc\0def", 7)));
  EXPECT_TRUE(looks_binary(std::string(100, '\xff')));
  EXPECT_FALSE(looks_binary("plain text\n"));
  EXPECT_FALSE(looks_binary("caf\xc3\xa9 \xe2\x9c\x93\n"));
  EXPECT_FALSE(looks_binary(std::string(1000, 'a') + "\xe2\x9c"));  // cut character at the end
}

TEST(CountLines, CountsALastLineWithoutNewline) {
  EXPECT_EQ(count_lines(""), 0);
  EXPECT_EQ(count_lines("a"), 1);
  EXPECT_EQ(count_lines("a\n"), 1);
  EXPECT_EQ(count_lines("a\nb"), 2);
}

}  // namespace
}  // namespace joey::agent
