// Hashing, message authentication and key derivation, all over OpenSSL 3 (EVP): SHA-256,
// HMAC-SHA256 (RFC 2104), HKDF-SHA256 (RFC 5869), and a constant-time comparison for
// secrets (MACs, digests of tokens).
//
// Inputs and outputs are raw bytes in std::string. OpenSSL failing on valid input can only
// mean it ran out of memory or is broken; that ends the process with a message on stderr
// rather than returning a wrong digest.
//
// Thread-safety: every function may be called from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"

namespace joey::crypto {

inline constexpr size_t kSha256Bytes = 32;
// RFC 5869 §2.3: at most 255 blocks of the hash's output.
inline constexpr size_t kHkdfSha256MaxBytes = 255 * kSha256Bytes;

// The 32-byte SHA-256 digest of `data`.
std::string sha256(std::string_view data);

// The 32-byte HMAC-SHA256 of `data` under `key` (any length, empty included).
std::string hmac_sha256(std::string_view key, std::string_view data);

// `length` bytes of HKDF-SHA256 (extract then expand). An empty `salt` means the RFC's
// default (a block of zeros). kInvalidArgument when `length` is 0 or more than
// kHkdfSha256MaxBytes, or `ikm` is empty.
Result<std::string> hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info,
                                size_t length);

// True when `a` and `b` are equal. The time taken depends on the lengths only, never on
// where the bytes differ (lengths are not secret for MACs and digests).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace joey::crypto
