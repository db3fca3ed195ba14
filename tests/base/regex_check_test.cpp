#include "base/regex_check.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace joey {
namespace {

TEST(CompileRegexTest, OrdinaryPatternsCompileAndMatch) {
  for (const std::string pattern : {"\\.(md|mdx)$", "^src/.*_test\\.cpp$", "a{2,3}", "x{1000}",
                                    "(a)\\1", "[{}0-9]+", "\\{99999\\}", "\\\\{3}"}) {
    Result<std::regex> compiled = compile_regex(pattern);
    EXPECT_TRUE(compiled.ok()) << pattern << ": " << compiled.error().message;
  }
  Result<std::regex> docs = compile_regex("\\.(md|mdx)$");
  ASSERT_TRUE(docs.ok());
  EXPECT_TRUE(std::regex_search(std::string("docs/a.mdx"), docs.value()));
  EXPECT_FALSE(std::regex_search(std::string("src/a.cpp"), docs.value()));
  Result<std::regex> literal = compile_regex("\\{99999\\}");
  ASSERT_TRUE(literal.ok());
  EXPECT_TRUE(std::regex_search(std::string("x{99999}"), literal.value()));
}

TEST(CompileRegexTest, HugeCountsAndBackReferencesAreRefusedBeforeCompiling) {
  // Each of these made libstdc++ overflow a long (undefined behaviour) or build millions of
  // states; the first is the shape a fuzz run found in a mode's fileRegex.
  for (const std::string pattern :
       {"a{4444444444444444444}", "a{1001}", "a{2,99999999999999999999}",
        "(a)\\4444444444444444444", "[\\99999999999999999999]", "a{1,1001}"}) {
    Result<std::regex> compiled = compile_regex(pattern);
    ASSERT_FALSE(compiled.ok()) << pattern;
    EXPECT_EQ(compiled.error().kind, ErrorKind::kInvalidArgument);
    EXPECT_EQ(compiled.error().message, "a repetition count or back-reference above 1000");
  }
}

TEST(CompileRegexTest, SyntaxErrorsComeBackAsErrors) {
  for (const std::string pattern : {"(unclosed", "[z-a]", "a{,}", "\\"}) {
    Result<std::regex> compiled = compile_regex(pattern);
    ASSERT_FALSE(compiled.ok()) << pattern;
    EXPECT_EQ(compiled.error().kind, ErrorKind::kInvalidArgument);
    EXPECT_FALSE(compiled.error().message.empty());
  }
}

}  // namespace
}  // namespace joey
