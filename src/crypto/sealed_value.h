// Sealed values: how every sensitive value the Cloud stores is encrypted at rest (P8).
//
//   version (1 byte, 1) | key id (16 raw bytes) | nonce (12, random per seal) |
//   ciphertext | tag (16)
//
// AES-256-GCM under a data key; the associated data is the version and key id followed by
// the value's context — tenant, table, column and row, each length-prefixed — so a value
// copied to another row, column, table or tenant fails to open, as does one whose header
// was altered.
//
// Every failure of open() and sealed_key_id() is kProtocol: to the caller a truncated,
// tampered, unknown-version, wrong-key or wrong-context value all mean "these bytes are
// not what was sealed here". Messages never contain plaintext or key material.
//
// Thread-safety: reentrant; a const DataKey may be used by many threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "crypto/data_key.h"

namespace joey::crypto {

inline constexpr uint8_t kSealedValueVersion = 1;
// Bytes a sealed value adds to its plaintext.
inline constexpr size_t kSealedValueOverheadBytes = 1 + kDataKeyIdBytes + 12 + 16;
// Each context field is an id or a name; longer ones are refused (kInvalidArgument).
inline constexpr size_t kMaxContextFieldBytes = 1024;

// Where a value lives. Every field takes part in authentication; empty fields are allowed
// but distinct from any non-empty one.
struct ValueContext {
  std::string tenant;  // "org:<id>" or "user:<id>": the owner of the data key
  std::string table;
  std::string column;
  std::string row;
};

// Encrypts `plaintext` for `context`. kInvalidArgument when a context field is longer
// than kMaxContextFieldBytes or the plaintext is over the AEAD limit (aead.h); kInternal
// if OpenSSL fails.
Result<std::string> seal(const DataKey& key, std::string_view plaintext,
                         const ValueContext& context);

// The id (32 lowercase hex characters) of the data key that sealed `sealed`, so the
// caller can load it. kProtocol when `sealed` is too short or of an unknown version.
Result<std::string> sealed_key_id(std::string_view sealed);

// The plaintext, when `sealed` was sealed by `key` for exactly `context` and not altered
// since. kProtocol otherwise.
Result<std::string> open(const DataKey& key, std::string_view sealed, const ValueContext& context);

}  // namespace joey::crypto
