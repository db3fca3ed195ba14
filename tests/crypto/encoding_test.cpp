// Hex and base64url: round trips over every byte value and length, RFC 4648 vectors, and
// strict rejection of everything an encoder would not produce.
#include "crypto/encoding.h"

#include <gtest/gtest.h>

#include <string>

namespace joey::crypto {
namespace {

std::string all_byte_values() {
  std::string bytes;
  for (int value = 0; value < 256; ++value) bytes.push_back(static_cast<char>(value));
  return bytes;
}

TEST(Hex, EncodesLowercaseAndRoundTripsEveryByte) {
  EXPECT_EQ(hex_encode(std::string("\x00\x01\xab\xff", 4)), "0001abff");
  const std::string bytes = all_byte_values();
  auto decoded = hex_decode(hex_encode(bytes));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, bytes);
}

TEST(Hex, DecodesUppercaseAndEmpty) {
  EXPECT_EQ(hex_decode("ABff").value(), std::string("\xab\xff"));
  EXPECT_EQ(hex_decode("").value(), "");
}

TEST(Hex, RejectsOddLengthAndNonHexCharacters) {
  for (const char* bad : {"a", "abc", "zz", "0g", " 00", "00 ", "0x00", "-1"}) {
    auto decoded = hex_decode(bad);
    ASSERT_FALSE(decoded.ok()) << bad;
    EXPECT_EQ(decoded.error().kind, ErrorKind::kInvalidArgument);
  }
}

TEST(Base64Url, MatchesRfc4648VectorsWithoutPadding) {
  // RFC 4648 §10, with the padding removed.
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64url_encode("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
  // The URL-safe alphabet: 0xfb 0xff encodes to "-_8" where base64 has "+/8=".
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
}

TEST(Base64Url, RoundTripsEveryLengthAndByteValue) {
  const std::string bytes = all_byte_values();
  for (size_t length = 0; length <= bytes.size(); ++length) {
    const std::string input = bytes.substr(bytes.size() - length);
    auto decoded = base64url_decode(base64url_encode(input));
    ASSERT_TRUE(decoded.ok()) << length;
    EXPECT_EQ(*decoded, input) << length;
  }
}

TEST(Base64Url, RejectsPaddingStandardAlphabetWhitespaceAndBadLengths) {
  for (const char* bad :
       {"Zg==", "Zm8=", "+/8", "ab/c", "Zm9v\n", " Zm9v", "Zm 9v", "Z", "Zm9vY", "\xc3\xa9"}) {
    auto decoded = base64url_decode(bad);
    ASSERT_FALSE(decoded.ok()) << bad;
    EXPECT_EQ(decoded.error().kind, ErrorKind::kInvalidArgument);
  }
}

TEST(Base64Url, RejectsNonCanonicalTrailingBits) {
  // "Zg" is 'f'; "Zh" decodes to the same byte with a stray low bit set.
  EXPECT_TRUE(base64url_decode("Zg").ok());
  EXPECT_FALSE(base64url_decode("Zh").ok());
  EXPECT_TRUE(base64url_decode("Zm8").ok());
  EXPECT_FALSE(base64url_decode("Zm9").ok());
}

TEST(Base64Url, ErrorsDoNotQuoteTheInput) {
  auto decoded = base64url_decode("secretvalue+");
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().message.find("secretvalue"), std::string::npos);
}

TEST(LengthPrefixed, DistinguishesDifferentSplitsOfTheSameBytes) {
  std::string first;
  append_length_prefixed(first, "ab");
  append_length_prefixed(first, "c");
  std::string second;
  append_length_prefixed(second, "a");
  append_length_prefixed(second, "bc");
  EXPECT_NE(first, second);
  EXPECT_EQ(first, std::string("\0\0\0\x02"
                               "ab"
                               "\0\0\0\x01"
                               "c",
                               11));
}

}  // namespace
}  // namespace joey::crypto
