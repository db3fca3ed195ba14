#include "crypto/sealed_value.h"

#include "crypto/aead.h"
#include "crypto/encoding.h"
#include "crypto/random.h"

namespace joey::crypto {
namespace {

constexpr size_t kHeaderBytes = 1 + kDataKeyIdBytes;
static_assert(kSealedValueOverheadBytes == kHeaderBytes + kGcmNonceBytes + kGcmTagBytes);

Status check_context(const ValueContext& context) {
  for (const std::string* field :
       {&context.tenant, &context.table, &context.column, &context.row}) {
    if (field->size() > kMaxContextFieldBytes) {
      return make_error(ErrorKind::kInvalidArgument,
                        "a value context field is " + std::to_string(field->size()) +
                            " bytes; at most " + std::to_string(kMaxContextFieldBytes) +
                            " are allowed");
    }
  }
  return ok_status();
}

// The header (version and raw key id) followed by the length-prefixed context.
std::string associated_data(std::string_view header, const ValueContext& context) {
  std::string aad;
  aad.reserve(header.size() + 16 + context.tenant.size() + context.table.size() +
              context.column.size() + context.row.size());
  aad.append(header);
  append_length_prefixed(aad, context.tenant);
  append_length_prefixed(aad, context.table);
  append_length_prefixed(aad, context.column);
  append_length_prefixed(aad, context.row);
  return aad;
}

Error malformed(const std::string& why) {
  return make_error(ErrorKind::kProtocol, "cannot open an encrypted value: " + why);
}

}  // namespace

Result<std::string> seal(const DataKey& key, std::string_view plaintext,
                         const ValueContext& context) {
  TRY(check_context(context));
  std::string sealed;
  sealed.reserve(kSealedValueOverheadBytes + plaintext.size());
  sealed.push_back(static_cast<char>(kSealedValueVersion));
  sealed += key.raw_id();
  const std::string nonce = random_bytes(kGcmNonceBytes);
  const std::string ciphertext =
      TRY(aes256gcm_encrypt(key.secret(), nonce, plaintext, associated_data(sealed, context)));
  sealed += nonce;
  sealed += ciphertext;
  return sealed;
}

Result<std::string> sealed_key_id(std::string_view sealed) {
  if (sealed.size() < kSealedValueOverheadBytes) {
    return malformed("it is " + std::to_string(sealed.size()) + " bytes, shorter than any " +
                     "encrypted value");
  }
  if (static_cast<uint8_t>(sealed[0]) != kSealedValueVersion) {
    return malformed("unknown format version " + std::to_string(static_cast<uint8_t>(sealed[0])));
  }
  return hex_encode(sealed.substr(1, kDataKeyIdBytes));
}

Result<std::string> open(const DataKey& key, std::string_view sealed, const ValueContext& context) {
  const std::string key_id = TRY(sealed_key_id(sealed));
  if (key_id != key.id()) {
    return malformed("it was sealed with data key " + key_id + ", not " + key.id());
  }
  if (!check_context(context).ok()) return malformed("its context is too long");
  const std::string_view header = sealed.substr(0, kHeaderBytes);
  const std::string_view nonce = sealed.substr(kHeaderBytes, kGcmNonceBytes);
  const std::string_view ciphertext = sealed.substr(kHeaderBytes + kGcmNonceBytes);
  auto plaintext =
      aes256gcm_decrypt(key.secret(), nonce, ciphertext, associated_data(header, context));
  if (!plaintext.ok()) {
    return malformed(
        "it does not authenticate for this tenant, table, column and row "
        "(moved, altered, or sealed with another key)");
  }
  return plaintext;
}

}  // namespace joey::crypto
