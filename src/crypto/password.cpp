#include "crypto/password.h"

#include <sodium.h>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace joey::crypto {
namespace {

// Bounds on the parameters verify_password() will run with, far above what joey writes
// (kInteractive is 64 MiB and 2 passes), so a corrupt or planted hash cannot make a
// login allocate gigabytes or spin for minutes.
constexpr uint64_t kMaxMemoryKiB = 1024 * 1024;  // 1 GiB
constexpr uint64_t kMaxPasses = 16;

// libsodium must be initialised once before use; sodium_init is itself thread-safe, and
// the function-local static makes the call once.
void ensure_sodium() {
  static const bool initialised = [] {
    if (sodium_init() < 0) {
      std::fprintf(stderr, "joey: fatal: libsodium failed to initialise\n");
      std::abort();
    }
    return true;
  }();
  (void)initialised;
}

struct CostLimits {
  unsigned long long operations;
  size_t memory_bytes;
};

CostLimits limits_for(PasswordCost cost) {
  switch (cost) {
    case PasswordCost::kTesting:
      return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
    case PasswordCost::kInteractive:
      break;
  }
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

// Reads "<name>=<decimal>" at the start of `text`, then expects `separator`.
bool read_parameter(std::string_view& text, std::string_view name, char separator,
                    uint64_t& value) {
  if (!text.starts_with(name) || text.size() <= name.size() || text[name.size()] != '=') {
    return false;
  }
  text.remove_prefix(name.size() + 1);
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end == text.data() || end == text.data() + text.size() ||
      *end != separator) {
    return false;
  }
  text.remove_prefix(static_cast<size_t>(end - text.data()) + 1);
  return true;
}

// True when `hash` is an argon2id string libsodium can read and its cost is bounded.
bool is_acceptable_hash(std::string_view hash) {
  if (hash.size() >= crypto_pwhash_STRBYTES || hash.find('\0') != std::string_view::npos) {
    return false;
  }
  std::string_view rest = hash;
  constexpr std::string_view kPrefix = "$argon2id$v=19$";
  if (!rest.starts_with(kPrefix)) return false;
  rest.remove_prefix(kPrefix.size());
  uint64_t memory_kib = 0;
  uint64_t passes = 0;
  uint64_t lanes = 0;
  return read_parameter(rest, "m", ',', memory_kib) && read_parameter(rest, "t", ',', passes) &&
         read_parameter(rest, "p", '$', lanes) && memory_kib <= kMaxMemoryKiB && passes >= 1 &&
         passes <= kMaxPasses && lanes == 1;
}

}  // namespace

Result<std::string> hash_password(std::string_view password, PasswordCost cost) {
  ensure_sodium();
  if (password.size() > crypto_pwhash_PASSWD_MAX) {
    return make_error(ErrorKind::kInvalidArgument, "password too long");
  }
  const CostLimits limits = limits_for(cost);
  char hash[crypto_pwhash_STRBYTES] = {};
  if (crypto_pwhash_str(hash, password.data(), password.size(), limits.operations,
                        limits.memory_bytes) != 0) {
    return make_error(ErrorKind::kInternal, "hashing a password failed (out of memory)");
  }
  return std::string(hash);
}

bool verify_password(std::string_view hash, std::string_view password) {
  ensure_sodium();
  if (!is_acceptable_hash(hash) || password.size() > crypto_pwhash_PASSWD_MAX) return false;
  const std::string terminated(hash);  // libsodium reads a NUL-terminated string
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

bool needs_rehash(std::string_view hash, PasswordCost cost) {
  ensure_sodium();
  if (!is_acceptable_hash(hash)) return true;
  const CostLimits limits = limits_for(cost);
  const std::string terminated(hash);
  return crypto_pwhash_str_needs_rehash(terminated.c_str(), limits.operations,
                                        limits.memory_bytes) != 0;
}

}  // namespace joey::crypto
