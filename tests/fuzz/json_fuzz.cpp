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

// The reference is nlohmann's parser under parse_json's depth limit; its acceptor must
// agree with it.
void compare(std::string_view text) {
  const bool reference = !joey::parse_json(text).is_discarded();
  if (joey::is_json(text) != reference) std::abort();
  if (reference && !nlohmann::json::accept(text)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  compare(text);
  compare("\"" + std::string(text) + "\"");
  compare("[" + std::string(text) + "]");
  return 0;
}
