#include "crypto/hash.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <utility>

namespace joey::crypto {
namespace {

[[noreturn]] void fatal_openssl(const char* what) {
  std::fprintf(stderr, "joey: fatal: OpenSSL failed in %s (error %lu)\n", what, ERR_get_error());
  std::abort();
}

const unsigned char* bytes_of(std::string_view data) {
  return reinterpret_cast<const unsigned char*>(data.data());
}

// Fetched once: an EVP_KDF is immutable and may be shared by every thread.
EVP_KDF* hkdf_algorithm() {
  static EVP_KDF* const algorithm = EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr);
  if (algorithm == nullptr) fatal_openssl("fetching HKDF");
  return algorithm;
}

// Fetched once: EVP_sha256() names the algorithm, and OpenSSL 3 then looks its
// implementation up again on every digest or MAC (the model proxy hashes every request's
// token). An EVP_MD is immutable and may be shared by every thread.
const EVP_MD* sha256_algorithm() {
  static EVP_MD* const algorithm = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (algorithm == nullptr) fatal_openssl("fetching SHA-256");
  return algorithm;
}

struct KdfContextDeleter {
  void operator()(EVP_KDF_CTX* context) const { EVP_KDF_CTX_free(context); }
};

}  // namespace

std::string sha256(std::string_view data) {
  // One context per thread, kept: EVP_Digest makes and frees a context and its
  // provider state for every digest, several times the cost of hashing a token.
  struct ContextDeleter {
    void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
  };
  thread_local const std::unique_ptr<EVP_MD_CTX, ContextDeleter> context(EVP_MD_CTX_new());
  if (!context) fatal_openssl("SHA-256 context");
  std::string digest(kSha256Bytes, '\0');
  unsigned int digest_length = 0;
  if (EVP_DigestInit_ex2(context.get(), sha256_algorithm(), nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(), reinterpret_cast<unsigned char*>(digest.data()),
                         &digest_length) != 1 ||
      digest_length != kSha256Bytes) {
    fatal_openssl("SHA-256");
  }
  return digest;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::string mac(kSha256Bytes, '\0');
  unsigned int mac_length = 0;
  // HMAC() is OpenSSL 3's one-shot MAC (not deprecated, unlike HMAC_CTX); a non-null
  // key pointer is passed even for an empty key.
  static const unsigned char kEmpty = 0;
  const unsigned char* key_bytes = key.empty() ? &kEmpty : bytes_of(key);
  if (HMAC(sha256_algorithm(), key_bytes, static_cast<int>(key.size()), bytes_of(data), data.size(),
           reinterpret_cast<unsigned char*>(mac.data()), &mac_length) == nullptr ||
      mac_length != kSha256Bytes) {
    fatal_openssl("HMAC-SHA256");
  }
  return mac;
}

namespace {

// Fetched once: an EVP_MAC is immutable and may be shared by every thread.
EVP_MAC* hmac_algorithm() {
  static EVP_MAC* const algorithm = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  if (algorithm == nullptr) fatal_openssl("fetching HMAC");
  return algorithm;
}

}  // namespace

HmacSha256::HmacSha256(std::string_view key) : context_(EVP_MAC_CTX_new(hmac_algorithm())) {
  if (context_ == nullptr) fatal_openssl("HMAC context");
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_END};
  static const unsigned char kEmpty = 0;
  if (EVP_MAC_init(context_, key.empty() ? &kEmpty : bytes_of(key), key.size(), params) != 1) {
    fatal_openssl("HMAC-SHA256 key");
  }
}

HmacSha256::~HmacSha256() { EVP_MAC_CTX_free(context_); }

HmacSha256::HmacSha256(HmacSha256&& other) noexcept
    : context_(std::exchange(other.context_, nullptr)) {}

HmacSha256& HmacSha256::operator=(HmacSha256&& other) noexcept {
  if (this != &other) {
    EVP_MAC_CTX_free(context_);
    context_ = std::exchange(other.context_, nullptr);
  }
  return *this;
}

void HmacSha256::mac(std::string_view data, unsigned char (&out)[kSha256Bytes]) {
  size_t length = 0;
  // A null key re-initialises with the key given at construction, already processed.
  if (EVP_MAC_init(context_, nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(context_, bytes_of(data), data.size()) != 1 ||
      EVP_MAC_final(context_, out, &length, kSha256Bytes) != 1 || length != kSha256Bytes) {
    fatal_openssl("HMAC-SHA256");
  }
}

std::string HmacSha256::mac(std::string_view data) {
  unsigned char out[kSha256Bytes];
  mac(data, out);
  return std::string(reinterpret_cast<const char*>(out), kSha256Bytes);
}

Result<std::string> hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info,
                                size_t length) {
  if (length == 0 || length > kHkdfSha256MaxBytes) {
    return make_error(ErrorKind::kInvalidArgument, "HKDF-SHA256 output length must be 1.." +
                                                       std::to_string(kHkdfSha256MaxBytes) +
                                                       " bytes, not " + std::to_string(length));
  }
  if (ikm.empty()) {
    return make_error(ErrorKind::kInvalidArgument,
                      "HKDF-SHA256 needs non-empty input key material");
  }
  std::unique_ptr<EVP_KDF_CTX, KdfContextDeleter> context(EVP_KDF_CTX_new(hkdf_algorithm()));
  if (!context) fatal_openssl("creating an HKDF context");

  char digest_name[] = "SHA256";
  OSSL_PARAM params[5];
  size_t count = 0;
  params[count++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_name, 0);
  params[count++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                      const_cast<char*>(ikm.data()), ikm.size());
  // An absent salt is HKDF's zero salt; an absent info is the empty info.
  if (!salt.empty()) {
    params[count++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()), salt.size());
  }
  if (!info.empty()) {
    params[count++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size());
  }
  params[count] = OSSL_PARAM_construct_end();

  std::string output(length, '\0');
  if (EVP_KDF_derive(context.get(), reinterpret_cast<unsigned char*>(output.data()), length,
                     params) != 1) {
    fatal_openssl("HKDF-SHA256");
  }
  return output;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace joey::crypto
