#include "base/terminal_text.h"

#include <cstdint>

namespace joey {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the UTF-8 sequence a lead byte starts and the range its second byte must
// fall in (Unicode table 3-7); 0 for a byte that cannot start a sequence.
struct LeadByte {
  size_t length = 0;
  uint8_t second_low = 0x80;
  uint8_t second_high = 0xBF;
};

LeadByte classify_lead(uint8_t byte) {
  if (byte >= 0xC2 && byte <= 0xDF) return {2, 0x80, 0xBF};
  if (byte == 0xE0) return {3, 0xA0, 0xBF};
  if (byte == 0xED) return {3, 0x80, 0x9F};
  if (byte >= 0xE1 && byte <= 0xEF) return {3, 0x80, 0xBF};
  if (byte == 0xF0) return {4, 0x90, 0xBF};
  if (byte >= 0xF1 && byte <= 0xF3) return {4, 0x80, 0xBF};
  if (byte == 0xF4) return {4, 0x80, 0x8F};
  return {};
}

enum class Sequence { kValid, kInvalid, kIncomplete };

// Checks the sequence starting at text[0] (a non-ASCII byte).
Sequence check_sequence(std::string_view text, LeadByte lead) {
  if (lead.length == 0) return Sequence::kInvalid;
  for (size_t index = 1; index < lead.length; ++index) {
    if (index >= text.size()) return Sequence::kIncomplete;
    auto byte = static_cast<uint8_t>(text[index]);
    uint8_t low = index == 1 ? lead.second_low : 0x80;
    uint8_t high = index == 1 ? lead.second_high : 0xBF;
    if (byte < low || byte > high) return Sequence::kInvalid;
  }
  return Sequence::kValid;
}

// Neutralises `text`; when !at_end, an incomplete trailing sequence is left unconsumed.
// Returns how many bytes were consumed.
size_t sanitize(std::string_view text, bool at_end, std::string& out) {
  size_t position = 0;
  while (position < text.size()) {
    auto byte = static_cast<uint8_t>(text[position]);
    if (byte < 0x80) {
      if (byte == '\n' || byte == '\t' || (byte >= 0x20 && byte != 0x7F)) {
        out.push_back(static_cast<char>(byte));
      } else if (byte != '\r') {
        out.append(kReplacement);
      }
      ++position;
      continue;
    }
    LeadByte lead = classify_lead(byte);
    Sequence sequence = check_sequence(text.substr(position), lead);
    if (sequence == Sequence::kIncomplete && !at_end) break;
    if (sequence != Sequence::kValid) {
      out.append(kReplacement);
      ++position;
      continue;
    }
    // C1 controls are U+0080..U+009F, encoded C2 80..C2 9F.
    bool c1_control = byte == 0xC2 && static_cast<uint8_t>(text[position + 1]) <= 0x9F;
    if (c1_control) {
      out.append(kReplacement);
    } else {
      out.append(text.substr(position, lead.length));
    }
    position += lead.length;
  }
  return position;
}

}  // namespace

std::string TerminalSanitizer::feed(std::string_view chunk) {
  pending_.append(chunk);
  std::string out;
  size_t consumed = sanitize(pending_, /*at_end=*/false, out);
  pending_.erase(0, consumed);
  return out;
}

std::string TerminalSanitizer::finish() {
  std::string out;
  sanitize(pending_, /*at_end=*/true, out);
  pending_.clear();
  return out;
}

std::string sanitize_for_terminal(std::string_view text) {
  TerminalSanitizer sanitizer;
  std::string out = sanitizer.feed(text);
  out.append(sanitizer.finish());
  return out;
}

}  // namespace joey
