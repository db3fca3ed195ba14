#include "base/json.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <system_error>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace joey {
namespace {

using nlohmann::json;

// Counts bracket nesting outside strings without building anything.
bool json_depth_within_limit(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

// A JSON text's grammar (RFC 8259) checked byte by byte, without building anything or
// copying a token: is_json() runs on every request the model proxy relays. It accepts
// exactly what nlohmann's parser accepts — a UTF-8 byte order mark at the start, strict
// UTF-8 in strings, paired \u surrogates, no number that overflows a double, and a NUL
// byte after the value ending the text — within
// kMaxJsonDepth (json_fuzz compares the two on every input).
class Validator {
 public:
  // `members`, when given, receives where the members of a top-level object lie.
  explicit Validator(std::string_view text, std::vector<JsonMemberSpan>* members = nullptr)
      : text_(text), members_(members) {}

  bool run() {
    if (text_.starts_with("\xEF\xBB\xBF")) pos_ = 3;
    skip_space();
    if (!value(0)) return false;
    skip_space();
    // nlohmann's lexer reads a NUL byte as the end of the input; parse_json still counts
    // the nesting of what follows it.
    return at_end() || (peek() == '\0' && json_depth_within_limit(text_.substr(pos_)));
  }

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  unsigned char peek() const { return static_cast<unsigned char>(text_[pos_]); }

  void skip_space() {
    while (!at_end()) {
      const unsigned char c = peek();
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
      ++pos_;
    }
  }

  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  // Iterative over arrays and objects would need its own stack; recursion is bounded by
  // kMaxJsonDepth, as nlohmann's own parser is.
  bool value(int depth) {
    if (at_end()) return false;
    switch (peek()) {
      case '{':
        return object(depth + 1);
      case '[':
        return array(depth + 1);
      case '"':
        return string();
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number();
    }
  }

  // The elements of an object or an array, from its opening bracket to `close`: each
  // read by `element`, separated by commas.
  template <typename Element>
  bool elements(int depth, char close, Element element) {
    if (depth > kMaxJsonDepth) return false;
    ++pos_;  // the opening bracket
    skip_space();
    if (!at_end() && peek() == close) {
      ++pos_;
      return true;
    }
    for (;;) {
      if (!element()) return false;
      skip_space();
      if (at_end()) return false;
      if (peek() == close) {
        ++pos_;
        return true;
      }
      if (peek() != ',') return false;
      ++pos_;
      skip_space();
    }
  }

  bool object(int depth) {
    return elements(depth, '}', [this, depth] {
      JsonMemberSpan span;
      span.key_begin = pos_;
      if (at_end() || peek() != '"' || !string()) return false;
      span.key_end = pos_;
      skip_space();
      if (at_end() || peek() != ':') return false;
      ++pos_;
      skip_space();
      span.value_begin = pos_;
      if (!value(depth)) return false;
      span.value_end = pos_;
      if (depth == 1 && members_ != nullptr) members_->push_back(span);
      return true;
    });
  }

  bool array(int depth) {
    return elements(depth, ']', [this, depth] { return value(depth); });
  }

  // Four hex digits after "\u"; nullopt when they are not.
  std::optional<unsigned> hex4() {
    if (text_.size() - pos_ < 4) return std::nullopt;
    unsigned code = 0;
    for (int i = 0; i < 4; ++i) {
      const unsigned char c = peek();
      unsigned digit = 0;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      } else {
        return std::nullopt;
      }
      code = code * 16 + digit;
      ++pos_;
    }
    return code;
  }

  bool escape() {
    ++pos_;  // backslash
    if (at_end()) return false;
    const unsigned char c = peek();
    ++pos_;
    switch (c) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        return true;
      case 'u': {
        const std::optional<unsigned> code = hex4();
        if (!code) return false;
        if (*code >= 0xDC00 && *code <= 0xDFFF) return false;  // a low surrogate alone
        if (*code < 0xD800 || *code > 0xDBFF) return true;
        if (!literal("\\u")) return false;  // a high surrogate needs its low one
        const std::optional<unsigned> low = hex4();
        return low && *low >= 0xDC00 && *low <= 0xDFFF;
      }
      default:
        return false;
    }
  }

  // `count` continuation bytes, the first within [first_low, first_high].
  bool continuation(int count, unsigned char first_low, unsigned char first_high) {
    if (text_.size() - pos_ < static_cast<size_t>(count)) return false;
    for (int i = 0; i < count; ++i) {
      const unsigned char c = peek();
      const unsigned char low = i == 0 ? first_low : 0x80;
      const unsigned char high = i == 0 ? first_high : 0xBF;
      if (c < low || c > high) return false;
      ++pos_;
    }
    return true;
  }

  bool string() {
    ++pos_;  // opening quote
    for (;;) {
      pos_ = skip_plain_string_bytes(text_, pos_);  // plain ASCII runs are the common case
      if (at_end()) return false;
      const unsigned char c = peek();
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c == '\\') {
        if (!escape()) return false;
        continue;
      }
      if (c < 0x20) return false;
      ++pos_;  // a UTF-8 lead byte (RFC 3629's table)
      bool ok = false;
      if (c >= 0xC2 && c <= 0xDF) {
        ok = continuation(1, 0x80, 0xBF);
      } else if (c == 0xE0) {
        ok = continuation(2, 0xA0, 0xBF);
      } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
        ok = continuation(2, 0x80, 0xBF);
      } else if (c == 0xED) {
        ok = continuation(2, 0x80, 0x9F);
      } else if (c == 0xF0) {
        ok = continuation(3, 0x90, 0xBF);
      } else if (c >= 0xF1 && c <= 0xF3) {
        ok = continuation(3, 0x80, 0xBF);
      } else if (c == 0xF4) {
        ok = continuation(3, 0x80, 0x8F);
      }
      if (!ok) return false;
    }
  }

  size_t digits() {
    const size_t start = pos_;
    while (!at_end() && peek() >= '0' && peek() <= '9') ++pos_;
    return pos_ - start;
  }

  bool number() {
    const size_t start = pos_;
    if (!at_end() && peek() == '-') ++pos_;
    if (at_end()) return false;
    size_t integer_digits = 0;
    if (peek() == '0') {
      ++pos_;
      integer_digits = 1;
    } else if (peek() >= '1' && peek() <= '9') {
      integer_digits = digits();
    } else {
      return false;
    }
    size_t fraction_zeros = 0;  // zeros right after the point of a number "0.000…"
    if (!at_end() && peek() == '.') {
      ++pos_;
      const size_t fraction_start = pos_;
      if (digits() == 0) return false;
      while (fraction_start + fraction_zeros < pos_ &&
             text_[fraction_start + fraction_zeros] == '0') {
        ++fraction_zeros;
      }
    }
    bool exponent = false;
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      ++pos_;
      if (!at_end() && (peek() == '+' || peek() == '-')) ++pos_;
      if (digits() == 0) return false;
      exponent = true;
    }
    // nlohmann reads a number that fits no 64-bit integer as a double and refuses one
    // that overflows it (one that underflows reads as zero); only an exponent or some
    // 309 digits can get there.
    if (!exponent && integer_digits < 300) return true;
    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    double parsed = 0;
    const std::from_chars_result read = std::from_chars(first, last, parsed);
    if (read.ec != std::errc::result_out_of_range) return true;
    // Out of range either way: overflow when the number's decimal magnitude is positive.
    long magnitude = text_[start + (text_[start] == '-' ? 1 : 0)] == '0'
                         ? -static_cast<long>(fraction_zeros) - 1
                         : static_cast<long>(integer_digits) - 1;
    if (exponent) {
      const size_t e = text_.find_first_of("eE", start);
      const std::string_view power = text_.substr(e + 1, pos_ - e - 1);
      const bool negative = power.front() == '-';
      const std::string_view power_digits = power.substr(power.front() == '+' || negative ? 1 : 0);
      // Saturates: only the sign of the sum matters, and the digits are at most ~1e9 apart.
      long value = 0;
      for (const char digit : power_digits) {
        value = std::min<long>(value * 10 + (digit - '0'), 1'000'000'000'000L);
      }
      magnitude += negative ? -value : value;
    }
    return magnitude < 0;
  }

  std::string_view text_;
  std::vector<JsonMemberSpan>* members_;
  size_t pos_ = 0;
};

}  // namespace

size_t skip_plain_string_bytes(std::string_view text, size_t pos) {
#if defined(__SSE2__)
  // Sixteen bytes at a time: a signed compare below 0x20 flags control bytes and every
  // byte from 0x80 (negative as signed), two equality compares flag '"' and '\\'. The
  // lowest mask bit is the first flagged byte in the text.
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  while (pos + 16 <= text.size()) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + pos));
    const __m128i flagged =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)),
                     _mm_cmplt_epi8(bytes, space));
    const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(flagged));
    if (mask != 0) return pos + static_cast<size_t>(std::countr_zero(mask));
    pos += 16;
  }
#endif
  // Per 64-bit word: the high bit of a byte of `found` is set when that byte is below 0x20
  // (the subtraction borrows), is '"' or '\\' (its XOR with that byte is zero, so minus
  // one borrows), or is 0x80 and above. A borrow into the next byte starts only at a
  // byte that matched, so "no byte matched" is exact, and so is the lowest flagged byte:
  // in a little-endian word that is the first byte in the text that matched.
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  while (pos + 8 <= text.size()) {
    uint64_t word = 0;
    std::memcpy(&word, text.data() + pos, 8);
    const uint64_t found = ((word - kOnes * 0x20) | ((word ^ (kOnes * '"')) - kOnes) |
                            ((word ^ (kOnes * '\\')) - kOnes) | word) &
                           kHigh;
    if (found != 0) {
      if constexpr (std::endian::native == std::endian::little) {
        return pos + static_cast<size_t>(std::countr_zero(found)) / 8;
      }
      break;
    }
    pos += 8;
  }
  while (pos < text.size()) {
    const auto c = static_cast<unsigned char>(text[pos]);
    if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
    ++pos;
  }
  return pos;
}

json parse_json(std::string_view text) {
  if (!json_depth_within_limit(text)) return json(json::value_t::discarded);
  return json::parse(text, nullptr, /*allow_exceptions=*/false);
}

bool is_json(std::string_view text) { return Validator(text).run(); }

bool is_json(std::string_view text, std::vector<JsonMemberSpan>& members) {
  members.clear();
  members.reserve(16);  // what a request body or an event's object holds, in one allocation
  const bool valid = Validator(text, &members).run();
  if (!valid) members.clear();
  return valid;
}

const std::string* string_field(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

const json* object_field(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it != object.end() && it->is_object() ? &*it : nullptr;
}

const json* array_field(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it != object.end() && it->is_array() ? &*it : nullptr;
}

std::optional<int64_t> integer_field(const json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  const auto it = object.find(key);
  if (it == object.end()) return std::nullopt;
  if (it->is_number_unsigned()) {
    const uint64_t value = it->get<uint64_t>();
    return static_cast<int64_t>(
        std::min<uint64_t>(value, static_cast<uint64_t>(std::numeric_limits<int64_t>::max())));
  }
  if (it->is_number_integer()) return it->get<int64_t>();
  return std::nullopt;
}

std::string body_excerpt(std::string_view body, size_t max_bytes) {
  std::string_view excerpt = body.substr(0, std::min(body.size(), max_bytes));
  const bool truncated = excerpt.size() < body.size();
  if (truncated) {
    // Do not end inside a UTF-8 sequence: drop continuation bytes and their lead.
    size_t end = excerpt.size();
    while (end > 0 && (static_cast<unsigned char>(excerpt[end - 1]) & 0xC0) == 0x80) --end;
    if (end > 0 && static_cast<unsigned char>(excerpt[end - 1]) >= 0xC0) --end;
    excerpt = excerpt.substr(0, end);
  }
  while (!excerpt.empty() && std::isspace(static_cast<unsigned char>(excerpt.back()))) {
    excerpt.remove_suffix(1);
  }
  while (!excerpt.empty() && std::isspace(static_cast<unsigned char>(excerpt.front()))) {
    excerpt.remove_prefix(1);
  }
  if (excerpt.empty()) return "(empty response body)";
  return std::string(excerpt) + (truncated ? "…" : "");
}

}  // namespace joey
