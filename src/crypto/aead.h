// AES-256-GCM (NIST SP 800-38D) over OpenSSL 3 EVP: authenticated encryption with
// associated data. The layer above (sealed_value.h, key_encryption_key.h) picks the
// nonces and builds the associated data; use that rather than these calls directly.
//
// Contract for callers: a (key, nonce) pair must never encrypt twice. joey draws every
// nonce at random (96 bits), which is safe for far more values than one key will seal.
//
// Thread-safety: reentrant.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"

namespace joey::crypto {

inline constexpr size_t kAes256KeyBytes = 32;
inline constexpr size_t kGcmNonceBytes = 12;
inline constexpr size_t kGcmTagBytes = 16;
// Values larger than this are refused; joey seals messages and settings, not files.
inline constexpr size_t kAeadMaxPlaintextBytes = size_t{1} << 30;

// ciphertext ‖ 16-byte tag. kInvalidArgument when the key is not 32 bytes, the nonce not
// 12, or the plaintext or aad longer than kAeadMaxPlaintextBytes.
Result<std::string> aes256gcm_encrypt(std::string_view key, std::string_view nonce,
                                      std::string_view plaintext, std::string_view aad);

// The plaintext of `sealed` (ciphertext ‖ tag). Every failure is kProtocol — a wrong key,
// nonce or aad, a flipped bit, a wrong size, input shorter than a tag — since to the
// caller they all mean the same: these bytes do not authenticate. No plaintext is
// returned unless the tag verifies.
Result<std::string> aes256gcm_decrypt(std::string_view key, std::string_view nonce,
                                      std::string_view sealed, std::string_view aad);

}  // namespace joey::crypto
