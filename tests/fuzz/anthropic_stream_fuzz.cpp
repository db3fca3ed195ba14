// Arbitrary bytes as an Anthropic Messages stream (SSE → decoder → finish), as a
// non-streaming body, and as an error body. The decoded response is then encoded
// back into request bodies, which must serialise.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "llm/anthropic_protocol.h"
#include "llm/openai_protocol.h"
#include "llm/sse.h"

namespace {

void encode_back(const joey::llm::ChatResponse& response) {
  joey::llm::ChatRequest request;
  request.messages.push_back({joey::llm::Role::kUser, "go", {}, {}});
  request.messages.push_back({joey::llm::Role::kAssistant, response.text, response.tool_calls, {}});
  (void)joey::llm::anthropic_request_body(request, true).dump();
  (void)joey::llm::openai_request_body(request, true).dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  size_t text_bytes = 0;
  joey::llm::AnthropicStreamDecoder decoder(
      {[&text_bytes](std::string_view text) { text_bytes += text.size(); }});
  joey::llm::SseParser parser(/*max_event_bytes=*/1 << 16);
  // Two feeds, split in the middle, so events straddle a feed boundary.
  const auto on_event = [&decoder](const joey::llm::SseEvent& event) {
    return decoder.on_event(event);
  };
  if (parser.feed(input.substr(0, size / 2), on_event).ok()) {
    (void)parser.feed(input.substr(size / 2), on_event);
  }
  const joey::Result<joey::llm::ChatResponse> streamed = decoder.finish();
  if (streamed.ok()) encode_back(*streamed);

  const joey::Result<joey::llm::ChatResponse> whole = joey::llm::anthropic_parse_response(input);
  if (whole.ok()) encode_back(*whole);
  (void)joey::llm::anthropic_error_message(input);
  return 0;
}
