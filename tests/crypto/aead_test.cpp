// AES-256-GCM against published vectors, and decryption failing on every kind of bad
// input. Vectors: "The Galois/Counter Mode of Operation (GCM)", D. McGrew and J. Viega,
// revised 2005, Appendix B, Test Cases 13–16 (the AES-256 cases; also in NIST's
// gcmEncryptExtIV256 set).
#include "crypto/aead.h"

#include <gtest/gtest.h>

#include <string>

#include "crypto/encoding.h"

namespace joey::crypto {
namespace {

std::string from_hex(std::string_view hex) {
  auto bytes = hex_decode(hex);
  EXPECT_TRUE(bytes.ok()) << hex;
  return bytes.ok() ? *bytes : std::string();
}

struct GcmVector {
  const char* name;
  const char* key;
  const char* nonce;
  const char* plaintext;
  const char* aad;
  const char* ciphertext;
  const char* tag;
};

constexpr char kZeroKey[] = "0000000000000000000000000000000000000000000000000000000000000000";
constexpr char kKey15[] = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";

const GcmVector kVectors[] = {
    {"test case 13", kZeroKey, "000000000000000000000000", "", "", "",
     "530f8afbc74536b9a963b4f1c4cb738b"},
    {"test case 14", kZeroKey, "000000000000000000000000", "00000000000000000000000000000000", "",
     "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {"test case 15", kKey15, "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
     "",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"test case 16", kKey15, "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

TEST(Aes256Gcm, EncryptMatchesPublishedTestCases13To16) {
  for (const auto& vector : kVectors) {
    auto sealed = aes256gcm_encrypt(from_hex(vector.key), from_hex(vector.nonce),
                                    from_hex(vector.plaintext), from_hex(vector.aad));
    ASSERT_TRUE(sealed.ok()) << vector.name << ": " << sealed.error().message;
    EXPECT_EQ(hex_encode(*sealed), std::string(vector.ciphertext) + vector.tag) << vector.name;
  }
}

TEST(Aes256Gcm, DecryptRecoversPublishedPlaintexts) {
  for (const auto& vector : kVectors) {
    auto plaintext = aes256gcm_decrypt(from_hex(vector.key), from_hex(vector.nonce),
                                       from_hex(std::string(vector.ciphertext) + vector.tag),
                                       from_hex(vector.aad));
    ASSERT_TRUE(plaintext.ok()) << vector.name << ": " << plaintext.error().message;
    EXPECT_EQ(hex_encode(*plaintext), vector.plaintext) << vector.name;
  }
}

class Aes256GcmFailure : public ::testing::Test {
 protected:
  const std::string key_ = from_hex(kKey15);
  const std::string nonce_ = from_hex("cafebabefacedbaddecaf888");
  const std::string aad_ = "associated";
  const std::string sealed_ = aes256gcm_encrypt(key_, nonce_, "plaintext", aad_).value();

  static void expect_protocol_error(const Result<std::string>& result) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().kind, ErrorKind::kProtocol);
  }
};

TEST_F(Aes256GcmFailure, FlippedBitInCiphertextOrTagFails) {
  for (size_t index = 0; index < sealed_.size(); ++index) {
    std::string altered = sealed_;
    altered[index] = static_cast<char>(altered[index] ^ 0x01);
    expect_protocol_error(aes256gcm_decrypt(key_, nonce_, altered, aad_));
  }
}

TEST_F(Aes256GcmFailure, WrongKeyNonceOrAadFails) {
  std::string other_key = key_;
  other_key[31] = static_cast<char>(other_key[31] ^ 0x80);
  expect_protocol_error(aes256gcm_decrypt(other_key, nonce_, sealed_, aad_));
  std::string other_nonce = nonce_;
  other_nonce[0] = static_cast<char>(other_nonce[0] ^ 0x01);
  expect_protocol_error(aes256gcm_decrypt(key_, other_nonce, sealed_, aad_));
  expect_protocol_error(aes256gcm_decrypt(key_, nonce_, sealed_, "associatee"));
  expect_protocol_error(aes256gcm_decrypt(key_, nonce_, sealed_, ""));
}

TEST_F(Aes256GcmFailure, WrongSizesAndTruncatedInputFail) {
  expect_protocol_error(aes256gcm_decrypt(key_.substr(0, 16), nonce_, sealed_, aad_));
  expect_protocol_error(aes256gcm_decrypt(key_, nonce_.substr(0, 8), sealed_, aad_));
  expect_protocol_error(aes256gcm_decrypt(key_, nonce_, "", aad_));
  expect_protocol_error(aes256gcm_decrypt(key_, nonce_, sealed_.substr(0, kGcmTagBytes - 1), aad_));
  for (size_t length = 0; length < sealed_.size(); ++length) {
    expect_protocol_error(aes256gcm_decrypt(key_, nonce_, sealed_.substr(0, length), aad_));
  }
}

TEST(Aes256Gcm, EncryptRejectsWrongKeyAndNonceSizes) {
  EXPECT_EQ(aes256gcm_encrypt(std::string(16, 'k'), std::string(12, 'n'), "x", "").error().kind,
            ErrorKind::kInvalidArgument);
  EXPECT_EQ(aes256gcm_encrypt(std::string(32, 'k'), std::string(16, 'n'), "x", "").error().kind,
            ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace joey::crypto
