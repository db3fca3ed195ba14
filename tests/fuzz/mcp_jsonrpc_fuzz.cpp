// Feeds arbitrary bytes to the MCP JSON-RPC framing: the stdio line splitter (in
// pieces whose sizes come from the input), then parse_frame on every line. A message
// that parses must serialize to text that parses back to the same message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "mcp/jsonrpc.h"

namespace {

void check_round_trip(const joey::mcp::Message& message) {
  const std::string text = joey::mcp::serialize(message);
  joey::Result<std::vector<joey::mcp::Message>> again = joey::mcp::parse_frame(text);
  if (!again.ok() || again->size() != 1) std::abort();
  const joey::mcp::Message& copy = (*again)[0];
  if (copy.type != message.type || copy.id != message.id || copy.method != message.method ||
      copy.error_code != message.error_code) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t piece = data[0] % 32 + 1;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::vector<std::string> lines;
  joey::mcp::LineSplitter splitter(/*max_line_bytes=*/4096);
  for (size_t pos = 0; pos < stream.size(); pos += piece) {
    splitter.feed(
        stream.substr(pos, piece), [&](std::string_view line) { lines.emplace_back(line); }, [] {});
  }
  // The whole input as one frame too (a JSON body or an SSE event's data).
  lines.emplace_back(stream);
  for (const std::string& line : lines) {
    joey::Result<std::vector<joey::mcp::Message>> messages = joey::mcp::parse_frame(line);
    if (!messages.ok()) {
      if (messages.error().message.empty()) std::abort();
      continue;
    }
    for (const joey::mcp::Message& message : *messages) check_round_trip(message);
  }
  return 0;
}
