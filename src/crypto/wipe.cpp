#include "crypto/wipe.h"

#include <openssl/crypto.h>

namespace joey::crypto {

void wipe(std::string& bytes) {
  // Growing to the capacity never reallocates, and makes the bytes past size() ours to
  // write through data().
  bytes.resize(bytes.capacity());
  OPENSSL_cleanse(bytes.data(), bytes.size());
  bytes.clear();
}

}  // namespace joey::crypto
