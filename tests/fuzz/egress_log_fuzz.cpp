// Feeds arbitrary bytes to the egress log's line parser (what `joey privacy report`
// reads) and checks that whatever it accepts survives a format/parse round trip
// unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "llm/egress_log.h"

namespace {

bool same(const joey::llm::EgressRecord& a, const joey::llm::EgressRecord& b) {
  return a.time == b.time && a.host == b.host && a.purpose == b.purpose && a.method == b.method &&
         a.bytes_sent == b.bytes_sent && a.bytes_received == b.bytes_received &&
         a.status == b.status;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::optional<joey::llm::EgressRecord> parsed =
        joey::llm::parse_egress_line(text.substr(pos, end - pos));
    if (parsed) {
      const std::optional<joey::llm::EgressRecord> again =
          joey::llm::parse_egress_line(joey::llm::format_egress_line(*parsed));
      if (!again || !same(*parsed, *again)) std::abort();
      if (!joey::llm::parse_utc_timestamp(parsed->time)) std::abort();
    }
    pos = end + 1;
  }
  return 0;
}
