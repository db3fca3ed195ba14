#include "agent/ignore_rules.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "base/subprocess.h"
#include "support/temp_dir.h"

namespace joey::agent {
namespace {

namespace fs = std::filesystem;

struct IgnoreCase {
  const char* patterns;  // the ignore file's text
  const char* path;      // relative to the root
  bool is_directory;
  bool ignored;  // what `git check-ignore` says (CheckedAgainstGit proves it)
};

std::ostream& operator<<(std::ostream& out, const IgnoreCase& c) {
  return out << "patterns=\"" << c.patterns << "\" path=\"" << c.path << "\""
             << (c.is_directory ? " (directory)" : "");
}

// One row per syntax feature (and its edges), each verified with git 2.39.
const IgnoreCase kCases[] = {
    // Comments, blank lines, escapes.
    {"#secret.txt\n", "#secret.txt", false, false},
    {"\\#secret.txt\n", "#secret.txt", false, true},
    {"\n\n   \n# note\nfoo\n", "foo", false, true},
    {"\\!important\n", "!important", false, true},
    {"\\!important\n", "important", false, false},
    {"foo.txt\r\n", "foo.txt", false, true},
    {"\xEF\xBB\xBF"
     "bom.txt\n",
     "bom.txt", false, true},
    // Trailing spaces are dropped unless escaped.
    {"trail.txt   \n", "trail.txt", false, true},
    {"space\\ \n", "space ", false, true},
    {"space\\ \n", "space", false, false},
    // A name without '/' matches at any depth, files and directories.
    {"secret.txt\n", "secret.txt", false, true},
    {"secret.txt\n", "a/b/secret.txt", false, true},
    {"secret\n", "a/secret/inner.txt", false, true},
    {"secret.txt\n", "secret.txt.bak", false, false},
    // Negation, last match wins.
    {"*.log\n!keep.log\n", "a.log", false, true},
    {"*.log\n!keep.log\n", "keep.log", false, false},
    {"*.log\n!keep.log\n", "dir/keep.log", false, false},
    {"!keep.log\n*.log\n", "keep.log", false, true},
    // A negation cannot re-include a file whose directory is ignored...
    {"private/\n!private/keep.txt\n", "private/keep.txt", false, true},
    // ...but can when only the directory's contents are.
    {"private/*\n!private/keep.txt\n", "private/keep.txt", false, false},
    {"private/*\n!private/keep.txt\n", "private/other.txt", false, true},
    // Trailing '/': directories only, and everything under them.
    {"build/\n", "build", true, true},
    {"build/\n", "build", false, false},
    {"build/\n", "build/out/x.o", false, true},
    {"build/\n", "src/build/x.o", false, true},
    {"doc/frotz/\n", "doc/frotz", true, true},
    {"doc/frotz/\n", "a/doc/frotz", true, false},
    // A leading or middle '/' anchors to the root.
    {"/root.txt\n", "root.txt", false, true},
    {"/root.txt\n", "sub/root.txt", false, false},
    {"docs/*.md\n", "docs/a.md", false, true},
    {"docs/*.md\n", "x/docs/a.md", false, false},
    {"docs/*.md\n", "docs/sub/a.md", false, false},
    // '*' and '?' stay within one component; '*' matches a leading dot.
    {"*.env\n", ".env", false, true},
    {"*.env\n", "config/prod.env", false, true},
    {"src/*.tmp\n", "src/a/b.tmp", false, false},
    {"file?.txt\n", "file1.txt", false, true},
    {"file?.txt\n", "file12.txt", false, false},
    {"file?.txt\n", "file.txt", false, false},
    {"a?b\n", "a/b", false, false},
    // Bracket classes.
    {"file[0-9].txt\n", "file5.txt", false, true},
    {"file[0-9].txt\n", "filea.txt", false, false},
    {"[!a]*.c\n", "b.c", false, true},
    {"[!a]*.c\n", "a.c", false, false},
    {"[^a]*.c\n", "a.c", false, false},
    {"[[:digit:]]x\n", "1x", false, true},
    {"[[:upper:]]x\n", "ax", false, false},
    {"[]]x\n", "]x", false, true},
    {"[a-]x\n", "-x", false, true},
    {"[abc\n", "[abc", false, false},
    // '**' leading, trailing, in the middle, and inside a component.
    {"**/secret\n", "secret", false, true},
    {"**/secret\n", "a/b/secret", false, true},
    {"**/secret\n", "a/secret/b", false, true},
    {"**/a/b\n", "x/y/a/b", false, true},
    {"logs/**\n", "logs/a", false, true},
    {"logs/**\n", "logs/a/b", false, true},
    {"logs/**\n", "logs", true, false},
    {"a/**/b\n", "a/b", false, true},
    {"a/**/b\n", "a/x/b", false, true},
    {"a/**/b\n", "a/x/y/b", false, true},
    {"a/**/b\n", "x/a/b", false, false},
    {"a**b\n", "axxb", false, true},
    {"x/a**b\n", "x/ay/zb", false, false},
    // A lone '/' or '!' matches nothing.
    {"/\n", "anything", false, false},
    {"!\n", "anything", false, false},
};

class IgnoreTableTest : public ::testing::TestWithParam<IgnoreCase> {};

TEST_P(IgnoreTableTest, MatchesWhatGitSays) {
  const IgnoreCase& c = GetParam();
  IgnoreRules rules = IgnoreRules::parse(c.patterns);
  EXPECT_EQ(rules.ignored(c.path, c.is_directory), c.ignored);
}

INSTANTIATE_TEST_SUITE_P(GitignoreSyntax, IgnoreTableTest, ::testing::ValuesIn(kCases));

fs::path make_temp_dir() { return joey::testing::make_temp_dir("joey-ignore-test"); }

void write(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

Result<ProcessResult> git(const fs::path& dir, const fs::path& home,
                          std::vector<std::string> arguments,
                          std::optional<std::string> input = std::nullopt) {
  ProcessOptions options;
  options.stdin_data = std::move(input);
  options.argv = {"git", "-c", "core.excludesFile=", "-C", dir.string()};
  options.argv.insert(options.argv.end(), arguments.begin(), arguments.end());
  options.env = {{"HOME", home.string()}, {"GIT_CONFIG_NOSYSTEM", "1"}};
  options.timeout = std::chrono::seconds(30);
  return run_process(options);
}

// Proves the table above: every row is what git itself decides. Each row gets its
// own directory with its own .gitignore (git anchors a pattern to the directory of
// its file, so this is the same as a root .gitignore), and one `git check-ignore -v`
// answers for all rows: a row is ignored when its last matching pattern is not `!`.
TEST(IgnoreRulesTest, TableIsCheckedAgainstGit) {
  fs::path scratch = make_temp_dir();
  fs::path repo = scratch / "repo";
  fs::create_directories(repo);
  auto initialised = git(repo, scratch, {"init", "-q"});
  if (!initialised.ok() || initialised->exit_code != 0) {
    fs::remove_all(scratch);
    GTEST_SKIP() << "git is not installed";
  }
  std::string paths;  // NUL-separated, for --stdin -z
  int index = 0;
  for (const IgnoreCase& c : kCases) {
    std::string dir = std::to_string(index++);
    write(repo / dir / ".gitignore", c.patterns);
    if (c.is_directory) {
      fs::create_directories(repo / dir / c.path);
    } else {
      write(repo / dir / c.path, "x");
    }
    paths += dir + "/" + c.path + '\0';
  }
  auto checked =
      git(repo, scratch, {"check-ignore", "--no-index", "-v", "-n", "-z", "--stdin"}, paths);
  ASSERT_TRUE(checked.ok());
  ASSERT_NE(checked->exit_code, 128) << checked->stderr_text;
  // -z -v: source, line, pattern and path, each ended by NUL, one record per path.
  std::vector<std::string> fields;
  std::string_view out = checked->stdout_text;
  for (size_t start = 0, end; (end = out.find('\0', start)) != std::string_view::npos;
       start = end + 1) {
    fields.emplace_back(out.substr(start, end - start));
  }
  ASSERT_EQ(fields.size(), 4 * std::size(kCases)) << checked->stdout_text;
  for (size_t row = 0; row < std::size(kCases); ++row) {
    const std::string& pattern = fields[4 * row + 2];
    bool git_ignores = !pattern.empty() && pattern.front() != '!';
    EXPECT_EQ(git_ignores, kCases[row].ignored)
        << kCases[row] << " (git matched \"" << pattern << "\")";
  }
  fs::remove_all(scratch);
}

TEST(IgnoreRulesTest, EmptyTextHasNoRules) {
  EXPECT_TRUE(IgnoreRules::parse("").empty());
  EXPECT_TRUE(IgnoreRules::parse("# only a comment\n\n   \n").empty());
  EXPECT_FALSE(IgnoreRules::parse("x\n").empty());
  EXPECT_FALSE(IgnoreRules().ignored("anything", false));
}

TEST(IgnoreRulesTest, PathSpellingDoesNotMatter) {
  IgnoreRules rules = IgnoreRules::parse("/secret/\n");
  EXPECT_TRUE(rules.ignored("./secret/a.txt", false));
  EXPECT_TRUE(rules.ignored("secret//a.txt", false));
  EXPECT_TRUE(rules.ignored("other/../secret/a.txt", false));
  EXPECT_TRUE(rules.ignored("secret/", false));  // a trailing '/' says directory
  EXPECT_FALSE(rules.ignored(".", true));
  EXPECT_FALSE(rules.ignored("", true));
  EXPECT_FALSE(rules.ignored("../secret/a.txt", false));  // outside the root
}

TEST(IgnoreRulesTest, EitherFileIgnoresAndNeitherUndoesTheOther) {
  fs::path root = make_temp_dir();
  write(root / ".joeyignore", "*.key\n!public.pem\n");
  write(root / ".rooignore", "*.pem\n");
  auto rules = IgnoreRules::load(root);
  ASSERT_TRUE(rules.ok()) << rules.error().message;
  EXPECT_EQ(rules->ignored_by("a.key", false), ".joeyignore");
  EXPECT_EQ(rules->ignored_by("public.pem", false), ".rooignore");
  EXPECT_EQ(rules->ignored_by("readme.md", false), "");
  EXPECT_EQ(rules->files().size(), 2u);
  fs::remove_all(root);
}

TEST(IgnoreRulesTest, LoadWithoutIgnoreFilesHasNoRules) {
  fs::path root = make_temp_dir();
  auto rules = IgnoreRules::load(root);
  ASSERT_TRUE(rules.ok());
  EXPECT_TRUE(rules->empty());
  EXPECT_TRUE(rules->files().empty());
  fs::remove_all(root);
}

TEST(IgnoreRulesTest, LoadRefusesAnOverlongPatternNamingTheFile) {
  fs::path root = make_temp_dir();
  write(root / ".rooignore", std::string(kMaxIgnorePatternBytes + 1, 'a') + "\n");
  auto rules = IgnoreRules::load(root);
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_NE(rules.error().message.find(".rooignore"), std::string::npos);
  fs::remove_all(root);
}

TEST(IgnoreRulesTest, LoadRefusesADirectoryNamedLikeAnIgnoreFile) {
  fs::path root = make_temp_dir();
  fs::create_directories(root / ".joeyignore");
  auto rules = IgnoreRules::load(root);
  ASSERT_FALSE(rules.ok());
  EXPECT_NE(rules.error().message.find(".joeyignore"), std::string::npos);
  fs::remove_all(root);
}

TEST(IgnoreRulesTest, BadPatternsNeverCrashAndMatchNothing) {
  for (const char* text : {"[", "[!", "[a-", "[[:bogus:]]", "\\", "***", "/**/", "a/**/**/",
                           "[[:", "[\\", "\n\n!\n/\n", "*\0x"}) {
    IgnoreRules rules = IgnoreRules::parse(text);
    (void)rules.ignored("a/b/c", false);
    (void)rules.ignored("[", false);
  }
  EXPECT_FALSE(IgnoreRules::parse("[[:bogus:]]\n").ignored("b", false));
  EXPECT_FALSE(IgnoreRules::parse("abc\\\n").ignored("abc", false));
}

TEST(IgnoreRulesTest, ManyStarsStayFast) {
  // Backtracking without git's early exits would take exponential time here.
  std::string pattern;
  for (int index = 0; index < 100; ++index) pattern += "*a";
  IgnoreRules rules = IgnoreRules::parse(pattern + "b\n**/" + pattern + "/**/b\n");
  EXPECT_FALSE(rules.ignored(std::string(300, 'a'), false));
  std::string deep;
  for (int index = 0; index < 40; ++index) deep += "aaaa/";
  EXPECT_FALSE(rules.ignored(deep + "c", false));
}

TEST(WildmatchTest, PathnameModeKeepsStarsInOneComponent) {
  EXPECT_TRUE(wildmatch("a*", "ab/c", /*pathname=*/false));
  EXPECT_FALSE(wildmatch("a*", "ab/c", /*pathname=*/true));
  EXPECT_TRUE(wildmatch("a/**", "a/b/c", /*pathname=*/true));
  EXPECT_TRUE(wildmatch("*/c", "ab/c", /*pathname=*/true));
}

TEST(ProtectedPathTest, NamesJoeysOwnConfiguration) {
  for (const char* path :
       {".joeyignore", ".rooignore", ".roomodes", "AGENTS.md", ".joey", ".joey/config.toml",
        ".joey/rules/a.md", "./AGENTS.md", ".joey//modes.yaml", "x/../AGENTS.md"}) {
    EXPECT_TRUE(is_protected_path(path)) << path;
  }
  for (const char* path : {"agents.md", "docs/AGENTS.md", "src/.joey/x", ".joeyignore.bak",
                           ".joey-notes", "README.md", "", ".", "../AGENTS.md"}) {
    EXPECT_FALSE(is_protected_path(path)) << path;
  }
}

}  // namespace
}  // namespace joey::agent
