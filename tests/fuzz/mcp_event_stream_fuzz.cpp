// Feeds arbitrary bytes to the MCP SSE message reader (mcp/event_stream.h), which joins
// the SSE parser and JSON-RPC framing for both HTTP transports: once whole and once in
// pieces whose sizes come from the input. The split must not change which messages are
// delivered, how many events are skipped, the Last-Event-ID or whether the stream fails.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "mcp/event_stream.h"
#include "mcp/jsonrpc.h"

namespace {

struct Outcome {
  std::vector<std::string> messages;  // serialized
  std::vector<std::string> other_events;
  size_t skipped = 0;
  std::string last_event_id;
  bool failed = false;
};

Outcome read(std::string_view stream, size_t piece) {
  Outcome outcome;
  joey::mcp::SseMessageHandlers handlers;
  handlers.on_message = [&outcome](joey::mcp::Message message) {
    outcome.messages.push_back(joey::mcp::serialize(message));
  };
  handlers.on_other_event = [&outcome](const joey::llm::SseEvent& event) {
    outcome.other_events.push_back(event.event + "\n" + event.data);
    return joey::ok_status();
  };
  joey::mcp::SseMessageReader reader("fuzz", handlers);
  for (size_t pos = 0; pos < stream.size() && !outcome.failed; pos += piece) {
    outcome.failed = !reader.feed(stream.substr(pos, piece)).ok();
  }
  if (reader.delivered() != outcome.messages.size()) std::abort();
  outcome.skipped = reader.skipped();
  outcome.last_event_id = reader.last_event_id();
  return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t piece = data[0] % 64 + 1;
  const std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  const Outcome whole = read(stream, stream.size() + 1);
  const Outcome split = read(stream, piece);
  if (whole.failed != split.failed) std::abort();
  if (whole.failed) return 0;  // an oversized event: where it was noticed may differ
  if (whole.messages != split.messages || whole.other_events != split.other_events ||
      whole.skipped != split.skipped || whole.last_event_id != split.last_event_id) {
    std::abort();
  }
  return 0;
}
