// Password hashing with argon2id (libsodium's crypto_pwhash_str): the stored string holds
// the algorithm, its parameters, a random salt and the hash, so a hash made with older
// parameters still verifies and needs_rehash() says when to replace it at the next login.
//
// Thread-safety: every function may be called from any thread. Each hash or verify takes
// tens of milliseconds and tens of MiB at kInteractive; callers bound how many run at
// once.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace joey::crypto {

enum class PasswordCost {
  kInteractive,  // libsodium's OPSLIMIT/MEMLIMIT_INTERACTIVE: for real accounts
  kTesting,      // the minimums: only for tests, where thousands of hashes must be cheap
};

// A new argon2id hash string ("$argon2id$v=19$m=…,t=…,p=1$salt$hash") of `password`, with
// a fresh random salt, so the same password hashes differently each time. kInvalidArgument
// for a password longer than libsodium accepts; kInternal when memory runs out.
Result<std::string> hash_password(std::string_view password,
                                  PasswordCost cost = PasswordCost::kInteractive);

// True when `password` matches `hash` (compared in constant time). A malformed hash, a
// hash of another algorithm, or one whose parameters would cost more than 1 GiB of memory
// or 16 passes is false, never a crash or an attempt to allocate.
bool verify_password(std::string_view hash, std::string_view password);

// True when `hash` was made with parameters other than `cost`'s (or is malformed), so it
// should be replaced by hash_password() after the next successful verify_password().
bool needs_rehash(std::string_view hash, PasswordCost cost = PasswordCost::kInteractive);

}  // namespace joey::crypto
