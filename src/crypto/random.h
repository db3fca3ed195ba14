// Random bytes from OpenSSL's CSPRNG (seeded by the kernel). Every key, nonce, salt and
// token joey's Cloud makes comes from here.
//
// Thread-safety: safe to call from any thread.
#pragma once

#include <cstddef>
#include <string>

namespace joey::crypto {

// `count` random bytes. A failure of the CSPRNG cannot be handled by a caller (there is
// no safe fallback, and a zero key would be silently weak), so it ends the process with
// a message on stderr; it is never returned as zeros.
std::string random_bytes(size_t count);

}  // namespace joey::crypto
