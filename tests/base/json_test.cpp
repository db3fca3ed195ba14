#include "base/json.h"

#include <gtest/gtest.h>

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
