// Tokens: the prefix, the length that carries 256 random bits, uniqueness, and a stable
// digest.
#include "crypto/tokens.h"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>

#include "crypto/encoding.h"
#include "crypto/hash.h"

namespace joey::crypto {
namespace {

TEST(Tokens, HaveThePrefixAndFortyThreeBase62Characters) {
  const std::string token = generate_token(kPersonalAccessTokenPrefix);
  EXPECT_TRUE(token.starts_with("joey_pat_")) << token;
  EXPECT_EQ(token.size(), std::string("joey_pat_").size() + 43);
  EXPECT_TRUE(is_token_shaped(token, kPersonalAccessTokenPrefix));
  for (const char c : token.substr(9)) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << token;
  }
}

TEST(Tokens, TenThousandTokensAreAllDistinct) {
  std::set<std::string> tokens;
  for (int index = 0; index < 10000; ++index) tokens.insert(generate_token("t_"));
  EXPECT_EQ(tokens.size(), 10000u);
}

TEST(Tokens, UseTheWholeAlphabet) {
  // 200 tokens give 8,600 characters; each of the 62 is missing with probability < 1e-50.
  std::set<char> seen;
  for (int index = 0; index < 200; ++index) {
    for (const char c : generate_token("")) seen.insert(c);
  }
  EXPECT_EQ(seen.size(), 62u);
}

TEST(Tokens, ShapeCheckRejectsOtherStrings) {
  const std::string token = generate_token("joey_pat_");
  EXPECT_FALSE(is_token_shaped(token, "joey_dev_"));
  EXPECT_FALSE(is_token_shaped(token.substr(0, token.size() - 1), "joey_pat_"));
  EXPECT_FALSE(is_token_shaped(token + "a", "joey_pat_"));
  std::string with_dash = token;
  with_dash.back() = '-';
  EXPECT_FALSE(is_token_shaped(with_dash, "joey_pat_"));
  EXPECT_FALSE(is_token_shaped("", "joey_pat_"));
}

TEST(Tokens, DigestIsStableHexSha256) {
  EXPECT_EQ(token_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string token = generate_token("joey_pat_");
  EXPECT_EQ(token_digest(token), token_digest(token));
  EXPECT_EQ(token_digest(token), hex_encode(sha256(token)));
  EXPECT_NE(token_digest(token), token_digest(generate_token("joey_pat_")));
}

}  // namespace
}  // namespace joey::crypto
