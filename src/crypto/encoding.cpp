// Hex and base64url are written here rather than taken from OpenSSL: OpenSSL's base64
// (EVP_EncodeBlock / EVP_DecodeBlock) is the padded '+/' alphabet, skips whitespace and
// does not report the decoded length exactly, so a strict decoder would need as much
// code around it as this. These are encodings, not cryptographic primitives.
#include "crypto/encoding.h"

#include <array>
#include <cassert>
#include <cstdint>

namespace joey::crypto {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kBase64UrlAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr std::array<int8_t, 256> make_base64url_table() {
  std::array<int8_t, 256> table{};
  for (auto& entry : table) entry = -1;
  for (int index = 0; index < 64; ++index) {
    table[static_cast<unsigned char>(kBase64UrlAlphabet[index])] = static_cast<int8_t>(index);
  }
  return table;
}

constexpr std::array<int8_t, 256> kBase64UrlTable = make_base64url_table();

}  // namespace

std::string hex_encode(std::string_view bytes) {
  std::string text(bytes.size() * 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto value = static_cast<unsigned char>(bytes[i]);
    text[2 * i] = kHexDigits[value >> 4];
    text[2 * i + 1] = kHexDigits[value & 0x0f];
  }
  return text;
}

Result<std::string> hex_decode(std::string_view text) {
  if (text.size() % 2 != 0) {
    return make_error(ErrorKind::kInvalidArgument,
                      "hex text has an odd number of digits (" + std::to_string(text.size()) + ")");
  }
  std::string bytes;
  bytes.reserve(text.size() / 2);
  for (size_t pos = 0; pos < text.size(); pos += 2) {
    const int high = hex_value(text[pos]);
    const int low = hex_value(text[pos + 1]);
    if (high < 0 || low < 0) {
      return make_error(ErrorKind::kInvalidArgument,
                        "hex text has a non-hex character near offset " + std::to_string(pos));
    }
    bytes.push_back(static_cast<char>((high << 4) | low));
  }
  return bytes;
}

std::string base64url_encode(std::string_view bytes) {
  std::string text;
  text.reserve((bytes.size() + 2) / 3 * 4);
  size_t pos = 0;
  for (; pos + 3 <= bytes.size(); pos += 3) {
    const uint32_t group =
        (static_cast<uint32_t>(static_cast<unsigned char>(bytes[pos])) << 16) |
        (static_cast<uint32_t>(static_cast<unsigned char>(bytes[pos + 1])) << 8) |
        static_cast<unsigned char>(bytes[pos + 2]);
    text.push_back(kBase64UrlAlphabet[(group >> 18) & 63]);
    text.push_back(kBase64UrlAlphabet[(group >> 12) & 63]);
    text.push_back(kBase64UrlAlphabet[(group >> 6) & 63]);
    text.push_back(kBase64UrlAlphabet[group & 63]);
  }
  const size_t rest = bytes.size() - pos;
  if (rest == 1) {
    const uint32_t group = static_cast<uint32_t>(static_cast<unsigned char>(bytes[pos])) << 16;
    text.push_back(kBase64UrlAlphabet[(group >> 18) & 63]);
    text.push_back(kBase64UrlAlphabet[(group >> 12) & 63]);
  } else if (rest == 2) {
    const uint32_t group = (static_cast<uint32_t>(static_cast<unsigned char>(bytes[pos])) << 16) |
                           (static_cast<uint32_t>(static_cast<unsigned char>(bytes[pos + 1])) << 8);
    text.push_back(kBase64UrlAlphabet[(group >> 18) & 63]);
    text.push_back(kBase64UrlAlphabet[(group >> 12) & 63]);
    text.push_back(kBase64UrlAlphabet[(group >> 6) & 63]);
  }
  return text;
}

Result<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) {
    return make_error(
        ErrorKind::kInvalidArgument,
        "base64url text has an impossible length (" + std::to_string(text.size()) + " characters)");
  }
  std::string bytes;
  bytes.reserve(text.size() / 4 * 3 + 2);
  uint32_t accumulator = 0;
  int bits = 0;
  for (size_t pos = 0; pos < text.size(); ++pos) {
    const int value = kBase64UrlTable[static_cast<unsigned char>(text[pos])];
    if (value < 0) {
      return make_error(
          ErrorKind::kInvalidArgument,
          "base64url text has a character outside its alphabet at offset " + std::to_string(pos));
    }
    accumulator = (accumulator << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((accumulator >> bits) & 0xff));
    }
    accumulator &= (1u << bits) - 1;  // keep only the bits not yet emitted
  }
  if (accumulator != 0) {
    return make_error(ErrorKind::kInvalidArgument,
                      "base64url text is not canonical (its last character has unused bits set)");
  }
  return bytes;
}

void append_length_prefixed(std::string& out, std::string_view field) {
  assert(field.size() <= UINT32_MAX);
  const auto length = static_cast<uint32_t>(field.size());
  const char prefix[4] = {static_cast<char>(length >> 24), static_cast<char>(length >> 16),
                          static_cast<char>(length >> 8), static_cast<char>(length)};
  out.append(prefix, sizeof prefix);
  out.append(field);
}

}  // namespace joey::crypto
