#include "client/markdown_renderer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

namespace joey::client {
namespace {

const std::string kRule = "\033[2m" + [] {
  std::string rule;
  for (int index = 0; index < 40; ++index) rule += "─";
  return rule;
}() + "\033[0m";
const std::string kReplacement = "\xEF\xBF\xBD";

std::string render(std::string_view text, bool colour) {
  MarkdownRenderer renderer(colour);
  std::string out = renderer.feed(text);
  return out + renderer.finish();
}

std::string render_in_chunks(std::string_view text, bool colour, size_t chunk_size) {
  MarkdownRenderer renderer(colour);
  std::string out;
  for (size_t position = 0; position < text.size(); position += chunk_size) {
    out += renderer.feed(text.substr(position, chunk_size));
  }
  return out + renderer.finish();
}

std::string strip_joey_styles(const std::string& text) {
  static const std::regex sgr("\033\\[[0-9;]*m");
  return std::regex_replace(text, sgr, "");
}

// A document touching every construct, with awkward spots for chunk boundaries.
const std::string kDocument =
    "# Title\n"
    "## Sub *title*\n"
    "#### Small\n"
    "Some **bold**, *italic*, _under_, __strong__, ***both*** and `code` text.\n"
    "snake_case_name stays, a * b stays, 2*3 stays, **unclosed stays\n"
    "Escaped \\*stars\\* and `` tick ` inside ``.\n"
    "- first\n"
    "  * nested **item**\n"
    "+ plus\n"
    "1. one\n"
    "> quoted *text*\n"
    "---\n"
    "* * *\n"
    "```python\n"
    "def f(x):  # **not bold**\n"
    "    return x * 2\n"
    "```\n"
    "~~~\n"
    "# not a heading\n"
    "```\n"
    "~~~~\n"
    "é ü 日本 \xF0\x9F\x98\x80 end\n"
    "last line without newline **bold**";

TEST(MarkdownRendererTest, PlainModeReturnsTheInputByteForByte) {
  EXPECT_EQ(render(kDocument, false), kDocument);
}

TEST(MarkdownRendererTest, PlainModeEmitsTextAsSoonAsItArrives) {
  MarkdownRenderer renderer(false);
  EXPECT_EQ(renderer.feed("Hello **wor"), "Hello **wor");
  EXPECT_EQ(renderer.feed("ld"), "ld");
  EXPECT_EQ(renderer.finish(), "");
}

TEST(MarkdownRendererTest, PlainModeHoldsOnlyAnIncompleteUtf8Sequence) {
  MarkdownRenderer renderer(false);
  EXPECT_EQ(renderer.feed("caf\xC3"), "caf");
  EXPECT_EQ(renderer.feed("\xA9!"), "\xC3\xA9!");
}

TEST(MarkdownRendererTest, PlainModeNeutralisesEscapeAndControlCharacters) {
  const std::string controls(
      "a\033[2Jb\x07"
      "c\x00"
      "d\x7f",
      11);
  EXPECT_EQ(render(controls, false),
            "a" + kReplacement + "[2Jb" + kReplacement + "c" + kReplacement + "d" + kReplacement);
  EXPECT_EQ(render("keep\ttab\r\nand newline\n", false), "keep\ttab\nand newline\n");
  EXPECT_EQ(render("over\rwrite", false), "overwrite");
  // C1 CSI (U+009B) would start an escape sequence on some terminals.
  EXPECT_EQ(render("x\xC2\x9B"
                   "31my",
                   false),
            "x" + kReplacement + "31my");
}

TEST(MarkdownRendererTest, InvalidUtf8BecomesReplacementCharacters) {
  EXPECT_EQ(render("a\xFF"
                   "b\xC3",
                   false),
            "a" + kReplacement + "b" + kReplacement);
  EXPECT_EQ(render("\xED\xA0\x80", false), kReplacement + kReplacement + kReplacement);
  EXPECT_EQ(render("\xE6\x97", true), kReplacement + kReplacement);
}

TEST(MarkdownRendererTest, HeadingsAreBoldWithoutHashes) {
  EXPECT_EQ(render("# Title\n", true), "\033[1;35mTitle\033[0m\n");
  EXPECT_EQ(render("## Sub\n", true), "\033[1;34mSub\033[0m\n");
  EXPECT_EQ(render("### Three\n", true), "\033[1mThree\033[0m\n");
  EXPECT_EQ(render("#hashtag and ####### seven\n", true), "#hashtag and ####### seven\n");
  EXPECT_EQ(render("####### seven\n", true), "####### seven\n");
}

TEST(MarkdownRendererTest, InlineStylesInsideAHeadingKeepTheHeadingStyle) {
  EXPECT_EQ(render("# A *b* c\n", true),
            "\033[1;35mA \033[0m\033[1;35;3mb\033[0m\033[1;35m c\033[0m\n");
}

TEST(MarkdownRendererTest, BulletsBecomeDotsAndKeepIndentation) {
  EXPECT_EQ(render("- first\n  * nested\n+ plus\n", true), "• first\n  • nested\n• plus\n");
}

TEST(MarkdownRendererTest, NumberedListsAreKept) {
  EXPECT_EQ(render("1. one\n10) ten\n", true), "1. one\n10) ten\n");
}

TEST(MarkdownRendererTest, BlockquotesAreDim) {
  EXPECT_EQ(render("> quoted\n", true), "\033[2m│ quoted\033[0m\n");
}

TEST(MarkdownRendererTest, HorizontalRulesBecomeADimRule) {
  EXPECT_EQ(render("---\n***\n_ _ _\n- - -\n", true),
            kRule + "\n" + kRule + "\n" + kRule + "\n" + kRule + "\n");
  EXPECT_EQ(render("--\n", true), "--\n");
}

TEST(MarkdownRendererTest, FencedCodeIsColouredAndNeverInterpreted) {
  EXPECT_EQ(render("```python\n# x = **1**\n```\n", true),
            "\033[2m───── python\033[0m\n\033[36m# x = **1**\033[0m\n" + kRule + "\n");
  EXPECT_EQ(
      render("~~~\n- a\n```\n~~~\nafter *it*\n", true),
      kRule + "\n\033[36m- a\033[0m\n\033[36m```\033[0m\n" + kRule + "\nafter \033[3mit\033[0m\n");
}

TEST(MarkdownRendererTest, ClosingFenceMustBeAsLongAsTheOpeningOne) {
  EXPECT_EQ(render("````\n```\n````\n", true), kRule + "\n\033[36m```\033[0m\n" + kRule + "\n");
}

TEST(MarkdownRendererTest, BacktickFenceWithBacktickInInfoIsNotAFence) {
  EXPECT_EQ(render("``` a`b\n", true), "``` a`b\n");
}

TEST(MarkdownRendererTest, InlineCodeBoldAndItalic) {
  EXPECT_EQ(render("a `x*y*` b\n", true), "a \033[36mx*y*\033[0m b\n");
  EXPECT_EQ(render("a **b** c\n", true), "a \033[1mb\033[0m c\n");
  EXPECT_EQ(render("a __b__ c\n", true), "a \033[1mb\033[0m c\n");
  EXPECT_EQ(render("a *b* _c_\n", true), "a \033[3mb\033[0m \033[3mc\033[0m\n");
  EXPECT_EQ(render("***x***\n", true), "\033[1;3mx\033[0m\n");
  EXPECT_EQ(render("**a *b* c**\n", true), "\033[1ma \033[0m\033[1;3mb\033[0m\033[1m c\033[0m\n");
}

TEST(MarkdownRendererTest, DelimitersThatCannotFormEmphasisStayLiteral) {
  EXPECT_EQ(render("snake_case_name and foo__bar__baz\n", true),
            "snake_case_name and foo__bar__baz\n");
  EXPECT_EQ(render("a * b * c and 2 * 3\n", true), "a * b * c and 2 * 3\n");
  EXPECT_EQ(render("**unclosed and *also\n", true), "**unclosed and *also\n");
  EXPECT_EQ(render("an `unclosed tick\n", true), "an `unclosed tick\n");
  EXPECT_EQ(render("\\*not italic\\*\n", true), "*not italic*\n");
}

TEST(MarkdownRendererTest, AFarAwayCloserDoesNotMakeASpan) {
  std::string far = "*" + std::string(1500, 'a') + "* `" + std::string(1500, 'b') + "`\n";
  EXPECT_EQ(render(far, true), far);
  EXPECT_EQ(render_in_chunks(far, true, 1), far);
}

TEST(MarkdownRendererTest, ProseStreamsBeforeItsNewline) {
  MarkdownRenderer renderer(true);
  EXPECT_EQ(renderer.feed("Hello wor"), "Hello wor");
  EXPECT_EQ(renderer.feed("ld **bo"), "ld ");  // held from the opener until the closer
  EXPECT_EQ(renderer.feed("ld** ok\n"), "\033[1mbold\033[0m ok\n");
}

TEST(MarkdownRendererTest, LineStartIsHeldUntilItIsDecided) {
  MarkdownRenderer renderer(true);
  EXPECT_EQ(renderer.feed("-"), "");
  EXPECT_EQ(renderer.feed("-"), "");
  EXPECT_EQ(renderer.feed(" x"), "-- x");
}

TEST(MarkdownRendererTest, FinishFlushesAPartialLineAndResets) {
  MarkdownRenderer renderer(true);
  EXPECT_EQ(renderer.feed("# Tit"), "\033[1;35mTit");
  EXPECT_EQ(renderer.finish(), "\033[0m");
  EXPECT_EQ(renderer.feed("**open"), "");
  EXPECT_EQ(renderer.finish(), "**open");
  EXPECT_EQ(renderer.feed("```\ncode"), kRule + "\n\033[36mcode");
  EXPECT_EQ(renderer.finish(), "\033[0m");
  // The unterminated fence does not leak into the next message.
  EXPECT_EQ(render("# after\n", true), "\033[1;35mafter\033[0m\n");
  EXPECT_EQ(renderer.feed("# after\n"), "\033[1;35mafter\033[0m\n");
}

TEST(MarkdownRendererTest, OutputDoesNotDependOnChunking) {
  for (bool colour : {false, true}) {
    std::string whole = render(kDocument, colour);
    for (size_t chunk_size = 1; chunk_size <= 24; ++chunk_size) {
      ASSERT_EQ(render_in_chunks(kDocument, colour, chunk_size), whole)
          << "colour=" << colour << " chunk_size=" << chunk_size;
    }
    // Every split into two pieces.
    for (size_t split = 0; split <= kDocument.size(); ++split) {
      MarkdownRenderer renderer(colour);
      std::string out = renderer.feed(std::string_view(kDocument).substr(0, split));
      out += renderer.feed(std::string_view(kDocument).substr(split));
      out += renderer.finish();
      ASSERT_EQ(out, whole) << "colour=" << colour << " split=" << split;
    }
  }
}

TEST(MarkdownRendererTest, NoEscapeFromTheInputSurvives) {
  const std::string hostile =
      "# \033]0;title\007\n"
      "- \033[2J item\n"
      "`\033[31m` and **\033[5mbold**\n"
      "```\n\033[?1049h inside code\n```\n"
      "\x1b\x9b\xC2\x9B\r\x08\x01 tail\033";
  for (bool colour : {false, true}) {
    for (size_t chunk_size : {size_t{1}, size_t{3}, hostile.size()}) {
      std::string out = strip_joey_styles(render_in_chunks(hostile, colour, chunk_size));
      EXPECT_EQ(out.find('\033'), std::string::npos) << "colour=" << colour;
      for (char c : out) {
        auto byte = static_cast<unsigned char>(c);
        EXPECT_TRUE(byte >= 0x20 || c == '\n' || c == '\t') << "control byte " << int{byte};
      }
      EXPECT_EQ(out.find("\xC2\x9B"), std::string::npos);
    }
  }
}

TEST(MarkdownRendererTest, EveryLineEndsWithItsStylesClosed) {
  std::string out = render(kDocument, true);
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    std::string line = out.substr(start, end - start);
    size_t last_escape = line.rfind('\033');
    if (last_escape != std::string::npos) {
      EXPECT_EQ(line.substr(last_escape, 4), "\033[0m") << "line: " << line;
    }
    start = end + 1;
  }
}

}  // namespace
}  // namespace joey::client
