#include "client/terminal.h"
#include "support/scoped_env.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <optional>
#include <string>

namespace joey::client {
namespace {

using joey::testing::ScopedEnv;

std::string read_all(std::FILE* file) {
  std::rewind(file);
  std::string text;
  char buffer[4096];
  size_t count;
  while ((count = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, count);
  return text;
}

TEST(ColourEnabledTest, JoeyColorForcesColourOnAndOff) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  {
    ScopedEnv force("JOEY_COLOR", "always");
    ScopedEnv no_color("NO_COLOR", "1");
    EXPECT_TRUE(colour_enabled(fileno(file)));
  }
  {
    ScopedEnv force("JOEY_COLOR", "never");
    EXPECT_FALSE(colour_enabled(fileno(file)));
  }
  std::fclose(file);
}

TEST(ColourEnabledTest, NotATerminalMeansNoColour) {
  ScopedEnv force("JOEY_COLOR", nullptr);
  ScopedEnv term("TERM", "xterm-256color");
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  EXPECT_FALSE(colour_enabled(fileno(file)));
  std::fclose(file);
}

TEST(StyleTest, WrapsTextInAnSgrAndAReset) {
  EXPECT_EQ(style("ok", Style::kGreen, true), "\033[32mok\033[0m");
  EXPECT_EQ(style("x", Style::kBold, true), "\033[1mx\033[0m");
  EXPECT_EQ(style("x", Style::kRed, false), "x");
}

TEST(SanitizeForTerminalTest, KeepsPrintableUtf8AndNeutralisesControls) {
  EXPECT_EQ(sanitize_for_terminal("héllo\tworld\n日本"), "héllo\tworld\n日本");
  EXPECT_EQ(sanitize_for_terminal("a\033[31mb"), "a\xEF\xBF\xBD[31mb");
  EXPECT_EQ(sanitize_for_terminal("a\r\nb"), "a\nb");
  EXPECT_EQ(sanitize_for_terminal(std::string("n\0l", 3)), "n\xEF\xBF\xBDl");
}

TEST(SanitizeForTerminalTest, StreamingMatchesOneShotAcrossSplitSequences) {
  std::string text = "\xF0\x9F\x98\x80|\xE6\x97\xA5|\xC2\x9B|\xFF";
  std::string whole = sanitize_for_terminal(text);
  for (size_t split = 0; split <= text.size(); ++split) {
    TerminalSanitizer sanitizer;
    std::string out = sanitizer.feed(text.substr(0, split));
    out += sanitizer.feed(text.substr(split));
    out += sanitizer.finish();
    EXPECT_EQ(out, whole) << "split=" << split;
  }
}

TEST(SpinnerTest, StopErasesTheLine) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  {
    Spinner spinner(file, true);
    spinner.start("Thinking");
    spinner.stop();
    spinner.stop();  // idempotent: writes nothing more
  }
  std::string out = read_all(file);
  ASSERT_GE(out.size(), 4u);
  EXPECT_EQ(out.substr(out.size() - 4), "\r\033[K");
  EXPECT_NE(out.find("Thinking ("), std::string::npos);
  EXPECT_EQ(out.find("\r\033[K\r\033[K"), std::string::npos);
  std::fclose(file);
}

TEST(SpinnerTest, RestartAndDestructorLeaveTheLineClear) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  {
    Spinner spinner(file, true);
    spinner.start("one");
    spinner.start("two\033[2J");
  }
  std::string out = read_all(file);
  EXPECT_EQ(out.substr(out.size() - 4), "\r\033[K");
  EXPECT_NE(out.find("two\xEF\xBF\xBD[2J"), std::string::npos);
  std::fclose(file);
}

TEST(SpinnerTest, DisabledSpinnerWritesNothing) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  {
    Spinner spinner(file, false);
    spinner.start("Thinking");
    spinner.stop();
  }
  EXPECT_EQ(read_all(file), "");
  std::fclose(file);
}

TEST(SpinnerTest, StopWithoutStartWritesNothing) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  {
    Spinner spinner(file, true);
    spinner.stop();
  }
  EXPECT_EQ(read_all(file), "");
  std::fclose(file);
}

}  // namespace
}  // namespace joey::client
