#include "agent/search_tools.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
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

fs::path make_temp_dir() { return joey::testing::make_temp_dir("joey-search-test"); }

class CountingGate : public ApprovalGate {
 public:
  Status request(const ApprovalRequest& request) override {
    requests.push_back(request);
    return refuse ? Status(make_error(ErrorKind::kPermissionDenied, "no")) : ok_status();
  }
  bool refuse = false;
  std::vector<ApprovalRequest> requests;
};

// A workspace that is not a git repository: .gitignore must apply anyway.
class SearchToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = make_temp_dir();
    workspace_ = std::make_unique<Workspace>(root_);
    context_.workspace = workspace_.get();
    context_.approvals = &gate_;
    write(".gitignore", "build/\n*.log\n");
    write("src/main.cpp", "int main() {\n  return compute();\n}\n");
    write("src/util/compute.cpp", "// helpers\nint compute() { return 42; }\n");
    write("build/generated.cpp", "int compute_generated();\n");
    write("debug.log", "compute failed\n");
    write(".git/config", "compute = true\n");
    write(".github/workflow.yml", "run: compute\n");
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(const std::string& relative, const std::string& content) {
    fs::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative, std::ios::binary) << content;
  }

  // The workspace reads its ignore files when built: rebuild it after writing them.
  void reload_workspace() {
    workspace_ = std::make_unique<Workspace>(root_);
    context_.workspace = workspace_.get();
  }

  Result<ToolOutput> search(const json& args) { return search_files_tool().run(args, context_); }
  Result<ToolOutput> list(const json& args) { return list_files_tool().run(args, context_); }

  fs::path root_;
  std::unique_ptr<Workspace> workspace_;
  CountingGate gate_;
  ToolContext context_;
};

TEST_F(SearchToolsTest, SearchFindsMatchesWithLineNumbersGroupedByFile) {
  auto output = search({{"path", "."}, {"regex", "compute\\(\\)"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_THAT(output->content, HasSubstr("Found 2 matches in 2 files"));
  EXPECT_THAT(output->content,
              HasSubstr("# src/main.cpp\n1 | int main() {\n2 |   return compute();\n3 | }\n"));
  EXPECT_THAT(
      output->content,
      HasSubstr("# src/util/compute.cpp\n1 | // helpers\n2 | int compute() { return 42; }"));
  EXPECT_TRUE(gate_.requests.empty());
}

TEST_F(SearchToolsTest, SearchRespectsGitignoreAndSkipsTheGitDirectory) {
  auto output = search({{"path", "."}, {"regex", "compute"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_THAT(output->content, Not(HasSubstr("build/generated.cpp")));
  EXPECT_THAT(output->content, Not(HasSubstr("debug.log")));
  EXPECT_THAT(output->content, Not(HasSubstr(".git/config")));
  EXPECT_THAT(output->content, HasSubstr(".github/workflow.yml"));
}

TEST_F(SearchToolsTest, SearchFiltersByFilePattern) {
  auto output = search({{"path", "."}, {"regex", "compute"}, {"file_pattern", "*.yml"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_THAT(output->content, HasSubstr(".github/workflow.yml"));
  EXPECT_THAT(output->content, Not(HasSubstr("src/main.cpp")));
}

TEST_F(SearchToolsTest, SearchWithNoMatchesIsNotAnError) {
  auto output = search({{"path", "src"}, {"regex", "no such text anywhere"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_EQ(output->content, "No matches found.");
}

TEST_F(SearchToolsTest, SearchWithABadRegexNamesTheRegexAndRipgrepsMessage) {
  auto output = search({{"path", "."}, {"regex", "(unclosed"}});
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_THAT(output.error().message, HasSubstr("'regex'"));
  EXPECT_THAT(output.error().message, HasSubstr("unclosed group"));
}

TEST_F(SearchToolsTest, SearchOfAMissingDirectoryIsNotFound) {
  auto output = search({{"path", "nowhere"}, {"regex", "x"}});
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.error().kind, ErrorKind::kNotFound);
  EXPECT_THAT(output.error().message, HasSubstr("nowhere"));
}

TEST_F(SearchToolsTest, SearchStopsAtTheMatchLimitAndSaysSo) {
  std::string many;
  for (size_t line = 0; line < kMaxSearchMatches + 50; ++line) many += "hit\n";
  write("many.txt", many);
  auto output = search({{"path", "many.txt"}, {"regex", "hit"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_THAT(output->content, HasSubstr("Found " + std::to_string(kMaxSearchMatches)));
  EXPECT_THAT(output->content, HasSubstr("only the first"));
  EXPECT_THAT(output->content, HasSubstr(std::to_string(kMaxSearchMatches) + " | hit"));
  EXPECT_THAT(output->content, Not(HasSubstr(std::to_string(kMaxSearchMatches + 1) + " | hit")));
}

TEST_F(SearchToolsTest, SearchOutsideTheWorkspaceAsksTheGate) {
  gate_.refuse = true;
  auto output = search({{"path", ".."}, {"regex", "x"}});
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.error().kind, ErrorKind::kPermissionDenied);
  ASSERT_EQ(gate_.requests.size(), 1u);
  EXPECT_EQ(gate_.requests[0].kind, ActionKind::kOutsideWorkspace);
}

TEST_F(SearchToolsTest, ListFilesRecursiveIsSortedAndRespectsGitignore) {
  auto output = list({{"path", "."}, {"recursive", true}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_EQ(output->content,
            ".github/\n"
            ".github/workflow.yml\n"
            ".gitignore\n"
            "src/\n"
            "src/main.cpp\n"
            "src/util/\n"
            "src/util/compute.cpp\n");
}

TEST_F(SearchToolsTest, ListFilesOfASubdirectoryShowsWorkspaceRelativePaths) {
  auto output = list({{"path", "src"}, {"recursive", "true"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_EQ(output->content, "src/main.cpp\nsrc/util/\nsrc/util/compute.cpp\n");
}

TEST_F(SearchToolsTest, ListFilesTopLevelMarksDirectories) {
  auto output = list({{"path", "."}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_EQ(output->content, ".github/\n.gitignore\nbuild/\ndebug.log\nsrc/\n");
}

TEST_F(SearchToolsTest, ListFilesStopsAtTheEntryLimitAndSaysSo) {
  for (size_t index = 0; index < kMaxListEntries + 10; ++index) {
    write("many/f" + std::to_string(index) + ".txt", "");
  }
  auto output = list({{"path", "many"}, {"recursive", true}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_THAT(output->content, HasSubstr("Showing " + std::to_string(kMaxListEntries) + " of " +
                                         std::to_string(kMaxListEntries + 10)));
}

TEST_F(SearchToolsTest, ListFilesOfAFileSuggestsReadFile) {
  auto output = list({{"path", "src/main.cpp"}});
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_THAT(output.error().message, HasSubstr("read_file"));
}

TEST_F(SearchToolsTest, ListFilesRejectsANonBooleanRecursive) {
  auto output = list({{"path", "."}, {"recursive", "sometimes"}});
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_THAT(output.error().message, HasSubstr("'recursive'"));
}

// ---- ignore files ----

class IgnoredFilesTest : public SearchToolsTest {
 protected:
  void SetUp() override {
    SearchToolsTest::SetUp();
    write(".joeyignore", "secrets/\n*.env\n");
    write("secrets/key.txt", "compute TOPSECRET\n");
    write("secrets/deep/more.txt", "compute TOPSECRET\n");
    write("src/prod.env", "compute=TOPSECRET\n");
    reload_workspace();
  }
};

TEST_F(IgnoredFilesTest, SearchNeverShowsIgnoredFiles) {
  auto output = search({{"path", "."}, {"regex", "compute"}});
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_THAT(output->content, HasSubstr("src/main.cpp"));
  EXPECT_THAT(output->content, Not(HasSubstr("TOPSECRET")));
  EXPECT_THAT(output->content, Not(HasSubstr("secrets")));
  EXPECT_THAT(output->content, Not(HasSubstr("prod.env")));
}

TEST_F(IgnoredFilesTest, SearchOrListOfAnIgnoredPathIsRefused) {
  for (const char* path : {"secrets", "secrets/key.txt", "src/prod.env"}) {
    auto searched = search({{"path", path}, {"regex", "compute"}});
    ASSERT_FALSE(searched.ok()) << path;
    EXPECT_EQ(searched.error().kind, ErrorKind::kPermissionDenied);
    EXPECT_THAT(searched.error().message, HasSubstr("is listed in .joeyignore"));
  }
  auto listed = list({{"path", "secrets/deep"}, {"recursive", true}});
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().kind, ErrorKind::kPermissionDenied);
}

TEST_F(IgnoredFilesTest, ListFilesHidesIgnoredEntriesRecursiveOrNot) {
  for (bool recursive : {false, true}) {
    for (const char* path : {".", "src"}) {
      auto output = list({{"path", path}, {"recursive", recursive}});
      ASSERT_TRUE(output.ok()) << output.error().message;
      EXPECT_THAT(output->content, Not(HasSubstr("secrets"))) << path << " " << recursive;
      EXPECT_THAT(output->content, Not(HasSubstr("prod.env"))) << path << " " << recursive;
      EXPECT_THAT(output->content, HasSubstr("src/")) << path << " " << recursive;
    }
  }
}

// ripgrep gives a later --ignore-file the last word, so a `!` in .rooignore makes it
// show a file .joeyignore hides; joey's own filter must still hide it.
TEST_F(IgnoredFilesTest, ANegationInTheOtherIgnoreFileDoesNotUnhide) {
  write(".rooignore", "!prod.env\n!secrets/\n");
  reload_workspace();
  auto searched = search({{"path", "."}, {"regex", "compute"}});
  ASSERT_TRUE(searched.ok());
  EXPECT_THAT(searched->content, Not(HasSubstr("TOPSECRET")));
  auto listed = list({{"path", "."}, {"recursive", true}});
  ASSERT_TRUE(listed.ok());
  EXPECT_THAT(listed->content, Not(HasSubstr("prod.env")));
  EXPECT_THAT(listed->content, Not(HasSubstr("secrets")));
}

}  // namespace
}  // namespace joey::agent
