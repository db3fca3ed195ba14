// Password hashing: argon2id strings that verify the right password only, are salted, and
// treat any malformed or over-costly hash as a mismatch.
#include "crypto/password.h"

#include <gtest/gtest.h>

#include <string>

namespace joey::crypto {
namespace {

TEST(Password, VerifiesTheRightPasswordAndNotAWrongOne) {
  auto hash = hash_password("correct horse battery staple", PasswordCost::kTesting);
  ASSERT_TRUE(hash.ok()) << hash.error().message;
  EXPECT_TRUE(hash->starts_with("$argon2id$")) << *hash;
  EXPECT_TRUE(verify_password(*hash, "correct horse battery staple"));
  EXPECT_FALSE(verify_password(*hash, "correct horse battery stapl"));
  EXPECT_FALSE(verify_password(*hash, "Correct horse battery staple"));
  EXPECT_FALSE(verify_password(*hash, ""));
}

TEST(Password, InteractiveCostIsTheDefaultAndVerifies) {
  auto hash = hash_password("a real password");
  ASSERT_TRUE(hash.ok()) << hash.error().message;
  EXPECT_NE(hash->find("m=65536,t=2,p=1"), std::string::npos) << *hash;
  EXPECT_TRUE(verify_password(*hash, "a real password"));
  EXPECT_FALSE(needs_rehash(*hash));
}

TEST(Password, SamePasswordHashesDifferently) {
  const std::string first = hash_password("same", PasswordCost::kTesting).value();
  const std::string second = hash_password("same", PasswordCost::kTesting).value();
  EXPECT_NE(first, second);
  EXPECT_TRUE(verify_password(first, "same"));
  EXPECT_TRUE(verify_password(second, "same"));
}

TEST(Password, HandlesPasswordsWithNulBytes) {
  const std::string password("pass\0word", 9);
  const std::string hash = hash_password(password, PasswordCost::kTesting).value();
  EXPECT_TRUE(verify_password(hash, password));
  EXPECT_FALSE(verify_password(hash, "pass"));
}

TEST(Password, MalformedHashIsFalseNotACrash) {
  const std::string valid = hash_password("pw", PasswordCost::kTesting).value();
  const std::string malformed[] = {
      "",
      "garbage",
      "$argon2id$",
      "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2id$v=19$m=4294967295,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2id$v=19$m=8,t=4000000000,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2id$v=19$m=8,t=1,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2id$v=19$m=,t=1,p=1$",
      valid.substr(0, valid.size() / 2),
      valid + std::string(1, '\0'),
      valid + std::string(200, 'A'),
  };
  for (const std::string& hash : malformed) {
    EXPECT_FALSE(verify_password(hash, "pw")) << hash;
    EXPECT_TRUE(needs_rehash(hash)) << hash;
  }
}

TEST(Password, NeedsRehashWhenTheCostDiffers) {
  const std::string cheap = hash_password("pw", PasswordCost::kTesting).value();
  EXPECT_TRUE(needs_rehash(cheap));
  EXPECT_TRUE(needs_rehash(cheap, PasswordCost::kInteractive));
  EXPECT_FALSE(needs_rehash(cheap, PasswordCost::kTesting));
}

}  // namespace
}  // namespace joey::crypto
