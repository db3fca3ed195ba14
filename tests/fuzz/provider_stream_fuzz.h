// The body of the two provider stream targets (anthropic_stream_fuzz, openai_stream_fuzz):
// arbitrary bytes as a provider's stream (SSE → decoder → finish), as a non-streaming body
// and as an error body. Each decoded response is then encoded back into both providers'
// request bodies, which must serialise.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "llm/anthropic_protocol.h"
#include "llm/openai_protocol.h"
#include "llm/sse.h"

namespace joey::fuzz {

inline void encode_back(const llm::ChatResponse& response) {
  llm::ChatRequest request;
  request.messages.push_back({llm::Role::kUser, "go", {}, {}});
  request.messages.push_back({llm::Role::kAssistant, response.text, response.tool_calls, {}});
  (void)llm::openai_request_body(request, true).dump();
  (void)llm::anthropic_request_body(request, true).dump();
}

// `Decoder` is the provider's stream decoder; `parse_response` and `error_message` read
// its whole (non-streaming) answers and its error bodies.
template <typename Decoder, typename ParseResponse, typename ErrorMessage>
void fuzz_provider_stream(std::string_view input, ParseResponse parse_response,
                          ErrorMessage error_message) {
  size_t text_bytes = 0;
  Decoder decoder({[&text_bytes](std::string_view text) { text_bytes += text.size(); }});
  llm::SseParser parser(/*max_event_bytes=*/1 << 16);
  // Two feeds, split in the middle, so events straddle a feed boundary.
  const auto on_event = [&decoder](const llm::SseEvent& event) { return decoder.on_event(event); };
  if (parser.feed(input.substr(0, input.size() / 2), on_event).ok()) {
    (void)parser.feed(input.substr(input.size() / 2), on_event);
  }
  const Result<llm::ChatResponse> streamed = decoder.finish();
  if (streamed.ok()) encode_back(*streamed);

  const Result<llm::ChatResponse> whole = parse_response(input);
  if (whole.ok()) encode_back(*whole);
  (void)error_message(input);
}

}  // namespace joey::fuzz
