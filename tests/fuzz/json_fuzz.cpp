// is_json() (base/json.h) is joey's own JSON grammar scanner; it must accept exactly
// what nlohmann's parser accepts within kMaxJsonDepth. Compared on arbitrary bytes, and
// on the bytes wrapped in a string and in an array so that escapes, UTF-8 and numbers
// are reached often.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/json.h"

namespace {

// Bracket nesting outside strings, as parse_json counts it before parsing.
bool depth_within_limit(std::string_view text) {
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
      if (++depth > joey::kMaxJsonDepth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

void compare(std::string_view text) {
  const bool reference = depth_within_limit(text) && nlohmann::json::accept(text);
  if (joey::is_json(text) != reference) std::abort();
  // What is_json accepts, parse_json parses.
  if (reference && joey::parse_json(text).is_discarded()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  compare(text);
  compare("\"" + std::string(text) + "\"");
  compare("[" + std::string(text) + "]");
  return 0;
}
