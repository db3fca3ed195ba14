// Small byte-string helpers shared by base modules. All functions treat text as
// bytes that are usually UTF-8; none of them allocate unless they return a string.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace joey {

// Length of the valid UTF-8 sequence starting at text[pos], or 0 when the bytes there
// are not one (stray continuation byte, overlong form, surrogate, cut-off sequence).
size_t utf8_sequence_length(std::string_view text, size_t pos);

// The longest prefix of `text` of at most `max_bytes` bytes that does not end in the
// middle of a multi-byte UTF-8 sequence.
std::string_view utf8_prefix(std::string_view text, size_t max_bytes);

// `text` without the continuation bytes (at most three) that a cut in the middle of a
// UTF-8 sequence leaves at its start.
std::string_view utf8_drop_partial_start(std::string_view text);

// ASCII case-insensitive comparisons.
bool ascii_iequals(std::string_view left, std::string_view right);
bool ascii_istarts_with(std::string_view text, std::string_view prefix);
std::string ascii_lower(std::string_view text);
void ascii_lower_in_place(std::string& text);

// `text` without leading and trailing spaces, tabs, CRs and LFs.
std::string_view trim(std::string_view text);

}  // namespace joey
