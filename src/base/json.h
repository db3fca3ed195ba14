// JSON helpers for bytes from outside (provider responses, model tool arguments):
// parsing that never throws and refuses pathological nesting, and typed field access
// that treats a missing or mistyped field as absent. One JSON library: nlohmann.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace joey {

// Deeper JSON than any real payload holds; the limit keeps hostile input from
// exhausting the stack in nlohmann's recursive dump() and destructor.
inline constexpr int kMaxJsonDepth = 256;

// The parsed value, or a discarded one (is_discarded()) when `text` is not JSON or
// nests deeper than kMaxJsonDepth.
nlohmann::json parse_json(std::string_view text);

// Whether `text` is one JSON value (within kMaxJsonDepth) — what parse_json accepts —
// checked without building it.
bool is_json(std::string_view text);

// Where one member of a JSON object lies in its text: its key as written (quotes and
// escapes included) and its value.
struct JsonMemberSpan {
  size_t key_begin = 0;
  size_t key_end = 0;
  size_t value_begin = 0;
  size_t value_end = 0;
};

// is_json(text), and when the value is an object, where its members lie, in order (empty
// for other values and when `text` is not JSON) — read in the same pass.
bool is_json(std::string_view text, std::vector<JsonMemberSpan>& members);

// Inside a JSON string: the first position at or after `pos` holding a byte that is not
// plain printable ASCII — '"', '\\', a control byte or a UTF-8 byte — or text.size().
// Eight bytes at a time: string scanning is most of what checking a JSON text costs.
size_t skip_plain_string_bytes(std::string_view text, size_t pos);

// Fields of an object; null when `object` is not an object or the field is absent or
// of another type.
const std::string* string_field(const nlohmann::json& object, const char* key);
const nlohmann::json* object_field(const nlohmann::json& object, const char* key);
const nlohmann::json* array_field(const nlohmann::json& object, const char* key);
// An integer field, or nullopt when absent or not an integer. Huge values clamp.
std::optional<int64_t> integer_field(const nlohmann::json& object, const char* key);

// The start of an untrusted body for an error message: at most `max_bytes`, never
// ending inside a UTF-8 sequence, trimmed, with "…" when cut;
// "(empty response body)" when nothing is left.
std::string body_excerpt(std::string_view body, size_t max_bytes);

}  // namespace joey
