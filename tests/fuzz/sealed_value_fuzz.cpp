// Feeds arbitrary bytes to every parser of stored crypto data: sealed values
// (sealed_key_id, open with a fixed key and context), hex and base64url decoding, and the
// key-encryption key file. Checks that nothing crashes, that decoders accept only
// canonical text (decode then encode gives the input back), that an opened value really
// was sealed with the fixed key, and that a refused KEK file is never quoted (its error is
// one of the parser's fixed messages).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "crypto/data_key.h"
#include "crypto/encoding.h"
#include "crypto/key_encryption_key.h"
#include "crypto/sealed_value.h"
#include "crypto/wipe.h"

namespace {

// The key and context of the seed corpus/sealed_value/valid_sealed_value.
const joey::crypto::DataKey& fixed_key() {
  static const joey::crypto::DataKey key = [] {
    std::string secret;
    for (int value = 0; value < 32; ++value) secret.push_back(static_cast<char>(value));
    return joey::crypto::DataKey::from_parts("000102030405060708090a0b0c0d0e0f", secret).value();
  }();
  return key;
}

const joey::crypto::ValueContext kContext{"org:fuzz", "task_messages", "content", "row-1"};

std::string ascii_lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

void check_sealed_value(std::string_view bytes) {
  const auto key_id = joey::crypto::sealed_key_id(bytes);
  const auto opened = joey::crypto::open(fixed_key(), bytes, kContext);
  if (opened.ok()) {
    if (!key_id.ok() || *key_id != fixed_key().id()) std::abort();
    if (bytes.size() != opened->size() + joey::crypto::kSealedValueOverheadBytes) std::abort();
  }
}

void check_decoders(std::string_view text) {
  if (const auto bytes = joey::crypto::hex_decode(text); bytes.ok()) {
    if (joey::crypto::hex_encode(*bytes) != ascii_lower(text)) std::abort();
  }
  if (const auto bytes = joey::crypto::base64url_decode(text); bytes.ok()) {
    if (joey::crypto::base64url_encode(*bytes) != text) std::abort();
  }
}

void check_kek_file(std::string_view content) {
  auto kek = joey::crypto::KeyEncryptionKey::parse_file_content(content);
  if (kek.ok()) {
    std::string written = kek->file_content();
    const auto reparsed = joey::crypto::KeyEncryptionKey::parse_file_content(written);
    if (!reparsed.ok() || reparsed->id() != kek->id()) std::abort();
    joey::crypto::wipe(written);
    return;
  }
  // The parser's messages are fixed text, so a refusal can only quote the input by
  // being some other message.
  static const std::string kNotAKekFile =
      joey::crypto::KeyEncryptionKey::parse_file_content("").error().message;
  static const std::string kMalformedKey =
      joey::crypto::KeyEncryptionKey::parse_file_content("joey-kek-v1 !").error().message;
  const std::string& message = kek.error().message;
  if (message != kNotAKekFile && message != kMalformedKey) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check_sealed_value(bytes);
  check_decoders(bytes);
  check_kek_file(bytes);
  return 0;
}
