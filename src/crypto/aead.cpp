#include "crypto/aead.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>

#include "crypto/wipe.h"

namespace joey::crypto {
namespace {

struct CipherContextDeleter {
  void operator()(EVP_CIPHER_CTX* context) const { EVP_CIPHER_CTX_free(context); }
};
using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, CipherContextDeleter>;

const unsigned char* bytes_of(std::string_view data) {
  return reinterpret_cast<const unsigned char*>(data.data());
}
unsigned char* bytes_of(std::string& data) { return reinterpret_cast<unsigned char*>(data.data()); }

// Fetched once: OpenSSL 3 otherwise looks the algorithm up on every EVP_*Init call, which
// costs more than encrypting a short value. An EVP_CIPHER is immutable and shared freely.
const EVP_CIPHER* aes_256_gcm() {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

Error openssl_error(ErrorKind kind, const std::string& what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  return make_error(kind,
                    what + (code != 0 ? " (OpenSSL error " + std::to_string(code) + ")" : ""));
}

Error decrypt_failure(const std::string& why) {
  return make_error(ErrorKind::kProtocol, "AES-256-GCM decryption failed: " + why);
}

// Feeds `aad` as associated data (a null output buffer means "authenticate only").
bool add_aad(EVP_CIPHER_CTX* context, std::string_view aad, bool encrypting) {
  if (aad.empty()) return true;
  int ignored = 0;
  return encrypting ? EVP_EncryptUpdate(context, nullptr, &ignored, bytes_of(aad),
                                        static_cast<int>(aad.size())) == 1
                    : EVP_DecryptUpdate(context, nullptr, &ignored, bytes_of(aad),
                                        static_cast<int>(aad.size())) == 1;
}

}  // namespace

Result<std::string> aes256gcm_encrypt(std::string_view key, std::string_view nonce,
                                      std::string_view plaintext, std::string_view aad) {
  if (key.size() != kAes256KeyBytes || nonce.size() != kGcmNonceBytes) {
    return make_error(ErrorKind::kInvalidArgument,
                      "AES-256-GCM needs a 32-byte key and a 12-byte nonce (got " +
                          std::to_string(key.size()) + " and " + std::to_string(nonce.size()) +
                          ")");
  }
  if (plaintext.size() > kAeadMaxPlaintextBytes || aad.size() > kAeadMaxPlaintextBytes) {
    return make_error(
        ErrorKind::kInvalidArgument,
        "value too large to encrypt (" + std::to_string(plaintext.size()) + " bytes)");
  }
  CipherContext context(EVP_CIPHER_CTX_new());
  if (!context || aes_256_gcm() == nullptr ||
      EVP_EncryptInit_ex(context.get(), aes_256_gcm(), nullptr, bytes_of(key), bytes_of(nonce)) !=
          1 ||
      !add_aad(context.get(), aad, true)) {
    return openssl_error(ErrorKind::kInternal, "AES-256-GCM setup failed");
  }
  std::string output(plaintext.size() + kGcmTagBytes, '\0');
  int written = 0;
  if (!plaintext.empty() &&
      EVP_EncryptUpdate(context.get(), bytes_of(output), &written, bytes_of(plaintext),
                        static_cast<int>(plaintext.size())) != 1) {
    return openssl_error(ErrorKind::kInternal, "AES-256-GCM encryption failed");
  }
  int final_written = 0;
  if (EVP_EncryptFinal_ex(context.get(), bytes_of(output) + written, &final_written) != 1 ||
      static_cast<size_t>(written + final_written) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagBytes),
                          bytes_of(output) + plaintext.size()) != 1) {
    return openssl_error(ErrorKind::kInternal, "AES-256-GCM encryption failed");
  }
  return output;
}

Result<std::string> aes256gcm_decrypt(std::string_view key, std::string_view nonce,
                                      std::string_view sealed, std::string_view aad) {
  if (key.size() != kAes256KeyBytes || nonce.size() != kGcmNonceBytes) {
    return decrypt_failure("the key must be 32 bytes and the nonce 12");
  }
  if (sealed.size() < kGcmTagBytes) return decrypt_failure("input shorter than the tag");
  if (sealed.size() - kGcmTagBytes > kAeadMaxPlaintextBytes ||
      aad.size() > kAeadMaxPlaintextBytes) {
    return decrypt_failure("input too large");
  }
  const std::string_view ciphertext = sealed.substr(0, sealed.size() - kGcmTagBytes);
  // OpenSSL's SET_TAG takes a non-const buffer; copy the tag rather than cast.
  unsigned char tag[kGcmTagBytes];
  std::copy(sealed.end() - kGcmTagBytes, sealed.end(), reinterpret_cast<char*>(tag));

  CipherContext context(EVP_CIPHER_CTX_new());
  if (!context || aes_256_gcm() == nullptr ||
      EVP_DecryptInit_ex(context.get(), aes_256_gcm(), nullptr, bytes_of(key), bytes_of(nonce)) !=
          1 ||
      !add_aad(context.get(), aad, false)) {
    return openssl_error(ErrorKind::kInternal, "AES-256-GCM setup failed");
  }
  std::string plaintext(ciphertext.size(), '\0');
  int written = 0;
  if (!ciphertext.empty() &&
      EVP_DecryptUpdate(context.get(), bytes_of(plaintext), &written, bytes_of(ciphertext),
                        static_cast<int>(ciphertext.size())) != 1) {
    wipe(plaintext);
    return decrypt_failure("the cipher rejected the input");
  }
  int final_written = 0;
  if (EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagBytes),
                          tag) != 1 ||
      EVP_DecryptFinal_ex(context.get(), bytes_of(plaintext) + written, &final_written) != 1) {
    ERR_clear_error();
    wipe(plaintext);  // unauthenticated plaintext never leaves this function
    return decrypt_failure(
        "the authentication tag does not match (wrong key, wrong context, or "
        "altered data)");
  }
  return plaintext;
}

}  // namespace joey::crypto
