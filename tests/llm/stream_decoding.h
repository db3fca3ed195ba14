// A provider's stream run through SseParser and its decoder, for the protocol tests.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "llm/conversation.h"
#include "llm/sse.h"

namespace joey::llm {

struct Decoded {
  Status feed_status;
  Result<ChatResponse> response = make_error(ErrorKind::kInternal, "not decoded");
  std::vector<std::string> text_pieces;
  bool done = false;
};

// Runs `pieces` through SseParser and a `Decoder` (AnthropicStreamDecoder,
// OpenAiStreamDecoder), then finish().
template <typename Decoder>
Decoded decode_stream(const std::vector<std::string_view>& pieces) {
  Decoded decoded;
  Decoder decoder({[&decoded](std::string_view text) { decoded.text_pieces.emplace_back(text); }});
  SseParser parser;
  for (std::string_view piece : pieces) {
    decoded.feed_status =
        parser.feed(piece, [&decoder](const SseEvent& event) { return decoder.on_event(event); });
    if (!decoded.feed_status.ok()) break;
  }
  decoded.done = decoder.done();
  decoded.response = decoder.finish();
  return decoded;
}

}  // namespace joey::llm
