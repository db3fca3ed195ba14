// Wiping key material from memory once it is no longer needed, so a later heap dump or a
// freed page holds less of it. Best effort: buffers a string left behind while it grew
// are out of reach, so code that accumulates a secret reserves its final size first.
//
// Thread-safety: reentrant.
#pragma once

#include <string>

namespace joey::crypto {

// Overwrites every byte `bytes` owns (its whole capacity) with a write the compiler cannot
// elide (OPENSSL_cleanse), then empties it.
void wipe(std::string& bytes);

}  // namespace joey::crypto
