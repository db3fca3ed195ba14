// The blind index: how text becomes terms (normalisation, prefixes, UTF-8, limits) and
// how terms become keyed hashes that differ per tenant and stay stable per key. The
// known vector was computed independently with OpenSSL's command line:
//   key=$(openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt hexkey:000102…1f
//         -kdfopt salt:joey-derive-key-v1 -kdfopt info:"joey blind index v1" HKDF)
//   printf checkpoint | openssl dgst -sha256 -mac HMAC -macopt hexkey:$key
// (and cross-checked with Python's hmac module).
#include "cloud/blind_index.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "cloud/http_types.h"

namespace joey::cloud {
namespace {

using Terms = std::vector<std::string>;

crypto::DataKey key_from(char first_byte) {
  std::string secret(32, '\0');
  for (size_t i = 0; i < secret.size(); ++i) secret[i] = static_cast<char>(first_byte + i);
  return crypto::DataKey::from_parts("00112233445566778899aabbccddeeff", secret).value();
}

TEST(BlindIndexTest, WordsAreLowerCasedAndSplitAtAsciiPunctuation) {
  EXPECT_EQ(index_terms("Hi, OK-go"), (Terms{"hi", "ok", "go"}));
  EXPECT_EQ(index_terms("a_b/c.d"), (Terms{"a", "b", "c", "d"}));
  EXPECT_EQ(index_terms("  \t\n"), Terms{});
  EXPECT_EQ(index_terms(""), Terms{});
  EXPECT_EQ(index_terms("X1"), Terms{"x1"});
}

TEST(BlindIndexTest, WordsOfThreeOrMoreCharactersAlsoYieldTheirPrefixes) {
  EXPECT_EQ(index_terms("Checkpoint"), (Terms{"che", "chec", "check", "checkp", "checkpo",
                                              "checkpoi", "checkpoin", "checkpoint"}));
  EXPECT_EQ(index_terms("abc"), Terms{"abc"});
  EXPECT_EQ(index_terms("ab abcd"), (Terms{"ab", "abc", "abcd"}));
}

TEST(BlindIndexTest, DuplicateTermsAreKeptForRanking) {
  EXPECT_EQ(index_terms("go go GO"), (Terms{"go", "go", "go"}));
}

TEST(BlindIndexTest, NonAsciiCharactersAreKeptAndCountedAsCharacters) {
  // "über": 4 characters, 5 bytes; prefixes are cut between characters.
  EXPECT_EQ(index_terms("\xc3\xbc"
                        "ber"),
            (Terms{"\xc3\xbc"
                   "be",
                   "\xc3\xbc"
                   "ber"}));
  EXPECT_EQ(index_terms("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"),  // 日本語
            (Terms{"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"}));
  // Non-ASCII letters are not case-folded.
  EXPECT_EQ(index_terms("\xc3\x9c"
                        "B"),
            (Terms{"\xc3\x9c"
                   "b"}));
}

TEST(BlindIndexTest, UnicodePunctuationAndSpacesSeparateWords) {
  // “quoted” — em dash, no-break space, ellipsis, ideographic full stop.
  EXPECT_EQ(index_terms("\xe2\x80\x9cquoted\xe2\x80\x9d"), index_terms("quoted"));
  EXPECT_EQ(index_terms("on\xe2\x80\x94off"), (Terms{"on", "off"}));
  EXPECT_EQ(index_terms("on\xc2\xa0off"), (Terms{"on", "off"}));
  EXPECT_EQ(index_terms("on\xe2\x80\xa6"
                        "off"),
            (Terms{"on", "off"}));
  EXPECT_EQ(index_terms("\xe6\x97\xa5\xe3\x80\x82\xe6\x9c\xac"),
            (Terms{"\xe6\x97\xa5", "\xe6\x9c\xac"}));
}

TEST(BlindIndexTest, InvalidUtf8BytesSeparateWords) {
  EXPECT_EQ(index_terms("on\xffoff"), (Terms{"on", "off"}));
  EXPECT_EQ(index_terms("on\xc3off"), (Terms{"on", "off"}));          // cut sequence
  EXPECT_EQ(index_terms("on\xc0\xafoff"), (Terms{"on", "off"}));      // overlong '/'
  EXPECT_EQ(index_terms("on\xed\xa0\x80off"), (Terms{"on", "off"}));  // surrogate
  EXPECT_EQ(index_terms("\x80\x80\x80"), Terms{});
  for (const std::string& term : index_terms("x\xf4\x90\x80\x80y\xe2\x82")) {
    EXPECT_TRUE(is_valid_utf8(term));
  }
}

TEST(BlindIndexTest, LongWordIsCutAt64BytesOnACharacterBoundary) {
  const std::string ascii(100, 'a');
  Terms terms = index_terms(ascii + " next");
  ASSERT_FALSE(terms.empty());
  // Prefixes of 3..64 characters, then the next word's prefixes.
  EXPECT_EQ(terms.size(), (kMaxWordBytes - 2) + 2);
  EXPECT_EQ(terms[kMaxWordBytes - 3], std::string(kMaxWordBytes, 'a'));
  EXPECT_EQ(terms.back(), "next");

  // 'é' is two bytes: 63 bytes of "a" + "é" would be 65, so the word stops at 63.
  const std::string mixed = std::string(63, 'a') + "\xc3\xa9" + "tail";
  terms = index_terms(mixed);
  ASSERT_FALSE(terms.empty());
  EXPECT_EQ(terms.back(), std::string(63, 'a'));
  for (const std::string& term : terms) EXPECT_LE(term.size(), kMaxWordBytes);

  // 32 two-byte characters fit exactly.
  std::string wide;
  for (int i = 0; i < 40; ++i) wide += "\xc3\xa9";
  terms = index_terms(wide);
  EXPECT_EQ(terms.back().size(), kMaxWordBytes);
  EXPECT_TRUE(is_valid_utf8(terms.back()));
}

TEST(BlindIndexTest, TermsAreCappedAtTheFirstMaxTermsPerText) {
  std::string text;
  for (size_t i = 0; i < kMaxTermsPerText + 100; ++i) text += "ab ";
  text += "zzz";
  Terms terms = index_terms(text);
  EXPECT_EQ(terms.size(), kMaxTermsPerText);
  EXPECT_EQ(terms.back(), "ab");

  // The cap can fall in the middle of a word's prefixes.
  std::string long_words;
  for (size_t i = 0; i < kMaxTermsPerText / 10; ++i) long_words += "abcdefghijklmnop ";
  EXPECT_EQ(index_terms(long_words).size(), kMaxTermsPerText);
}

TEST(BlindIndexTest, QueryWordsAreNormalisedDeduplicatedWithoutPrefixes) {
  EXPECT_EQ(query_words("Check  the CHECK, check!"), (Terms{"check", "the"}));
  EXPECT_EQ(query_words(""), Terms{});
  EXPECT_EQ(query_words("\xe2\x80\x9c"
                        "db\xe2\x80\x9d"),
            Terms{"db"});
  EXPECT_EQ(query_words(std::string(80, 'Q')), Terms{std::string(kMaxWordBytes, 'q')});
}

TEST(BlindIndexTest, QueryWordsAreCapped) {
  std::string query;
  for (int i = 0; i < 40; ++i) query += "w" + std::to_string(i) + " w0 ";
  Terms words = query_words(query);
  ASSERT_EQ(words.size(), kMaxQueryWords);
  EXPECT_EQ(words.front(), "w0");
  EXPECT_EQ(words.back(), "w" + std::to_string(kMaxQueryWords - 1));
}

TEST(BlindIndexTest, EveryQueryWordIsATermOfTextContainingIt) {
  const std::string text = "The Checkpoint store failed: über-long \xe2\x80\x9cpath\xe2\x80\x9d";
  const std::set<std::string> terms = [&] {
    Terms list = index_terms(text);
    return std::set<std::string>(list.begin(), list.end());
  }();
  for (const std::string& word : query_words("checkp STORE über path the")) {
    EXPECT_TRUE(terms.count(word)) << word;
  }
  // A two-character query word matches only a two-character word, never a prefix.
  EXPECT_FALSE(terms.count("ch"));
}

TEST(BlindIndexTest, KnownVectorMatchesOpensslHkdfAndHmac) {
  const BlindIndexKey key = BlindIndexKey::derive(key_from(0));
  EXPECT_EQ(key.blind("checkpoint"), "6a082806f9e5e9ca");
  EXPECT_EQ(key.blind("che"), "9834bfc9faf07ba4");
  EXPECT_EQ(key.blind("\xc3\xbc"
                      "ber"),
            "138162e4f496b5e7");
}

TEST(BlindIndexTest, SameKeyIsStableAndDifferentKeysBlindDifferently) {
  const BlindIndexKey first = BlindIndexKey::derive(key_from(0));
  const BlindIndexKey again = BlindIndexKey::derive(key_from(0));
  const BlindIndexKey other = BlindIndexKey::derive(key_from(1));
  EXPECT_EQ(first.blind("checkpoint"), again.blind("checkpoint"));
  EXPECT_EQ(first.blind_text("fix the checkpoint"), again.blind_text("fix the checkpoint"));
  EXPECT_NE(first.blind("checkpoint"), other.blind("checkpoint"));
  EXPECT_NE(first.blind("checkpoint"), first.blind("checkpoinT"));
}

TEST(BlindIndexTest, BlindTextIsTheBlindedTermsJoinedBySpaces) {
  const BlindIndexKey key = BlindIndexKey::derive(key_from(0));
  const std::string text = "Fix the checkpoint";
  std::string expected;
  for (const std::string& term : index_terms(text)) {
    if (!expected.empty()) expected += ' ';
    expected += key.blind(term);
  }
  EXPECT_EQ(key.blind_text(text), expected);
  EXPECT_EQ(key.blind_text(""), "");
  EXPECT_EQ(key.blind_text("!!"), "");
  // Nothing of the text survives blinding.
  EXPECT_EQ(key.blind_text("checkpoint").find("check"), std::string::npos);
}

TEST(BlindIndexTest, BlindedTermsAreSixteenLowercaseHexCharacters) {
  const BlindIndexKey key = BlindIndexKey::derive(key_from(0));
  for (const std::string& blinded :
       {key.blind(""), key.blind("a"), key.blind(std::string(64, 'z'))}) {
    ASSERT_EQ(blinded.size(), 16u);
    for (const char c : blinded) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  }
}

TEST(BlindIndexTest, BlindQueryMatchesBlindTextOfTheSameWords) {
  const BlindIndexKey key = BlindIndexKey::derive(key_from(0));
  const std::string stored = key.blind_text("The Checkpoint store failed");
  const std::vector<std::string> blinded = key.blind_query("checkp FAILED checkp");
  ASSERT_EQ(blinded.size(), 2u);
  for (const std::string& word : blinded) {
    EXPECT_NE(stored.find(word), std::string::npos) << word;
  }
  EXPECT_TRUE(key.blind_query("  ,, ").empty());
}

}  // namespace
}  // namespace joey::cloud
