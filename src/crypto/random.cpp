#include "crypto/random.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>

namespace joey::crypto {

std::string random_bytes(size_t count) {
  std::string bytes(count, '\0');
  size_t filled = 0;
  while (filled < count) {  // bounded: each round fills min(remaining, INT_MAX) bytes
    const size_t chunk = std::min<size_t>(count - filled, INT_MAX);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data() + filled),
                   static_cast<int>(chunk)) != 1) {
      std::fprintf(stderr, "joey: fatal: the random number generator failed (OpenSSL error %lu)\n",
                   ERR_get_error());
      std::abort();
    }
    filled += chunk;
  }
  return bytes;
}

}  // namespace joey::crypto
