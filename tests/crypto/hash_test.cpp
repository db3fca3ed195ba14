// Published test vectors for SHA-256, HMAC-SHA256 (RFC 4231) and HKDF-SHA256 (RFC 5869),
// and the contract of constant_time_equal.
#include "crypto/hash.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "crypto/encoding.h"

namespace joey::crypto {
namespace {

std::string byte_range(int first, int last) {
  std::string bytes;
  for (int value = first; value <= last; ++value) bytes.push_back(static_cast<char>(value));
  return bytes;
}

TEST(Sha256, MatchesFips180DigestOfAbc) {
  EXPECT_EQ(hex_encode(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, MatchesDigestOfEmptyInput) {
  EXPECT_EQ(hex_encode(sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// sha256 keeps one context per thread: digests one after another, of different lengths,
// on several threads at once, each start afresh.
TEST(Sha256, DigestsInTurnOnSeveralThreadsEachStartAfresh) {
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (hex_encode(sha256("abc")) !=
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" ||
            hex_encode(sha256(two_blocks)) !=
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" ||
            hex_encode(sha256("")) !=
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") {
          ++wrong;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

// RFC 4231 §4.2–4.8 (case 5 is a truncated MAC, which joey does not use).
struct HmacVector {
  const char* name;
  std::string key;
  std::string data;
  const char* expected_hex;
};

TEST(HmacSha256, MatchesRfc4231TestCases) {
  const HmacVector vectors[] = {
      {"case 1", std::string(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"case 2", "Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {"case 3", std::string(20, '\xaa'), std::string(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {"case 4", byte_range(0x01, 0x19), std::string(50, '\xcd'),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {"case 6", std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {"case 7", std::string(131, '\xaa'),
       "This is a test using a larger than block-size key and a larger than block-size data. "
       "The key needs to be hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (const auto& vector : vectors) {
    EXPECT_EQ(hex_encode(hmac_sha256(vector.key, vector.data)), vector.expected_hex) << vector.name;
    // The keyed object gives the same MAC, also when used again (its key is kept).
    HmacSha256 keyed(vector.key);
    EXPECT_EQ(hex_encode(keyed.mac("other data")),
              hex_encode(hmac_sha256(vector.key, "other data")));
    EXPECT_EQ(hex_encode(keyed.mac(vector.data)), vector.expected_hex) << vector.name;
    HmacSha256 moved = std::move(keyed);
    EXPECT_EQ(hex_encode(moved.mac(vector.data)), vector.expected_hex) << vector.name;
  }
}

TEST(HmacSha256, AcceptsAnEmptyKey) {
  EXPECT_EQ(hmac_sha256("", "data").size(), kSha256Bytes);
  EXPECT_NE(hmac_sha256("", "data"), hmac_sha256("k", "data"));
  EXPECT_EQ(HmacSha256("").mac("data"), hmac_sha256("", "data"));
}

// RFC 5869 Appendix A.1–A.3 (the SHA-256 cases).
TEST(HkdfSha256, MatchesRfc5869TestCase1) {
  auto okm =
      hkdf_sha256(std::string(22, '\x0b'), byte_range(0x00, 0x0c), byte_range(0xf0, 0xf9), 42);
  ASSERT_TRUE(okm.ok()) << okm.error().message;
  EXPECT_EQ(hex_encode(*okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(HkdfSha256, MatchesRfc5869TestCase2LongInputs) {
  auto okm =
      hkdf_sha256(byte_range(0x00, 0x4f), byte_range(0x60, 0xaf), byte_range(0xb0, 0xff), 82);
  ASSERT_TRUE(okm.ok()) << okm.error().message;
  EXPECT_EQ(hex_encode(*okm),
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
            "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
            "cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

TEST(HkdfSha256, MatchesRfc5869TestCase3EmptySaltAndInfo) {
  auto okm = hkdf_sha256(std::string(22, '\x0b'), "", "", 42);
  ASSERT_TRUE(okm.ok()) << okm.error().message;
  EXPECT_EQ(hex_encode(*okm),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(HkdfSha256, RejectsZeroAndOversizedLengthsAndEmptyKeyMaterial) {
  EXPECT_EQ(hkdf_sha256("ikm", "", "", 0).error().kind, ErrorKind::kInvalidArgument);
  EXPECT_EQ(hkdf_sha256("ikm", "", "", kHkdfSha256MaxBytes + 1).error().kind,
            ErrorKind::kInvalidArgument);
  EXPECT_EQ(hkdf_sha256("", "salt", "info", 32).error().kind, ErrorKind::kInvalidArgument);
  auto longest = hkdf_sha256("ikm", "", "", kHkdfSha256MaxBytes);
  ASSERT_TRUE(longest.ok());
  EXPECT_EQ(longest->size(), kHkdfSha256MaxBytes);
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("same bytes", "same bytes"));
  EXPECT_FALSE(constant_time_equal("same bytes", "same bytez"));
  EXPECT_FALSE(constant_time_equal("Same bytes", "same bytes"));
  EXPECT_FALSE(constant_time_equal("short", "shorter"));
  EXPECT_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

}  // namespace
}  // namespace joey::crypto
