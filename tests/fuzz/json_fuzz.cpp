// is_json() (base/json.h) is joey's own JSON grammar scanner; it must accept exactly
// what nlohmann's parser accepts within kMaxJsonDepth. Compared on arbitrary bytes, and
// on the bytes wrapped in a string and in an array so that escapes, UTF-8 and numbers
// are reached often. The member spans is_json reports for an object must rebuild the
// object the parser builds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/json.h"

namespace {

// The reference is nlohmann's parser under parse_json's depth limit; its acceptor must
// agree with it.
void compare(std::string_view text) {
  const nlohmann::json parsed = joey::parse_json(text);
  const bool reference = !parsed.is_discarded();
  if (joey::is_json(text) != reference) std::abort();
  if (reference && !nlohmann::json::accept(text)) std::abort();
  std::vector<joey::JsonMemberSpan> members;
  if (joey::is_json(text, members) != reference) std::abort();
  if (!parsed.is_object()) {
    if (!members.empty()) std::abort();
    return;
  }
  nlohmann::json rebuilt = nlohmann::json::object();
  for (const joey::JsonMemberSpan& member : members) {
    const nlohmann::json key =
        joey::parse_json(text.substr(member.key_begin, member.key_end - member.key_begin));
    if (!key.is_string()) std::abort();
    rebuilt[key.get<std::string>()] =
        joey::parse_json(text.substr(member.value_begin, member.value_end - member.value_begin));
  }
  if (rebuilt != parsed) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  compare(text);
  compare("\"" + std::string(text) + "\"");
  compare("[" + std::string(text) + "]");
  return 0;
}
