#include "base/json.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

namespace joey {
namespace {

TEST(ParseJson, ParsesValidJsonAndDiscardsTheRest) {
  EXPECT_EQ(parse_json(R"({"a": [1, 2]})")["a"][1], 2);
  EXPECT_TRUE(parse_json("{\"a\": ").is_discarded());
  EXPECT_TRUE(parse_json("").is_discarded());
  EXPECT_TRUE(parse_json("nul").is_discarded());
}

TEST(ParseJson, RefusesNestingDeeperThanTheLimit) {
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  EXPECT_TRUE(parse_json(deep).is_discarded());
  std::string fine(kMaxJsonDepth, '[');
  fine += std::string(kMaxJsonDepth, ']');
  EXPECT_FALSE(parse_json(fine).is_discarded());
  // Brackets inside strings do not count.
  EXPECT_FALSE(parse_json("\"" + std::string(1000, '[') + "\"").is_discarded());
}

// is_json() has its own scanner; each case is checked against nlohmann's parser too, so
// a disagreement names the input (json_fuzz compares them on arbitrary bytes).
TEST(IsJson, AgreesWithTheParserOnGrammarEdges) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"{}", true},
      {" [1, -0, 0.5, 1e3, 1E-3, -1.25e+10, true, false, null] ", true},
      {"\"\"", true},
      {"\xEF\xBB\xBF{\"a\":1}", true},  // a byte order mark at the start
      {"\xEF\xBB{}", false},
      {"{\"a\":1,}", false},
      {"[1,]", false},
      {"[1 2]", false},
      {"{\"a\" 1}", false},
      {"{1:2}", false},
      {"01", false},
      {"1.", false},
      {".5", false},
      {"+1", false},
      {"-", false},
      {"1e", false},
      {"1e+", false},
      {"nul", false},
      {"truex", false},
      {"{} {}", false},
      {"", false},
      {"  ", false},
      {"\"a\tb\"", false},  // a raw control character in a string
      {"\"\\u0000\"", true},
      {"\"\\ud83d\\ude00\"", true},  // a surrogate pair
      {"\"\\ud83d\"", false},        // a high surrogate alone
      {"\"\\ud83dx\"", false},
      {"\"\\ude00\"", false},  // a low surrogate alone
      {"\"\\u12G4\"", false},
      {"\"\\x\"", false},
      {"\"caf\xC3\xA9\"", true},
      {"\"\xC3\"", false},              // cut UTF-8
      {"\"\xC0\xAF\"", false},          // overlong
      {"\"\xED\xA0\x80\"", false},      // a surrogate in UTF-8
      {"\"\xF4\x90\x80\x80\"", false},  // past U+10FFFF
      {"\"\xF0\x9F\x98\x80\"", true},
      {"1e308", true},
      {"1e309", false},  // overflows a double
      {"-1e400", false},
      {"1e-400", true},  // underflows to zero
      {"0.0001e312", true},
      {"0.0001e313", false},
      {"0e999999999999999999", true},
      {std::string(400, '9'), false},
      {std::string(300, '9'), true},
      {"123456789012345678901234567890", true},
      {std::string("\"a\0b\"", 5), false},
      // nlohmann's lexer takes a NUL byte for the end of the input.
      {std::string("[1]\0", 4), true},
      {std::string("{} \0garbage", 11), true},
      {std::string("[1\0]", 4), false},
      {std::string("\0", 1), false},
  };
  for (const auto& [text, expected] : cases) {
    EXPECT_EQ(is_json(text), expected) << text;
    EXPECT_EQ(nlohmann::json::accept(text), expected) << text;
  }
}

TEST(IsJson, CountsNestingAfterANulAsParseJsonDoes) {
  // nlohmann accepts anything after a NUL that ends the value, but parse_json refuses
  // deep brackets anywhere in the text; is_json says what parse_json does.
  const std::string text = std::string("3e6\0", 4) + std::string(kMaxJsonDepth + 1, '[');
  EXPECT_TRUE(nlohmann::json::accept(text));
  EXPECT_TRUE(parse_json(text).is_discarded());
  EXPECT_FALSE(is_json(text));
  EXPECT_TRUE(is_json(std::string("3e6\0", 4) + std::string(kMaxJsonDepth, '[')));
}

TEST(IsJson, RefusesNestingDeeperThanTheLimit) {
  const std::string fine = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(is_json(fine));
  const std::string deep = "[" + fine + "]";
  EXPECT_FALSE(is_json(deep));
  std::string objects;
  for (int i = 0; i < kMaxJsonDepth + 1; ++i) objects += "{\"a\":";
  objects += "1" + std::string(kMaxJsonDepth + 1, '}');
  EXPECT_FALSE(is_json(objects));
  EXPECT_TRUE(is_json("\"" + std::string(1000, '[') + "\""));
}

// The word-at-a-time scan must stop exactly where a byte-by-byte one does: every byte
// value at every offset of a word and across the word boundary, after plain bytes at
// the edges of the plain range (a borrow must not mark a byte that does not match).
TEST(SkipPlainStringBytes, StopsAtTheFirstSpecialByteAsAByteLoopDoes) {
  const auto special = [](int byte) {
    return byte < 0x20 || byte == '"' || byte == '\\' || byte >= 0x80;
  };
  for (const char filler : {' ', '!', '#', '[', ']', '~', '\x7f', 'a'}) {
    for (size_t offset = 0; offset < 19; ++offset) {
      for (int byte = 0; byte < 256; ++byte) {
        std::string text(19, filler);
        text[offset] = static_cast<char>(byte);
        const size_t expected = special(byte) ? offset : text.size();
        ASSERT_EQ(skip_plain_string_bytes(text, 0), expected)
            << "byte " << byte << " at " << offset << " after '" << filler << "'";
        if (offset >= 3) {
          EXPECT_EQ(skip_plain_string_bytes(text, 3), expected);
        }
      }
    }
  }
  EXPECT_EQ(skip_plain_string_bytes("abc", 3), 3U);
  EXPECT_EQ(skip_plain_string_bytes("", 0), 0U);
}

// Several special bytes in one word: the first one is where the scan stops (the scan
// takes the lowest flagged byte of a word, so a borrow from it must not matter).
TEST(SkipPlainStringBytes, StopsAtTheFirstOfSeveralSpecialBytes) {
  const std::string alphabet = std::string("ab ~\x7f\"\\\x01\x1f\x20\x80\xc3\xff\x00", 14);
  std::minstd_rand random(7);
  for (int round = 0; round < 20'000; ++round) {
    // Lengths past two 16-byte blocks and a word; every other round mostly plain bytes,
    // so long runs reach the blocks' and words' last bytes.
    std::string text(random() % 48, ' ');
    const bool mostly_plain = round % 2 == 1;
    for (char& c : text) {
      c = mostly_plain && random() % 16 != 0 ? 'a' : alphabet[random() % alphabet.size()];
    }
    for (size_t start = 0; start <= text.size(); ++start) {
      size_t expected = start;
      while (expected < text.size()) {
        const auto c = static_cast<unsigned char>(text[expected]);
        if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
        ++expected;
      }
      ASSERT_EQ(skip_plain_string_bytes(text, start), expected) << round << " from " << start;
    }
  }
}

TEST(IsJson, FindsWhereATopLevelObjectsMembersLie) {
  const std::string text = "\xEF\xBB\xBF { \"a\":1, \"b\" : [1,{\"c\":2}] ,\"\\u0061\":\"x\"}";
  std::vector<JsonMemberSpan> members;
  ASSERT_TRUE(is_json(text, members));
  const auto piece = [&text](size_t begin, size_t end) { return text.substr(begin, end - begin); };
  ASSERT_EQ(members.size(), 3U);  // nested members are not listed
  EXPECT_EQ(piece(members[0].key_begin, members[0].key_end), "\"a\"");
  EXPECT_EQ(piece(members[0].value_begin, members[0].value_end), "1");
  EXPECT_EQ(piece(members[1].key_begin, members[1].key_end), "\"b\"");
  EXPECT_EQ(piece(members[1].value_begin, members[1].value_end), "[1,{\"c\":2}]");
  EXPECT_EQ(piece(members[2].key_begin, members[2].key_end), "\"\\u0061\"");
  EXPECT_EQ(piece(members[2].value_begin, members[2].value_end), "\"x\"");

  EXPECT_TRUE(is_json("[{\"a\":1}]", members));
  EXPECT_TRUE(members.empty());
  EXPECT_TRUE(is_json("{}", members));
  EXPECT_TRUE(members.empty());
  EXPECT_FALSE(is_json("{\"a\":1,\"b\":}", members));
  EXPECT_TRUE(members.empty());
  ASSERT_TRUE(is_json(std::string("{\"a\":2}\0{\"b\":3}", 15), members));
  ASSERT_EQ(members.size(), 1U);
  EXPECT_EQ(members[0].value_begin, 5U);
}

TEST(JsonFields, MissingOrMistypedFieldsAreAbsent) {
  nlohmann::json object = parse_json(R"({"s": "x", "n": 5, "big": 18446744073709551615,
                                          "o": {}, "a": [], "f": 1.5})");
  ASSERT_NE(string_field(object, "s"), nullptr);
  EXPECT_EQ(*string_field(object, "s"), "x");
  EXPECT_EQ(string_field(object, "n"), nullptr);
  EXPECT_EQ(integer_field(object, "n"), 5);
  EXPECT_EQ(integer_field(object, "big"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(integer_field(object, "f"), std::nullopt);
  EXPECT_NE(object_field(object, "o"), nullptr);
  EXPECT_EQ(object_field(object, "a"), nullptr);
  EXPECT_NE(array_field(object, "a"), nullptr);
  EXPECT_EQ(string_field(nlohmann::json::array(), "s"), nullptr);
}

TEST(BodyExcerpt, CutsOnACharacterBoundaryAndTrims) {
  EXPECT_EQ(body_excerpt("  Bad Gateway\n", 300), "Bad Gateway");
  EXPECT_EQ(body_excerpt("", 300), "(empty response body)");
  EXPECT_EQ(body_excerpt("abcdef", 3), "abc…");
  // "é" is two bytes; cutting after its first byte drops it whole.
  EXPECT_EQ(body_excerpt("ab\xC3\xA9z", 3), "ab…");
}

}  // namespace
}  // namespace joey
