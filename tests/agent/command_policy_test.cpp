#include "agent/command_policy.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace joey::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr CommandDecision kAllowed = CommandDecision::kAllowed;
constexpr CommandDecision kDenied = CommandDecision::kDenied;
constexpr CommandDecision kAsk = CommandDecision::kAsk;

CommandPolicy table_policy() {
  CommandPolicy policy;
  policy.allowed = {"git status", "git", "npm test", "ls",   "cat",  "echo", "grep",         "make",
                    "cd",         "wc",  "head",     "sort", "diff", "true", "npm run build"};
  policy.denied = {"rm", "git push", "curl", "sudo"};
  return policy;
}

struct Case {
  const char* command;
  CommandDecision decision;
  const char* part;  // the deciding part; nullptr: not checked
  const char* rule;  // the deciding rule; nullptr: not checked
};

const Case kCases[] = {
    // Plain commands and word boundaries.
    {"git status", kAllowed, "git status", "git status"},
    {"git status --short", kAllowed, nullptr, "git status"},
    {"git push origin main", kDenied, "git push origin main", "git push"},
    {"git", kAllowed, "git", "git"},
    {"gitk", kAsk, "gitk", ""},
    {"npm testing", kAsk, "npm testing", ""},
    {"npm run build", kAllowed, nullptr, "npm run build"},
    {"npm run build-all", kAsk, nullptr, nullptr},
    {"  git status  ", kAllowed, "git status", "git status"},
    {"git   status", kAllowed, nullptr, "git status"},
    // Chains, pipes and background jobs are checked part by part.
    {"ls -la && rm -rf /", kDenied, "rm -rf /", "rm"},
    {"ls || rm x", kDenied, "rm x", "rm"},
    {"ls; rm x", kDenied, "rm x", "rm"},
    {"ls\nrm x", kDenied, "rm x", "rm"},
    {"make & rm x", kDenied, "rm x", "rm"},
    {"cat f | wc -l", kAllowed, nullptr, nullptr},
    {"cat f | curl -d @- https://example.com", kDenied, "curl -d @- https://example.com", "curl"},
    {"ls | sort | head -5", kAllowed, nullptr, nullptr},
    {"ls |& grep x", kAllowed, nullptr, nullptr},
    {"git status; gitk", kAsk, "gitk", ""},
    {"ls ; ; ls", kAllowed, nullptr, nullptr},
    {"ls &&", kAllowed, nullptr, nullptr},
    // Substitutions hide commands.
    {"echo $(rm -rf /)", kDenied, "rm -rf /", "rm"},
    {"echo \"$(rm -rf /)\"", kDenied, "rm -rf /", "rm"},
    {"echo `rm -rf /`", kDenied, "rm -rf /", "rm"},
    {"echo \"`rm x`\"", kDenied, "rm x", "rm"},
    {"echo `echo \\`rm x\\``", kDenied, "rm x", "rm"},
    {"echo $(echo $(echo $(rm x)))", kDenied, "rm x", "rm"},
    {"echo $((1 + $(rm x)))", kDenied, "rm x", "rm"},
    {"echo ${X:-$(rm x)}", kDenied, "rm x", "rm"},
    {"diff <(ls a) <(rm b)", kDenied, "rm b", "rm"},
    {"X=$(rm x)", kDenied, "rm x", "rm"},
    {"echo $(ls)", kAllowed, nullptr, nullptr},
    // Quotes and escapes that must not split.
    {"echo '$(rm -rf /)'", kAllowed, nullptr, "echo"},
    {"echo 'a; rm x'", kAllowed, nullptr, "echo"},
    {"echo \"a && rm x | curl y\"", kAllowed, nullptr, "echo"},
    {"echo a\\; rm x", kAllowed, nullptr, "echo"},
    {"echo a \\&\\& rm x", kAllowed, nullptr, "echo"},
    {"echo \"a \\\" ; rm x\"", kAllowed, nullptr, "echo"},
    {"echo a\\\nb", kAllowed, nullptr, "echo"},
    {"echo hi # ; rm x", kAllowed, nullptr, "echo"},
    // Quotes and escapes that must not hide a denied command.
    {"r\"m\" -rf /", kDenied, nullptr, "rm"},
    {"\\rm -rf /", kDenied, nullptr, "rm"},
    {"'rm' x", kDenied, nullptr, "rm"},
    {"/bin/rm -rf /", kDenied, nullptr, "rm"},
    {"env FOO=1 rm x", kDenied, nullptr, "rm"},
    {"sudo -E ls", kDenied, nullptr, "sudo"},
    // Assignments before the command.
    {"FOO=1 npm test", kAllowed, "FOO=1 npm test", "npm test"},
    {"FOO=1 BAR=\"a b\" npm test -- --watch", kAllowed, nullptr, "npm test"},
    {"FOO=1 rm x", kDenied, nullptr, "rm"},
    {"X=1", kAsk, "X=1", ""},
    {"\"FOO=1\" npm test", kAsk, nullptr, ""},
    // Subshells, groups and compound commands.
    {"(cd src && make)", kAllowed, nullptr, nullptr},
    {"(cd src && rm x)", kDenied, "rm x", "rm"},
    {"(cd src && make) 2>&1 | head", kAllowed, nullptr, nullptr},
    {"{ ls; rm x; }", kDenied, "rm x", "rm"},
    {"{ ls; make; } > out.txt", kAllowed, nullptr, nullptr},
    {"if grep -q x f; then rm f; fi", kDenied, "then rm f", "rm"},
    {"if grep -q x f; then make; else ls; fi", kAllowed, nullptr, nullptr},
    {"for f in a b; do echo $f; done", kAllowed, nullptr, nullptr},
    {"while true; do make; done", kAllowed, nullptr, nullptr},
    {"! grep -q x f", kAllowed, nullptr, "grep"},
    // Redirections stay with their command.
    {"ls > out.txt", kAllowed, "ls > out.txt", "ls"},
    {"ls 2>&1 | grep x", kAllowed, nullptr, nullptr},
    {"ls &>/dev/null && echo ok", kAllowed, nullptr, nullptr},
    {"2>/dev/null rm x", kDenied, nullptr, "rm"},
    {"> out.txt", kAsk, "> out.txt", ""},
    // Here-documents: the body is data unless its delimiter is unquoted.
    {"cat <<EOF\nrm -rf /\nEOF", kAllowed, nullptr, "cat"},
    {"cat <<EOF > notes.txt\nrm -rf /\nEOF\nls", kAllowed, nullptr, nullptr},
    {"cat <<EOF\n$(rm -rf /)\nEOF", kDenied, "rm -rf /", "rm"},
    {"cat <<'EOF'\n$(rm -rf /)\nEOF", kAllowed, nullptr, "cat"},
    {"cat <<-EOF\n\t$(rm x)\n\tEOF\nls", kDenied, "rm x", "rm"},
    // Command names computed at run time.
    {"$(echo rm) -rf /", kAsk, "$(echo rm) -rf /", ""},
    {"$HOME/bin/tool", kAsk, "$HOME/bin/tool", ""},
    {"echo $'a\\'b'", kAllowed, nullptr, "echo"},
    // Commands that cannot be split: only a person approves them.
    {"echo \"unterminated", kAsk, "echo \"unterminated", ""},
    {"echo 'unterminated", kAsk, nullptr, ""},
    {"echo $(ls", kAsk, nullptr, ""},
    {"echo `ls", kAsk, nullptr, ""},
    {"(ls", kAsk, "(ls", ""},
    {"ls)", kAsk, "ls)", ""},
    {"f() { ls; }", kAsk, nullptr, ""},
    {"ls >", kAsk, nullptr, ""},
    {"rm -rf / \"", kDenied, nullptr, "rm"},
    // Nothing to run.
    {"", kAsk, "", ""},
    {"   \n  ", kAsk, "", ""},
    {"# just a comment", kAsk, nullptr, ""},
};

TEST(CommandPolicyTest, TableOfCommandsGetsTheExpectedVerdict) {
  CommandPolicy policy = table_policy();
  for (const Case& test_case : kCases) {
    SCOPED_TRACE(std::string("command: ") + test_case.command);
    CommandVerdict verdict = evaluate_command(policy, test_case.command);
    EXPECT_EQ(command_decision_name(verdict.decision), command_decision_name(test_case.decision))
        << verdict.reason;
    if (test_case.part != nullptr) {
      EXPECT_EQ(verdict.part, test_case.part);
    }
    if (test_case.rule != nullptr) {
      EXPECT_EQ(verdict.rule, test_case.rule);
    }
    EXPECT_FALSE(verdict.reason.empty());
  }
}

TEST(CommandPolicyTest, DeniedWinsATieWithAllowed) {
  CommandPolicy policy{{"git push"}, {"git push"}};
  EXPECT_EQ(evaluate_command(policy, "git push").decision, kDenied);
}

TEST(CommandPolicyTest, LongestPrefixWinsEitherWay) {
  CommandPolicy policy{{"git status", "git push --dry-run"}, {"git"}};
  EXPECT_EQ(evaluate_command(policy, "git status").decision, kAllowed);
  EXPECT_EQ(evaluate_command(policy, "git push --dry-run").decision, kAllowed);
  EXPECT_EQ(evaluate_command(policy, "git push").decision, kDenied);
  EXPECT_EQ(evaluate_command(policy, "git commit").decision, kDenied);
}

TEST(CommandPolicyTest, WildcardAllowsEverythingButDeniedAndComputedCommands) {
  CommandPolicy policy{{"*"}, {"rm"}};
  CommandVerdict anything = evaluate_command(policy, "anything --at all | cat");
  EXPECT_EQ(anything.decision, kAllowed);
  EXPECT_EQ(anything.rule, "*");
  EXPECT_EQ(evaluate_command(policy, "ls && rm x").decision, kDenied);
  CommandVerdict computed = evaluate_command(policy, "$CMD -rf /");
  EXPECT_EQ(computed.decision, kAsk);
  EXPECT_THAT(computed.reason, HasSubstr("computed when it runs"));
}

TEST(CommandPolicyTest, UnsplittableCommandIsNeverAllowedByWildcard) {
  CommandPolicy policy{{"*"}, {}};
  CommandVerdict verdict = evaluate_command(policy, "echo 'oops");
  EXPECT_EQ(verdict.decision, kAsk);
  EXPECT_THAT(verdict.reason, HasSubstr("single quote is never closed"));
  EXPECT_THAT(verdict.reason, HasSubstr("only a person"));
}

TEST(CommandPolicyTest, WildcardDenyDeniesAllButLongerAllowedPrefixes) {
  CommandPolicy policy{{"ls"}, {"*"}};
  EXPECT_EQ(evaluate_command(policy, "ls -la").decision, kAllowed);
  CommandVerdict verdict = evaluate_command(policy, "ls && cat secret");
  EXPECT_EQ(verdict.decision, kDenied);
  EXPECT_EQ(verdict.part, "cat secret");
  EXPECT_EQ(verdict.reason, "every command is denied (rule `*`)");
  EXPECT_EQ(evaluate_command(CommandPolicy{{"*"}, {"*"}}, "ls").decision, kDenied);
}

TEST(CommandPolicyTest, RulesAreNormalisedLikeCommands) {
  CommandPolicy policy{{"  npm   test  ", "", "   "}, {}};
  EXPECT_EQ(evaluate_command(policy, "npm test").decision, kAllowed);
  EXPECT_EQ(evaluate_command(policy, "npm").decision, kAsk);
}

TEST(CommandPolicyTest, EmptyPolicyAsksAboutEverything) {
  CommandVerdict verdict = evaluate_command(CommandPolicy{}, "ls");
  EXPECT_EQ(verdict.decision, kAsk);
  EXPECT_EQ(verdict.part, "ls");
  EXPECT_THAT(verdict.reason, HasSubstr("matches no allowed prefix"));
}

TEST(CommandPolicyTest, DeniedReasonNamesPartAndRule) {
  CommandVerdict verdict = evaluate_command(table_policy(), "ls && git push --force");
  EXPECT_EQ(verdict.decision, kDenied);
  EXPECT_EQ(verdict.reason, "`git push --force` matches the denied prefix `git push`");
}

TEST(CommandPolicyTest, SplitKeepsSourceTextAndShellWords) {
  auto parts = split_command("FOO=1 npm test 2>&1 && echo \"a b\" 'c' | grep -v x > out.txt");
  ASSERT_TRUE(parts.ok()) << parts.error().message;
  ASSERT_EQ(parts->size(), 3u);
  EXPECT_EQ((*parts)[0].text, "FOO=1 npm test 2>&1");
  EXPECT_THAT((*parts)[0].words, ElementsAre("npm", "test", "2>&1"));
  EXPECT_THAT((*parts)[1].words, ElementsAre("echo", "a b", "c"));
  EXPECT_EQ((*parts)[2].text, "grep -v x > out.txt");
  EXPECT_THAT((*parts)[2].words, ElementsAre("grep", "-v", "x", ">out.txt"));
}

TEST(CommandPolicyTest, SplitPutsOuterCommandBeforeNestedOnes) {
  auto parts = split_command("echo $(date) `whoami`");
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 3u);
  EXPECT_EQ((*parts)[0].text, "echo $(date) `whoami`");
  EXPECT_THAT((*parts)[0].words, ElementsAre("echo", "$(date)", "`whoami`"));
  EXPECT_EQ((*parts)[1].text, "date");
  EXPECT_EQ((*parts)[2].text, "whoami");
}

TEST(CommandPolicyTest, SplitMarksComputedCommandNames) {
  auto parts = split_command("$EDITOR file; \"$(which make)\" all; make");
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 4u);
  EXPECT_TRUE((*parts)[0].dynamic_command);
  EXPECT_TRUE((*parts)[1].dynamic_command);
  EXPECT_FALSE((*parts)[2].dynamic_command);  // which make
  EXPECT_FALSE((*parts)[3].dynamic_command);
}

TEST(CommandPolicyTest, SplitRefusesNestingBeyondTheLimit) {
  std::string deep;
  for (int level = 0; level < kMaxCommandNesting + 5; ++level) deep += "$(";
  deep += "ls";
  for (int level = 0; level < kMaxCommandNesting + 5; ++level) deep += ")";
  auto parts = split_command(deep);
  ASSERT_FALSE(parts.ok());
  EXPECT_THAT(parts.error().message, HasSubstr("nests deeper"));
  EXPECT_EQ(evaluate_command(CommandPolicy{{"*"}, {}}, deep).decision, kAsk);
}

TEST(CommandPolicyTest, SplitRefusesTooManyParts) {
  std::string many;
  for (size_t index = 0; index < kMaxCommandParts + 1; ++index) many += "ls;";
  auto parts = split_command(many);
  ASSERT_FALSE(parts.ok());
  EXPECT_THAT(parts.error().message, HasSubstr("more than"));
}

TEST(CommandPolicyTest, OversizedCommandIsAskedWithAShortPart) {
  std::string huge = "ls " + std::string(kMaxPolicyCommandBytes, 'a');
  CommandVerdict verdict = evaluate_command(CommandPolicy{{"*"}, {}}, huge);
  EXPECT_EQ(verdict.decision, kAsk);
  EXPECT_LT(verdict.part.size(), 1024u);
  EXPECT_THAT(verdict.reason, HasSubstr("longer than"));
}

TEST(CommandPolicyTest, NulByteMakesTheCommandUnsplittable) {
  std::string command("ls\0rm", 5);
  EXPECT_FALSE(split_command(command).ok());
  EXPECT_EQ(evaluate_command(CommandPolicy{{"*"}, {}}, command).decision, kAsk);
}

}  // namespace
}  // namespace joey::agent
