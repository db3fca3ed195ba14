// Sealed values: what opens, and that everything else — flipped bits, another context,
// another key, truncation, an unknown version — fails with an error, never a crash.
#include "crypto/sealed_value.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "base/atomic_file.h"
#include "crypto/aead.h"
#include "crypto/data_key.h"
#include "crypto/hash.h"

namespace joey::crypto {
namespace {

const ValueContext kContext{"org:42", "task_messages", "content", "row-7"};

void expect_protocol_error(const Result<std::string>& result, const std::string& what) {
  ASSERT_FALSE(result.ok()) << what;
  EXPECT_EQ(result.error().kind, ErrorKind::kProtocol) << what;
}

TEST(SealedValue, OpensWithTheSameKeyAndContext) {
  const DataKey key = DataKey::generate();
  for (const std::string& plaintext :
       {std::string(), std::string("a secret prompt"), std::string(100000, '\0')}) {
    auto sealed = seal(key, plaintext, kContext);
    ASSERT_TRUE(sealed.ok()) << sealed.error().message;
    EXPECT_EQ(sealed->size(), plaintext.size() + kSealedValueOverheadBytes);
    auto opened = open(key, *sealed, kContext);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    EXPECT_EQ(*opened, plaintext);
  }
}

TEST(SealedValue, HasTheDocumentedLayout) {
  const DataKey key = DataKey::generate();
  const std::string sealed = seal(key, "hello", kContext).value();
  EXPECT_EQ(static_cast<unsigned char>(sealed[0]), kSealedValueVersion);
  EXPECT_EQ(sealed.substr(1, kDataKeyIdBytes), key.raw_id());
  EXPECT_EQ(sealed.find("hello"), std::string::npos);
  EXPECT_EQ(sealed_key_id(sealed).value(), key.id());
}

TEST(SealedValue, SealingTwiceGivesDifferentBytes) {
  const DataKey key = DataKey::generate();
  EXPECT_NE(seal(key, "same", kContext).value(), seal(key, "same", kContext).value());
}

TEST(SealedValue, AnyFlippedBitFailsToOpen) {
  const DataKey key = DataKey::generate();
  const std::string sealed = seal(key, "the value at rest", kContext).value();
  for (size_t index = 0; index < sealed.size(); ++index) {
    std::string altered = sealed;
    altered[index] = static_cast<char>(altered[index] ^ (1 << (index % 8)));
    expect_protocol_error(open(key, altered, kContext), "byte " + std::to_string(index));
  }
}

TEST(SealedValue, AnotherRowColumnTableOrTenantFailsToOpen) {
  const DataKey key = DataKey::generate();
  const std::string sealed = seal(key, "moved value", kContext).value();
  ValueContext other_row = kContext;
  other_row.row = "row-8";
  ValueContext other_column = kContext;
  other_column.column = "title";
  ValueContext other_table = kContext;
  other_table.table = "settings";
  ValueContext other_tenant = kContext;
  other_tenant.tenant = "org:43";
  expect_protocol_error(open(key, sealed, other_row), "row");
  expect_protocol_error(open(key, sealed, other_column), "column");
  expect_protocol_error(open(key, sealed, other_table), "table");
  expect_protocol_error(open(key, sealed, other_tenant), "tenant");
}

TEST(SealedValue, ContextFieldBoundariesAreUnambiguous) {
  const DataKey key = DataKey::generate();
  const std::string sealed = seal(key, "v", {"ab", "c", "d", "e"}).value();
  expect_protocol_error(open(key, sealed, {"a", "bc", "d", "e"}), "shifted boundary");
  expect_protocol_error(open(key, sealed, {"abc", "", "d", "e"}), "empty field");
  EXPECT_TRUE(open(key, sealed, {"ab", "c", "d", "e"}).ok());
}

TEST(SealedValue, AnotherDataKeyFailsToOpen) {
  const DataKey key = DataKey::generate();
  const DataKey other = DataKey::generate();
  const std::string sealed = seal(key, "value", kContext).value();
  expect_protocol_error(open(other, sealed, kContext), "other key");
  // The same secret under another id is refused too, as is another secret under this id.
  const DataKey same_id_other_secret =
      DataKey::from_parts(key.id(), std::string(other.secret())).value();
  expect_protocol_error(open(same_id_other_secret, sealed, kContext), "same id, other secret");
}

TEST(SealedValue, TruncatedAndEmptyInputsFail) {
  const DataKey key = DataKey::generate();
  const std::string sealed = seal(key, "value", kContext).value();
  for (size_t length = 0; length < sealed.size(); ++length) {
    expect_protocol_error(open(key, sealed.substr(0, length), kContext),
                          "length " + std::to_string(length));
  }
  expect_protocol_error(sealed_key_id(""), "empty key id");
  expect_protocol_error(sealed_key_id(sealed.substr(0, kSealedValueOverheadBytes - 1)),
                        "short key id");
}

TEST(SealedValue, UnknownVersionFails) {
  const DataKey key = DataKey::generate();
  std::string sealed = seal(key, "value", kContext).value();
  for (const int version : {0, 2, 255}) {
    sealed[0] = static_cast<char>(version);
    expect_protocol_error(sealed_key_id(sealed), "version " + std::to_string(version));
    expect_protocol_error(open(key, sealed, kContext), "version " + std::to_string(version));
  }
}

TEST(SealedValue, OversizedContextFieldIsRefused) {
  const DataKey key = DataKey::generate();
  ValueContext huge = kContext;
  huge.row = std::string(kMaxContextFieldBytes + 1, 'r');
  auto sealed = seal(key, "value", huge);
  ASSERT_FALSE(sealed.ok());
  EXPECT_EQ(sealed.error().kind, ErrorKind::kInvalidArgument);
}

TEST(SealedValue, ErrorsNeverContainPlaintextOrKeyMaterial) {
  const DataKey key = DataKey::generate();
  std::string sealed = seal(key, "PLAINTEXT-CANARY", kContext).value();
  sealed.back() = static_cast<char>(sealed.back() ^ 1);
  auto opened = open(key, sealed, kContext);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().message.find("PLAINTEXT-CANARY"), std::string::npos);
  EXPECT_EQ(opened.error().message.find(std::string(key.secret())), std::string::npos);
}

// 1,000,000 seals under one key: every random nonce distinct. The nonces go into one flat
// buffer (12 MB) sorted by qsort, so memory and time stay bounded even in a sanitizer build.
TEST(SealedValue, NoNonceRepeatsOverAMillionSeals) {
  constexpr size_t kSeals = 1'000'000;
  const DataKey key = DataKey::generate();
  std::vector<char> nonces(kSeals * kGcmNonceBytes);
  for (size_t index = 0; index < kSeals; ++index) {
    const std::string sealed = seal(key, "v", kContext).value();
    sealed.copy(nonces.data() + index * kGcmNonceBytes, kGcmNonceBytes, 1 + kDataKeyIdBytes);
  }
  std::qsort(nonces.data(), kSeals, kGcmNonceBytes, [](const void* left, const void* right) {
    return std::memcmp(left, right, kGcmNonceBytes);
  });
  size_t repeats = 0;
  for (size_t index = 1; index < kSeals; ++index) {
    const char* previous = nonces.data() + (index - 1) * kGcmNonceBytes;
    if (std::memcmp(previous, previous + kGcmNonceBytes, kGcmNonceBytes) == 0) ++repeats;
  }
  EXPECT_EQ(repeats, 0u);
}

// A value sealed by an earlier build (the fuzz seed) still opens: the format and the
// associated data encoding are stable.
TEST(SealedValue, ValueSealedByAnEarlierBuildStillOpens) {
  std::string secret;
  for (int value = 0; value < 32; ++value) secret.push_back(static_cast<char>(value));
  const DataKey key = DataKey::from_parts("000102030405060708090a0b0c0d0e0f", secret).value();
  auto sealed = read_file_to_string(std::string(JOEY_SOURCE_DIR) +
                                    "/tests/fuzz/corpus/sealed_value/valid_sealed_value");
  ASSERT_TRUE(sealed.ok()) << sealed.error().message;
  auto opened = open(key, *sealed, {"org:fuzz", "task_messages", "content", "row-1"});
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(*opened, "a task message");
}

TEST(DataKey, FromPartsValidatesIdAndSecret) {
  const std::string id(32, 'a');
  EXPECT_TRUE(DataKey::from_parts(id, std::string(32, 's')).ok());
  EXPECT_EQ(DataKey::from_parts(std::string(31, 'a'), std::string(32, 's')).error().kind,
            ErrorKind::kInvalidArgument);
  EXPECT_EQ(DataKey::from_parts(std::string(32, 'A'), std::string(32, 's')).error().kind,
            ErrorKind::kInvalidArgument);
  EXPECT_EQ(DataKey::from_parts(id, std::string(31, 's')).error().kind,
            ErrorKind::kInvalidArgument);
  EXPECT_EQ(DataKey::from_parts(id, std::string(31, 's')).error().message.find("sss"),
            std::string::npos);
}

TEST(DataKey, GeneratedKeysHaveDistinctIdsAndSecrets) {
  const DataKey first = DataKey::generate();
  const DataKey second = DataKey::generate();
  EXPECT_TRUE(is_data_key_id(first.id()));
  EXPECT_EQ(first.secret().size(), kDataKeySecretBytes);
  EXPECT_NE(first.id(), second.id());
  EXPECT_NE(first.secret(), second.secret());
}

TEST(DataKey, CopiesAndMovesKeepTheKey) {
  const DataKey original = DataKey::generate();
  DataKey copy = original;
  EXPECT_EQ(copy.id(), original.id());
  EXPECT_EQ(copy.secret(), original.secret());
  DataKey moved = std::move(copy);
  EXPECT_EQ(moved.secret(), original.secret());
  DataKey assigned = DataKey::generate();
  assigned = moved;
  EXPECT_EQ(assigned.secret(), original.secret());
  DataKey move_assigned = DataKey::generate();
  move_assigned = std::move(assigned);
  EXPECT_EQ(move_assigned.secret(), original.secret());
}

TEST(DeriveKey, IsStablePerPurposeAndIndependentAcrossPurposesAndKeys) {
  const DataKey key = DataKey::generate();
  const DataKey other = DataKey::generate();
  const std::string search = derive_key(key, "blind-index/v1");
  EXPECT_EQ(search.size(), 32u);
  EXPECT_EQ(search, derive_key(key, "blind-index/v1"));
  EXPECT_NE(search, derive_key(key, "blind-index/v2"));
  EXPECT_NE(search, derive_key(other, "blind-index/v1"));
  EXPECT_NE(search, std::string(key.secret()));
}

TEST(DeriveKey, IsTheDocumentedHkdfAndIgnoresTheKeyId) {
  // Pins the derivation: a change to it would orphan every blind index built with it.
  const DataKey key = DataKey::from_parts(std::string(32, '0'), std::string(32, '\x01')).value();
  const std::string derived = derive_key(key, "purpose");
  EXPECT_EQ(derived,
            hkdf_sha256(std::string(32, '\x01'), "joey-derive-key-v1", "purpose", 32).value());
  const DataKey same = DataKey::from_parts(std::string(32, '1'), std::string(32, '\x01')).value();
  EXPECT_EQ(derive_key(same, "purpose"), derived);
}

}  // namespace
}  // namespace joey::crypto
