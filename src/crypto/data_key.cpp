#include "crypto/data_key.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/wipe.h"

namespace joey::crypto {
namespace {

// HKDF salt for derive_key: fixes the derivation to joey's scheme, version 1.
constexpr std::string_view kDeriveKeySalt = "joey-derive-key-v1";

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

bool is_data_key_id(std::string_view id) {
  if (id.size() != kDataKeyIdBytes * 2) return false;
  for (const char c : id) {
    if (!is_lower_hex(c)) return false;
  }
  return true;
}

DataKey::DataKey(std::string id, std::string secret)
    : id_(std::move(id)),
      raw_id_(hex_decode(id_).value_or(std::string())),
      secret_(std::move(secret)) {}

DataKey DataKey::generate() {
  return DataKey(hex_encode(random_bytes(kDataKeyIdBytes)), random_bytes(kDataKeySecretBytes));
}

Result<DataKey> DataKey::from_parts(std::string id, std::string secret) {
  if (!is_data_key_id(id)) {
    wipe(secret);
    return make_error(ErrorKind::kInvalidArgument,
                      "a data key id must be 32 lowercase hex characters");
  }
  if (secret.size() != kDataKeySecretBytes) {
    const size_t size = secret.size();
    wipe(secret);
    return make_error(
        ErrorKind::kInvalidArgument,
        "data key " + id + " has a secret of " + std::to_string(size) + " bytes; it must be 32");
  }
  return DataKey(std::move(id), std::move(secret));
}

DataKey::DataKey(const DataKey& other)
    : id_(other.id_), raw_id_(other.raw_id_), secret_(other.secret_) {}

DataKey::DataKey(DataKey&& other) noexcept
    : id_(std::move(other.id_)),
      raw_id_(std::move(other.raw_id_)),
      secret_(std::move(other.secret_)) {}

DataKey& DataKey::operator=(const DataKey& other) {
  if (this != &other) {
    wipe(secret_);
    id_ = other.id_;
    raw_id_ = other.raw_id_;
    secret_ = other.secret_;
  }
  return *this;
}

DataKey& DataKey::operator=(DataKey&& other) noexcept {
  if (this != &other) {
    // Wiped first: a move assignment may hand our old buffer to `other`.
    wipe(secret_);
    id_ = std::move(other.id_);
    raw_id_ = std::move(other.raw_id_);
    secret_ = std::move(other.secret_);
  }
  return *this;
}

DataKey::~DataKey() { wipe(secret_); }

std::string derive_key(const DataKey& key, std::string_view purpose) {
  auto derived = hkdf_sha256(key.secret(), kDeriveKeySalt, purpose, kDataKeySecretBytes);
  if (!derived.ok()) {  // cannot happen: the secret is 32 bytes and the length valid
    std::fprintf(stderr, "joey: fatal: deriving a subkey failed: %s\n",
                 derived.error().message.c_str());
    std::abort();
  }
  return std::move(derived).value();
}

}  // namespace joey::crypto
