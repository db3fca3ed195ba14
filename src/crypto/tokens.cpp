#include "crypto/tokens.h"

#include <cstdio>
#include <cstdlib>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace joey::crypto {
namespace {

constexpr char kBase62Alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
// Bytes at or above 248 (= 4 * 62) are rejected so each character is uniform.
constexpr unsigned kUniformLimit = 248;
// Each batch rejects a byte with probability 8/256, so 8 batches of 64 bytes fail to
// yield 43 characters essentially never; the bound only keeps the loop finite.
constexpr int kMaxBatches = 8;
constexpr size_t kBatchBytes = 64;

bool is_base62(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

}  // namespace

std::string generate_token(std::string_view prefix) {
  std::string token(prefix);
  token.reserve(prefix.size() + kTokenRandomChars);
  size_t produced = 0;
  for (int batch = 0; batch < kMaxBatches && produced < kTokenRandomChars; ++batch) {
    const std::string random = random_bytes(kBatchBytes);
    for (const char byte : random) {
      const auto value = static_cast<unsigned char>(byte);
      if (value >= kUniformLimit) continue;
      token.push_back(kBase62Alphabet[value % 62]);
      if (++produced == kTokenRandomChars) break;
    }
  }
  if (produced != kTokenRandomChars) {  // the CSPRNG is returning garbage
    std::fprintf(stderr, "joey: fatal: the random number generator looks broken\n");
    std::abort();
  }
  return token;
}

bool is_token_shaped(std::string_view token, std::string_view prefix) {
  if (token.size() != prefix.size() + kTokenRandomChars || !token.starts_with(prefix)) {
    return false;
  }
  for (const char c : token.substr(prefix.size())) {
    if (!is_base62(c)) return false;
  }
  return true;
}

std::string token_digest(std::string_view token) { return hex_encode(sha256(token)); }

}  // namespace joey::crypto
