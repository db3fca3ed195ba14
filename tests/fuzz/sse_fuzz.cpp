// Feeds arbitrary bytes to SseParser in pieces whose sizes come from the input
// itself, and checks that the split does not change the events or the outcome.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "llm/sse.h"

namespace {

struct Outcome {
  std::vector<joey::llm::SseEvent> events;
  bool ok = true;
  bool partial = false;
};

Outcome parse(std::string_view stream, const std::vector<size_t>& piece_sizes) {
  joey::llm::SseParser parser(/*max_event_bytes=*/512);
  Outcome outcome;
  const auto on_event = [&outcome](const joey::llm::SseEvent& event) {
    outcome.events.push_back(event);
    return joey::ok_status();
  };
  size_t pos = 0;
  for (size_t i = 0; pos < stream.size() && outcome.ok; ++i) {
    const size_t size = piece_sizes.empty() ? stream.size() : piece_sizes[i % piece_sizes.size()];
    outcome.ok = parser.feed(stream.substr(pos, size), on_event).ok();
    pos += size;
  }
  outcome.partial = parser.has_partial_event();
  return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // The first bytes choose the piece sizes (1..16); the rest is the stream.
  const size_t size_bytes = data[0] % 8 + 1;
  if (size < 1 + size_bytes) return 0;
  std::vector<size_t> piece_sizes;
  for (size_t i = 1; i <= size_bytes; ++i) piece_sizes.push_back(data[i] % 16 + 1);
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1 + size_bytes,
                                size - 1 - size_bytes);

  const Outcome whole = parse(stream, {});
  const Outcome split = parse(stream, piece_sizes);
  if (whole.ok != split.ok || whole.events.size() != split.events.size()) std::abort();
  for (size_t i = 0; i < whole.events.size(); ++i) {
    if (whole.events[i].event != split.events[i].event ||
        whole.events[i].data != split.events[i].data || whole.events[i].id != split.events[i].id) {
      std::abort();
    }
  }
  if (whole.ok && whole.partial != split.partial) std::abort();
  return 0;
}
