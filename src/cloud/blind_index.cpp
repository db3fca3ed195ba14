#include "cloud/blind_index.h"

#include <array>
#include <cstdint>
#include <utility>

#include "base/strings.h"
#include "crypto/hash.h"
#include "crypto/wipe.h"

namespace joey::cloud {
namespace {

// The HKDF info (purpose) of the search key; a new scheme gets a new version.
constexpr std::string_view kSearchKeyPurpose = "joey blind index v1";
constexpr size_t kBlindedBytes = 8;  // 64 bits, 16 hex characters

uint32_t decode_code_point(std::string_view text, size_t pos, size_t length) {
  const auto byte = [&](size_t index) { return static_cast<uint32_t>(text[pos + index]) & 0xFF; };
  switch (length) {
    case 2:
      return ((byte(0) & 0x1F) << 6) | (byte(1) & 0x3F);
    case 3:
      return ((byte(0) & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
    default:
      return ((byte(0) & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) |
             (byte(3) & 0x3F);
  }
}

// Non-ASCII characters that separate words like ASCII punctuation does: Latin-1
// punctuation and symbols (no-break space, «», ¿, ×, ÷), the General Punctuation block
// (typographic spaces, dashes, quotes, ellipsis, zero-width spaces), CJK punctuation,
// the byte-order mark and the full-width forms of ASCII punctuation. Without this,
// “quoted” text would be indexed with its quotes and not found by a plain query.
bool is_separator_code_point(uint32_t c) {
  if (c <= 0xBF) return c != 0xAA && c != 0xB5 && c != 0xBA;  // ª µ º are letters
  if (c == 0xD7 || c == 0xF7) return true;
  if (c >= 0x2000 && c <= 0x206F) return true;
  if ((c >= 0x3000 && c <= 0x3003) || (c >= 0x3008 && c <= 0x301F)) return true;
  if (c == 0xFEFF) return true;
  return (c >= 0xFF01 && c <= 0xFF0F) || (c >= 0xFF1A && c <= 0xFF20) ||
         (c >= 0xFF3B && c <= 0xFF40) || (c >= 0xFF5B && c <= 0xFF65);
}

// One normalised word while it is being read: its bytes (at most kMaxWordBytes) and
// where each of its characters ends, so prefixes are cut on character boundaries
// without scanning the word again. Lives on the stack; nothing is allocated per byte.
struct WordBuffer {
  std::array<char, kMaxWordBytes> bytes{};
  std::array<uint8_t, kMaxWordBytes> char_ends{};
  size_t size = 0;
  size_t chars = 0;
  bool full = false;  // a character did not fit: the rest of the word is dropped

  void clear() {
    size = 0;
    chars = 0;
    full = false;
  }
  void append(const char* data, size_t length) {
    if (full || size + length > kMaxWordBytes) {
      full = true;
      return;
    }
    for (size_t i = 0; i < length; ++i) bytes[size + i] = data[i];
    size += length;
    char_ends[chars++] = static_cast<uint8_t>(size);
  }
  std::string_view view() const { return {bytes.data(), size}; }
  std::string_view prefix(size_t char_count) const {
    return {bytes.data(), char_ends[char_count - 1]};
  }
};

// Calls on_word(const WordBuffer&) for each word of `text` in order until it returns
// false. One pass over the bytes; the work per byte is constant.
template <typename OnWord>
void for_each_word(std::string_view text, OnWord&& on_word) {
  WordBuffer word;
  size_t pos = 0;
  while (pos < text.size()) {
    const auto byte = static_cast<unsigned char>(text[pos]);
    size_t length = 1;
    bool word_char = false;
    if (byte < 0x80) {
      if (byte >= 'A' && byte <= 'Z') {
        const char lower = static_cast<char>(byte - 'A' + 'a');
        word.append(&lower, 1);
        ++pos;
        continue;
      }
      word_char = (byte >= 'a' && byte <= 'z') || (byte >= '0' && byte <= '9');
    } else {
      length = utf8_sequence_length(text, pos);
      if (length == 0) {
        length = 1;  // an invalid byte separates words
      } else {
        word_char = !is_separator_code_point(decode_code_point(text, pos, length));
      }
    }
    if (word_char) {
      word.append(text.data() + pos, length);
    } else if (word.size > 0) {
      if (!on_word(static_cast<const WordBuffer&>(word))) return;
      word.clear();
    }
    pos += length;
  }
  if (word.size > 0) on_word(static_cast<const WordBuffer&>(word));
}

// Calls on_term(std::string_view) for each term of `text` (each word's prefixes of
// kMinPrefixChars characters and more, the word itself last), at most kMaxTermsPerText.
template <typename OnTerm>
void for_each_term(std::string_view text, OnTerm&& on_term) {
  size_t count = 0;
  for_each_word(text, [&](const WordBuffer& word) {
    const size_t first = word.chars < kMinPrefixChars ? word.chars : kMinPrefixChars;
    for (size_t chars = first; chars <= word.chars; ++chars) {
      if (count == kMaxTermsPerText) return false;
      on_term(word.prefix(chars));
      ++count;
    }
    return count < kMaxTermsPerText;
  });
}

void append_blinded(std::string& out, crypto::HmacSha256& hmac, std::string_view term) {
  unsigned char mac[crypto::kSha256Bytes];
  hmac.mac(term, mac);
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < kBlindedBytes; ++i) {
    const unsigned char value = mac[i];
    out.push_back(kHex[value >> 4]);
    out.push_back(kHex[value & 0x0F]);
  }
}

}  // namespace

std::vector<std::string> index_terms(std::string_view text) {
  std::vector<std::string> terms;
  for_each_term(text, [&](std::string_view term) { terms.emplace_back(term); });
  return terms;
}

std::vector<std::string> query_words(std::string_view query) {
  std::vector<std::string> words;
  for_each_word(query, [&](const WordBuffer& word) {
    const std::string_view text = word.view();
    for (const std::string& seen : words) {
      if (seen == text) return true;
    }
    words.emplace_back(text);
    return words.size() < kMaxQueryWords;
  });
  return words;
}

BlindIndexKey::BlindIndexKey(std::string key) : hmac_(key) { crypto::wipe(key); }

BlindIndexKey BlindIndexKey::derive(const crypto::DataKey& data_key) {
  return BlindIndexKey(crypto::derive_key(data_key, kSearchKeyPurpose));
}

std::string BlindIndexKey::blind(std::string_view term) const {
  std::string out;
  out.reserve(kBlindedBytes * 2);
  append_blinded(out, hmac_, term);
  return out;
}

std::string BlindIndexKey::blind_text(std::string_view text) const {
  std::string out;
  for_each_term(text, [&](std::string_view term) {
    if (!out.empty()) out.push_back(' ');
    append_blinded(out, hmac_, term);
  });
  return out;
}

std::vector<std::string> BlindIndexKey::blind_query(std::string_view query) const {
  std::vector<std::string> blinded;
  for (const std::string& word : query_words(query)) blinded.push_back(blind(word));
  return blinded;
}

}  // namespace joey::cloud
