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

struct evp_mac_ctx_st;  // OpenSSL's EVP_MAC_CTX

namespace joey::crypto {

inline constexpr size_t kSha256Bytes = 32;
// RFC 5869 §2.3: at most 255 blocks of the hash's output.
inline constexpr size_t kHkdfSha256MaxBytes = 255 * kSha256Bytes;

// The 32-byte SHA-256 digest of `data`.
std::string sha256(std::string_view data);

// The 32-byte HMAC-SHA256 of `data` under `key` (any length, empty included).
std::string hmac_sha256(std::string_view key, std::string_view data);

// HMAC-SHA256 under one key for many messages: the key is processed once, at
// construction, so each mac() costs only the hashing of its data (what the blind index
// does for every term of every message). Gives exactly hmac_sha256(key, data).
// Thread-safety: one object per thread (mac() reuses the object's OpenSSL context).
class HmacSha256 {
 public:
  explicit HmacSha256(std::string_view key);
  ~HmacSha256();
  HmacSha256(HmacSha256&& other) noexcept;
  HmacSha256& operator=(HmacSha256&& other) noexcept;
  HmacSha256(const HmacSha256&) = delete;
  HmacSha256& operator=(const HmacSha256&) = delete;

  // Writes the 32-byte MAC of `data` to `out`.
  void mac(std::string_view data, unsigned char (&out)[kSha256Bytes]);
  std::string mac(std::string_view data);

 private:
  evp_mac_ctx_st* context_ = nullptr;
};

// `length` bytes of HKDF-SHA256 (extract then expand). An empty `salt` means the RFC's
// default (a block of zeros). kInvalidArgument when `length` is 0 or more than
// kHkdfSha256MaxBytes, or `ikm` is empty.
Result<std::string> hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info,
                                size_t length);

// True when `a` and `b` are equal. The time taken depends on the lengths only, never on
// where the bytes differ (lengths are not secret for MACs and digests).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace joey::crypto
