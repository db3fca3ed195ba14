#include "agent/apply_diff.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace joey::agent {
namespace {

using ::testing::HasSubstr;

std::string block(const std::string& search, const std::string& replace,
                  std::optional<int> start_line = std::nullopt) {
  std::string text = "<<<<<<< SEARCH\n";
  if (start_line) text += ":start_line:" + std::to_string(*start_line) + "\n";
  text += "-------\n" + search + "=======\n" + replace + ">>>>>>> REPLACE\n";
  return text;
}

std::string apply_ok(const std::string& original, const std::string& diff) {
  Result<ApplyDiffOutcome> outcome = apply_diff(original, diff);
  EXPECT_TRUE(outcome.ok()) << (outcome.ok() ? "" : outcome.error().message);
  return outcome.ok() ? outcome->content : "<failed>";
}

std::string apply_error(const std::string& original, const std::string& diff) {
  Result<ApplyDiffOutcome> outcome = apply_diff(original, diff);
  EXPECT_FALSE(outcome.ok()) << "unexpectedly applied, giving:\n" << outcome->content;
  if (outcome.ok()) return "";
  EXPECT_EQ(outcome.error().kind, ErrorKind::kInvalidArgument);
  return outcome.error().message;
}

// A file of `count` numbered lines "line 1", "line 2", ...
std::string numbered_lines(int count) {
  std::string text;
  for (int i = 1; i <= count; ++i) text += "line " + std::to_string(i) + "\n";
  return text;
}

TEST(ParseDiffBlocks, ReadsSearchReplaceAndStartLine) {
  auto blocks = parse_diff_blocks(block("a\nb\n", "c\n", 7) + block("d\n", ""));
  ASSERT_TRUE(blocks.ok()) << blocks.error().message;
  ASSERT_EQ(blocks->size(), 2u);
  EXPECT_EQ((*blocks)[0].search, "a\nb\n");
  EXPECT_EQ((*blocks)[0].replace, "c\n");
  EXPECT_EQ((*blocks)[0].start_line, 7);
  EXPECT_EQ((*blocks)[1].search, "d\n");
  EXPECT_EQ((*blocks)[1].replace, "");
  EXPECT_FALSE((*blocks)[1].start_line.has_value());
}

TEST(ParseDiffBlocks, SeparatorAndStartLineAreOptionalAndProseIsIgnored) {
  auto blocks = parse_diff_blocks(
      "Here is the change:\n```\n<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n```\n");
  ASSERT_TRUE(blocks.ok()) << blocks.error().message;
  ASSERT_EQ(blocks->size(), 1u);
  EXPECT_EQ((*blocks)[0].search, "old\n");
  EXPECT_EQ((*blocks)[0].replace, "new\n");
}

TEST(ParseDiffBlocks, UnescapesMarkersInContent) {
  auto blocks =
      parse_diff_blocks(block("\\=======\n\\<<<<<<< SEARCH\n", "\\>>>>>>> REPLACE\n\\-------\n"));
  ASSERT_TRUE(blocks.ok()) << blocks.error().message;
  EXPECT_EQ((*blocks)[0].search, "=======\n<<<<<<< SEARCH\n");
  EXPECT_EQ((*blocks)[0].replace, ">>>>>>> REPLACE\n-------\n");
}

TEST(ParseDiffBlocks, ReportsMissingDividerWithBlockNumber) {
  auto blocks = parse_diff_blocks(block("a\n", "b\n") + "<<<<<<< SEARCH\nx\n>>>>>>> REPLACE\n");
  ASSERT_FALSE(blocks.ok());
  EXPECT_EQ(blocks.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_THAT(blocks.error().message, HasSubstr("block 2"));
  EXPECT_THAT(blocks.error().message, HasSubstr("missing \"=======\""));
}

TEST(ParseDiffBlocks, ReportsMissingReplaceMarker) {
  auto at_end = parse_diff_blocks("<<<<<<< SEARCH\na\n=======\nb\n");
  ASSERT_FALSE(at_end.ok());
  EXPECT_THAT(at_end.error().message, HasSubstr("block 1"));
  EXPECT_THAT(at_end.error().message, HasSubstr("missing \">>>>>>> REPLACE\""));
  auto before_next = parse_diff_blocks("<<<<<<< SEARCH\na\n=======\nb\n" + block("c\n", "d\n"));
  ASSERT_FALSE(before_next.ok());
  EXPECT_THAT(before_next.error().message, HasSubstr("missing \">>>>>>> REPLACE\""));
}

TEST(ParseDiffBlocks, RejectsEmptySearch) {
  auto blocks = parse_diff_blocks(block("", "new\n"));
  ASSERT_FALSE(blocks.ok());
  EXPECT_THAT(blocks.error().message, HasSubstr("block 1: empty SEARCH"));
}

TEST(ParseDiffBlocks, RejectsBadStartLine) {
  for (const char* value : {"abc", "0", "-3", "12x", "", "99999999999999"}) {
    auto blocks = parse_diff_blocks(std::string("<<<<<<< SEARCH\n:start_line:") + value +
                                    "\n-------\na\n" + "=======\nb\n>>>>>>> REPLACE\n");
    ASSERT_FALSE(blocks.ok()) << value;
    EXPECT_THAT(blocks.error().message, HasSubstr("bad :start_line:")) << value;
  }
}

TEST(ParseDiffBlocks, RejectsDiffWithoutBlocksAndStrayMarkers) {
  auto none = parse_diff_blocks("just some text\n");
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.error().message, HasSubstr("no SEARCH/REPLACE block"));
  auto stray = parse_diff_blocks("a\n=======\nb\n>>>>>>> REPLACE\n");
  ASSERT_FALSE(stray.ok());
  EXPECT_THAT(stray.error().message, HasSubstr("without a \"<<<<<<< SEARCH\""));
  auto second_divider =
      parse_diff_blocks("<<<<<<< SEARCH\na\n=======\nb\n=======\n>>>>>>> REPLACE\n");
  ASSERT_FALSE(second_divider.ok());
  EXPECT_THAT(second_divider.error().message, HasSubstr("second \"=======\""));
}

TEST(ApplyDiff, ReplacesExactMatch) {
  auto outcome = apply_diff("int a = 1;\nint b = 2;\nint c = 3;\n",
                            block("int b = 2;\n", "int b = 20;\nint bb = 21;\n"));
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome->content, "int a = 1;\nint b = 20;\nint bb = 21;\nint c = 3;\n");
  EXPECT_EQ(outcome->blocks_applied, 1);
  EXPECT_TRUE(outcome->notes.empty());
}

TEST(ApplyDiff, ReindentsReplacementWhenSearchIndentationDrifted) {
  const std::string file =
      "class A {\n"
      "        void f() {\n"
      "            g();\n"
      "        }\n"
      "};\n";
  const std::string diff = block(
      "    void f() {\n"
      "        g();\n"
      "    }\n",
      "    void f() {\n"
      "        if (ready) {\n"
      "            g();\n"
      "        }\n"
      "    }\n");
  auto outcome = apply_diff(file, diff);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome->content,
            "class A {\n"
            "        void f() {\n"
            "            if (ready) {\n"
            "                g();\n"
            "            }\n"
            "        }\n"
            "};\n");
  ASSERT_EQ(outcome->notes.size(), 1u);
  EXPECT_THAT(outcome->notes[0], HasSubstr("block 1 matched at lines 2-4 ignoring indentation"));
}

TEST(ApplyDiff, KeepsCrlfWhenDiffUsesLf) {
  EXPECT_EQ(apply_ok("one\r\ntwo\r\nthree\r\n", block("two\n", "2\n2b\n")),
            "one\r\n2\r\n2b\r\nthree\r\n");
}

TEST(ApplyDiff, KeepsLfWhenDiffUsesCrlf) {
  EXPECT_EQ(apply_ok("one\ntwo\nthree\n",
                     "<<<<<<< SEARCH\r\ntwo\r\n=======\r\nTWO\r\n>>>>>>> REPLACE\r\n"),
            "one\nTWO\nthree\n");
}

TEST(ApplyDiff, PreservesMissingFinalNewline) {
  EXPECT_EQ(apply_ok("a\nb\nc", block("c\n", "C\n")), "a\nb\nC");
  EXPECT_EQ(apply_ok("a\nb\nc", block("b\n", "B\n")), "a\nB\nc");
  EXPECT_EQ(apply_ok("a\nb\nc", block("c\n", "")), "a\nb");
  EXPECT_EQ(apply_ok("a\nb\nc\n", block("c\n", "C\n")), "a\nb\nC\n");
}

TEST(ApplyDiff, EmptyReplaceDeletesLines) {
  EXPECT_EQ(apply_ok("a\nb\nc\nd\n", block("b\nc\n", "")), "a\nd\n");
}

TEST(ApplyDiff, AppliesSeveralBlocksInAnyOrder) {
  const std::string file = numbered_lines(10);
  auto outcome =
      apply_diff(file, block("line 8\n", "eight\n") + block("line 2\nline 3\n", "two\n") +
                           block("line 5\n", "five\nfive and a half\n"));
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome->content,
            "line 1\ntwo\nline 4\nfive\nfive and a half\nline 6\nline 7\neight\nline 9\nline 10\n");
  EXPECT_EQ(outcome->blocks_applied, 3);
}

TEST(ApplyDiff, StartLineHintSeveralLinesOffPicksNearestCopy) {
  std::string file;
  for (int i = 1; i <= 60; ++i)
    file += (i == 10 || i == 50) ? "return x;\n" : "op" + std::to_string(i) + "();\n";
  auto outcome = apply_diff(file, block("return x;\n", "return y;\n", 44));
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  std::string expected = file;
  expected.replace(expected.rfind("return x;"), 9, "return y;");
  EXPECT_EQ(outcome->content, expected);
  ASSERT_EQ(outcome->notes.size(), 1u);
  EXPECT_THAT(outcome->notes[0], HasSubstr("line 50 (:start_line: said 44)"));
}

TEST(ApplyDiff, StartLineHintOffStillAppliesUniqueText) {
  EXPECT_EQ(apply_ok(numbered_lines(5), block("line 4\n", "four\n", 1)),
            "line 1\nline 2\nline 3\nfour\nline 5\n");
}

TEST(ApplyDiff, RefusesAmbiguousMatchListingLines) {
  const std::string file = "x = 1\ny = 2\nx = 1\n";
  const std::string message = apply_error(file, block("x = 1\n", "x = 3\n"));
  EXPECT_THAT(message, HasSubstr("block 1 of 1"));
  EXPECT_THAT(message, HasSubstr("ambiguous"));
  EXPECT_THAT(message, HasSubstr("lines 1 and 3"));
  EXPECT_THAT(message, HasSubstr("file is unchanged"));
}

TEST(ApplyDiff, RefusesHintEquidistantFromTwoCopies) {
  const std::string message = apply_error("x\na\nx\n", block("x\n", "y\n", 2));
  EXPECT_THAT(message, HasSubstr("lines 1 and 3"));
}

TEST(ApplyDiff, MissingSearchNamesClosestRegionAndSimilarity) {
  const std::string file =
      "int main() {\n"
      "  start_engine();\n"
      "  return 0;\n"
      "}\n";
  const std::string message =
      apply_error(file, block("  stop_everything_now(17);\n  return 1;\n", "  return 2;\n"));
  EXPECT_THAT(message, HasSubstr("block 1 of 1: SEARCH (2 lines) was not found"));
  EXPECT_THAT(message, HasSubstr("closest region is lines 2-3"));
  EXPECT_THAT(message, testing::ContainsRegex("[0-9]+% similar \\(a fuzzy match needs 90%\\)"));
  EXPECT_THAT(message, HasSubstr("2 |   start_engine();"));
}

TEST(ApplyDiff, FuzzyMatchToleratesTypoInLongLine) {
  const std::string file =
      "void configure(Options& options) {\n"
      "  options.set_maximum_connection_count(kDefaultMaximumConnectionCount);\n"
      "  options.enable_compression(true);\n"
      "}\n";
  auto outcome = apply_diff(
      file, block("  options.set_maximum_conection_count(kDefaultMaximumConnectionCount);\n",
                  "  options.set_maximum_connection_count(64);\n"));
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_THAT(outcome->content, HasSubstr("  options.set_maximum_connection_count(64);\n"));
  ASSERT_EQ(outcome->notes.size(), 1u);
  EXPECT_THAT(outcome->notes[0], HasSubstr("by similarity"));
}

TEST(ApplyDiff, FuzzyMatchPicksClearlyBestPlace) {
  const std::string file = "call(alpha_value_a1);\nother();\ncall(alpha_value_b1);\n";
  // One edit from line 1, two from line 3: both pass the threshold, line 1 is clearly closer.
  EXPECT_EQ(apply_ok(file, block("call(alpha_value_a2);\n", "x();\n")),
            "x();\nother();\ncall(alpha_value_b1);\n");
}

TEST(ApplyDiff, FuzzyMatchRefusesTwoEquallySimilarPlaces) {
  const std::string file = "call(alpha_value_a1);\nother();\ncall(alpha_value_b1);\n";
  const std::string message = apply_error(file, block("call(alpha_value_c1);\n", "x();\n"));
  EXPECT_THAT(message, HasSubstr("several places, lines 1 and 3"));
}

TEST(ApplyDiff, FuzzyTieResolvedByStartLine) {
  std::string file = "call(alpha_value_a1);\n";
  for (int i = 0; i < 50; ++i) file += "filler_" + std::to_string(i) + "();\n";
  file += "call(alpha_value_b1);\n";  // line 52
  auto outcome = apply_diff(file, block("call(alpha_value_c1);\n", "x();\n", 49));
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome->content.substr(0, 22), "call(alpha_value_a1);\n");
  EXPECT_THAT(outcome->content, HasSubstr("filler_49();\nx();\n"));
}

TEST(ApplyDiff, HugeStartLineIsOnlyAHint) {
  const std::string file = "call(alpha_value_a1);\nother();\n";
  EXPECT_EQ(apply_ok(file, block("call(alpha_value_a2);\n", "x();\n", 2147483647)),
            "x();\nother();\n");
}

TEST(ApplyDiff, AllOrNothingWhenALaterBlockFails) {
  const std::string file = numbered_lines(5);
  const std::string message =
      apply_error(file, block("line 1\n", "first\n") + block("no such text here at all\n", "x\n"));
  EXPECT_THAT(message, HasSubstr("block 2 of 2"));
  EXPECT_THAT(message, HasSubstr("No block was applied"));
}

TEST(ApplyDiff, RefusesOverlappingBlocks) {
  const std::string message =
      apply_error(numbered_lines(5), block("line 2\nline 3\n", "x\n") + block("line 3\n", "y\n"));
  EXPECT_THAT(message, HasSubstr("blocks 1 and 2 overlap"));
}

TEST(ApplyDiff, EscapedMarkersMatchFileContent) {
  const std::string file = "Title\n=======\ntext\n";
  EXPECT_EQ(apply_ok(file, block("Title\n\\=======\n", "Heading\n\\=======\n")),
            "Heading\n=======\ntext\n");
}

TEST(ApplyDiff, ParseErrorsPassThrough) {
  const std::string message = apply_error("a\n", "<<<<<<< SEARCH\na\n");
  EXPECT_THAT(message, HasSubstr("diff block 1: missing \"=======\""));
}

TEST(ApplyDiff, SearchLongerThanFileSaysSo) {
  const std::string message = apply_error("a\n", block("a\nb\nc\n", "x\n"));
  EXPECT_THAT(message, HasSubstr("which has only 1 lines"));
}

TEST(ApplyDiff, EmptyFileHasNothingToMatch) {
  EXPECT_THAT(apply_error("", block("a\n", "b\n")), HasSubstr("was not found"));
}

TEST(ApplyDiff, UntouchedLinesKeepTheirOwnEndingsInMixedFile) {
  EXPECT_EQ(apply_ok("a\r\nb\nc\r\nd\r\n", block("c\n", "C\n")), "a\r\nb\nC\r\nd\r\n");
}

TEST(ApplyDiff, LargeFileWithoutMatchStillNamesClosestRegion) {
  std::string file;
  for (int i = 0; i < 5000; ++i) {
    file += "    value_" + std::to_string(i) + " = compute_something_long(" + std::to_string(i) +
            ", parameters, more_parameters);\n";
  }
  std::string search;
  for (int i = 0; i < 30; ++i)
    search += "    unrelated_statement_number(" + std::to_string(i) + ");\n";
  const std::string message = apply_error(file, block(search, "x\n"));
  EXPECT_THAT(message, HasSubstr("The closest region is lines"));
  EXPECT_THAT(message, HasSubstr("... (18 more lines)"));
}

TEST(ApplyDiff, FuzzySearchStopsAtWorkBudgetAndSaysSo) {
  // Lines that are all shuffles of the same letters defeat the cheap character-count bound,
  // so every place needs real edit distances.
  std::string letters;
  for (int i = 0; i < 200; ++i) letters += static_cast<char>('a' + i % 26);
  uint32_t state = 12345;
  const auto shuffled = [&] {
    std::string line = letters;
    for (size_t i = line.size() - 1; i > 0; --i) {
      state = state * 1103515245u + 12345u;
      std::swap(line[i], line[(state >> 8) % (i + 1)]);
    }
    return line + "\n";
  };
  std::string file;
  for (int i = 0; i < 3000; ++i) file += shuffled();
  std::string search;
  for (int i = 0; i < 10; ++i) search += shuffled();
  const std::string message = apply_error(file, block(search, "x\n"));
  EXPECT_THAT(message, HasSubstr("stopped early"));
  EXPECT_THAT(message, HasSubstr("Give :start_line:"));
}

}  // namespace
}  // namespace joey::agent
