#include "base/json.h"

#include <algorithm>
#include <cctype>
#include <limits>

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

}  // namespace

json parse_json(std::string_view text) {
  if (!json_depth_within_limit(text)) return json(json::value_t::discarded);
  return json::parse(text, nullptr, /*allow_exceptions=*/false);
}

bool is_json(std::string_view text) {
  return json_depth_within_limit(text) && json::accept(text, /*ignore_comments=*/false);
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
