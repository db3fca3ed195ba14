// Data keys: the per-organization and per-user AES-256 keys that encrypt values at rest
// (DESIGN.md §4, P8). A data key is stored only wrapped by the key-encryption key
// (key_encryption_key.h); destroying every wrapped copy makes its data unreadable (P9).
//
// Ownership: a DataKey owns its secret and wipes it when destroyed or overwritten.
// Thread-safety: a const DataKey may be shared by any number of threads.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"

namespace joey::crypto {

inline constexpr size_t kDataKeyIdBytes = 16;      // 32 lowercase hex characters as text
inline constexpr size_t kDataKeySecretBytes = 32;  // AES-256

class DataKey {
 public:
  // A new key: a random id and a random secret.
  static DataKey generate();
  // A key from its parts: `id` is 32 lowercase hex characters, `secret` 32 bytes.
  // kInvalidArgument otherwise (the message never contains the secret).
  static Result<DataKey> from_parts(std::string id, std::string secret);

  // 32 lowercase hex characters; not secret (stored beside each value it sealed).
  const std::string& id() const { return id_; }
  // The 16 bytes `id()` encodes, as stored in a sealed value.
  const std::string& raw_id() const { return raw_id_; }
  // 32 bytes. Never log or store it unwrapped.
  std::string_view secret() const { return secret_; }

  DataKey(const DataKey& other);
  DataKey(DataKey&& other) noexcept;
  DataKey& operator=(const DataKey& other);
  DataKey& operator=(DataKey&& other) noexcept;
  ~DataKey();

 private:
  DataKey(std::string id, std::string secret);

  std::string id_;
  std::string raw_id_;  // kept beside id_: every seal needs it
  std::string secret_;
};

// A data key as the database stores it: its id, the id of the key-encryption key that
// wrapped it, and `bytes` = version (1 byte) | nonce (12) | encrypted secret (32) |
// tag (16), with the key id and kek id bound as associated data. Not secret.
struct WrappedKey {
  std::string key_id;
  std::string kek_id;
  std::string bytes;

  bool operator==(const WrappedKey&) const = default;
};

// A 32-byte subkey of `key` for one `purpose` (HKDF-SHA256: ikm the secret, salt
// "joey-derive-key-v1", info `purpose`; the key id takes no part), e.g.
// "blind-index/v1" for the search index of the tenant that owns `key`. Different purposes
// give independent keys; the same key and purpose always give the same subkey.
std::string derive_key(const DataKey& key, std::string_view purpose);

// True when `id` has the shape of a data key id (32 lowercase hex characters).
bool is_data_key_id(std::string_view id);

}  // namespace joey::crypto
