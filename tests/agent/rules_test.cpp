#include "agent/rules.h"

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/atomic_file.h"
#include "support/temp_dir.h"

namespace joey::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

fs::path make_temp_dir() { return joey::testing::make_temp_dir("joey-rules-test"); }

std::vector<std::string> names(const LoadedRules& rules) {
  std::vector<std::string> result;
  for (const RulesFile& file : rules.files) result.push_back(file.display_name);
  return result;
}

class RulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = make_temp_dir();
    workspace_ = make_temp_dir();
    outside_ = make_temp_dir();
  }
  void TearDown() override {
    fs::remove_all(home_);
    fs::remove_all(workspace_);
    fs::remove_all(outside_);
  }
  void write(const fs::path& path, std::string_view text) {
    ASSERT_TRUE(write_file_atomically(path, text).ok());
  }
  LoadedRules load(std::string_view mode = "code", size_t max_bytes = kDefaultMaxRulesBytes) {
    Result<LoadedRules> rules = load_rules(home_, workspace_, mode, max_bytes);
    EXPECT_TRUE(rules.ok()) << rules.error().message;
    return rules.ok() ? *rules : LoadedRules{};
  }

  fs::path home_;
  fs::path workspace_;
  fs::path outside_;
};

TEST_F(RulesTest, NoRulesFilesGiveAnEmptySection) {
  LoadedRules rules = load();
  EXPECT_THAT(rules.files, IsEmpty());
  EXPECT_EQ(rules.total_bytes, 0u);
  EXPECT_FALSE(rules.truncated);
  EXPECT_EQ(rules.prompt_section, "");
}

TEST_F(RulesTest, FilesComeInTheDocumentedOrder) {
  // Written in scrambled order; each directory also holds a file that is not Markdown.
  write(workspace_ / ".roorules-code", "roorules code\n");
  write(workspace_ / ".roo/rules-code/a.md", "roo code a\n");
  write(workspace_ / ".joey/rules-code/b.md", "joey code b\n");
  write(workspace_ / ".joey/rules-code/a.md", "joey code a\n");
  write(workspace_ / ".joey/rules-debug/a.md", "another mode\n");
  write(workspace_ / ".roo/rules/z.md", "roo z\n");
  write(workspace_ / ".joey/rules/2-style.md", "joey 2\n");
  write(workspace_ / ".joey/rules/10-tests.md", "joey 10\n");
  write(workspace_ / ".joey/rules/notes.txt", "not markdown\n");
  write(workspace_ / ".roorules", "roorules\n");
  write(workspace_ / "AGENTS.md", "agents\n");
  write(home_ / "rules/b.md", "global b\n");
  write(home_ / "rules/a.md", "global a\n");
  LoadedRules rules = load("code");
  EXPECT_THAT(names(rules),
              ElementsAre("$JOEY_HOME/rules/a.md", "$JOEY_HOME/rules/b.md", "AGENTS.md",
                          ".roorules", ".joey/rules/10-tests.md", ".joey/rules/2-style.md",
                          ".roo/rules/z.md", ".joey/rules-code/a.md", ".joey/rules-code/b.md",
                          ".roo/rules-code/a.md", ".roorules-code"));
  EXPECT_EQ(rules.files[0].path, home_ / "rules/a.md");
  EXPECT_FALSE(rules.truncated);
  EXPECT_THAT(rules.notes, IsEmpty());
  EXPECT_THAT(rules.prompt_section, HasSubstr("## AGENTS.md\nagents\n\n## .roorules\nroorules\n"));
  EXPECT_THAT(rules.prompt_section, Not(HasSubstr("another mode")));
  EXPECT_THAT(rules.prompt_section, Not(HasSubstr("not markdown")));
  EXPECT_TRUE(rules.prompt_section.starts_with("# Rules\n"));
  size_t total = 0;
  for (const RulesFile& file : rules.files) total += file.content.size();
  EXPECT_EQ(rules.total_bytes, total);
}

TEST_F(RulesTest, OtherModesGetTheirOwnModeRules) {
  write(workspace_ / ".joey/rules-code/a.md", "code only\n");
  write(workspace_ / ".roo/rules-architect/a.md", "architect only\n");
  EXPECT_THAT(names(load("architect")), ElementsAre(".roo/rules-architect/a.md"));
}

TEST_F(RulesTest, BoundCutsTheCrossingFileAndDropsTheRest) {
  write(workspace_ / "AGENTS.md", std::string(60, 'a'));
  write(workspace_ / ".joey/rules/1.md", std::string(60, 'b'));
  write(workspace_ / ".joey/rules/2.md", "dropped\n");
  write(workspace_ / ".roorules-code", "dropped too\n");
  LoadedRules rules = load("code", 100);
  ASSERT_THAT(names(rules), ElementsAre("AGENTS.md", ".joey/rules/1.md"));
  EXPECT_EQ(rules.total_bytes, 100u);
  EXPECT_TRUE(rules.truncated);
  EXPECT_FALSE(rules.files[0].truncated);
  EXPECT_TRUE(rules.files[1].truncated);
  EXPECT_EQ(rules.files[1].content, std::string(40, 'b'));
  EXPECT_THAT(rules.notes, ElementsAre("rules file .joey/rules/1.md cut to 40 of 60 bytes: rules "
                                       "are limited to 100 bytes",
                                       "rules files dropped by the 100 bytes limit: "
                                       ".joey/rules/2.md, .roorules-code"));
  EXPECT_THAT(rules.prompt_section, HasSubstr("(cut here: the rules are limited to 100 bytes)"));
  EXPECT_THAT(rules.prompt_section,
              HasSubstr("left out by the size limit: .joey/rules/2.md .roorules-code"));
  EXPECT_THAT(rules.prompt_section, Not(HasSubstr("dropped")));
}

TEST_F(RulesTest, CutNeverSplitsAUtf8Character) {
  write(workspace_ / "AGENTS.md", "ab\xC3\xA9\xC3\xA9");  // "abéé": 6 bytes
  LoadedRules rules = load("code", 5);
  ASSERT_EQ(rules.files.size(), 1u);
  EXPECT_EQ(rules.files[0].content, "ab\xC3\xA9");
  EXPECT_TRUE(rules.truncated);
}

TEST_F(RulesTest, FileThatFillsTheBoundExactlyIsWholeAndTheNextIsDropped) {
  write(workspace_ / "AGENTS.md", std::string(10, 'a'));
  write(workspace_ / ".roorules", "more");
  LoadedRules rules = load("code", 10);
  ASSERT_THAT(names(rules), ElementsAre("AGENTS.md"));
  EXPECT_FALSE(rules.files[0].truncated);
  EXPECT_TRUE(rules.truncated);
  EXPECT_THAT(rules.notes, ElementsAre(HasSubstr("dropped by the 10 bytes limit: .roorules")));
}

TEST_F(RulesTest, BinaryAndInvalidUtf8FilesAreSkippedWithANote) {
  write(workspace_ / ".joey/rules/a.md", std::string("PNG\0\x01\x02", 6));
  write(workspace_ / ".joey/rules/b.md", "caf\xE9\n");  // Latin-1, not UTF-8
  write(workspace_ / ".joey/rules/c.md", "fine\n");
  LoadedRules rules = load();
  EXPECT_THAT(names(rules), ElementsAre(".joey/rules/c.md"));
  EXPECT_THAT(rules.notes,
              ElementsAre("skipped rules file .joey/rules/a.md: binary or not valid UTF-8",
                          "skipped rules file .joey/rules/b.md: binary or not valid UTF-8"));
  EXPECT_THAT(rules.prompt_section, Not(HasSubstr("PNG")));
}

TEST_F(RulesTest, SymlinkOutOfTheWorkspaceIsNeverRead) {
  write(outside_ / "secret.md", "the secret\n");
  fs::create_symlink(outside_ / "secret.md", workspace_ / "AGENTS.md");
  fs::create_directories(workspace_ / ".joey");
  fs::create_directory_symlink(outside_, workspace_ / ".joey/rules");
  LoadedRules rules = load();
  EXPECT_THAT(rules.files, IsEmpty());
  EXPECT_THAT(rules.notes, ElementsAre(HasSubstr("AGENTS.md: it resolves outside"),
                                       HasSubstr(".joey/rules/secret.md: it resolves outside")));
  EXPECT_THAT(rules.prompt_section, Not(HasSubstr("the secret")));
}

TEST_F(RulesTest, SymlinkInsideTheWorkspaceIsFollowed) {
  write(workspace_ / "docs/agents.md", "shared rules\n");
  fs::create_symlink(workspace_ / "docs/agents.md", workspace_ / "AGENTS.md");
  EXPECT_THAT(load().prompt_section, HasSubstr("## AGENTS.md\nshared rules\n"));
}

TEST_F(RulesTest, EmptyFilesAndByteOrderMarksLeaveNoTrace) {
  write(workspace_ / "AGENTS.md", "");
  write(workspace_ / ".roorules", "\xEF\xBB\xBFuse tabs\n");
  LoadedRules rules = load();
  EXPECT_THAT(names(rules), ElementsAre(".roorules"));
  EXPECT_EQ(rules.files[0].content, "use tabs\n");
  EXPECT_THAT(rules.notes, IsEmpty());
}

TEST_F(RulesTest, DirectoryNamedLikeARulesFileIsSkippedWithANote) {
  fs::create_directories(workspace_ / "AGENTS.md");
  LoadedRules rules = load();
  EXPECT_THAT(rules.files, IsEmpty());
  EXPECT_THAT(rules.notes, ElementsAre("skipped rules file AGENTS.md: not a regular file"));
}

TEST_F(RulesTest, ModeSlugThatCouldEscapeIsRefused) {
  Result<LoadedRules> rules = load_rules(home_, workspace_, "../../etc");
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.error().kind, ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace joey::agent
