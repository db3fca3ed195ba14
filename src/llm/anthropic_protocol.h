// The Anthropic Messages wire format (POST {base}/v1/messages).
//
// Pure codecs with no I/O: the transport sends the body and feeds the response
// bytes (through SseParser when streaming) back here. Nothing throws; malformed
// input from a server becomes an Error.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "llm/conversation.h"
#include "llm/sse.h"

namespace joey::llm {

// The request body: model, max_tokens, system as an array of text blocks (omitted
// when empty), messages, tools [{name, description, input_schema}] (omitted when
// empty), stream.
//
// Messages carry content blocks. An assistant turn: its text, then one tool_use
// block per call, whose input is the parsed arguments ({} when they are not a JSON
// object). A user turn: one tool_result {tool_use_id, content, is_error} block per
// result, then its text. Empty turns are dropped, and consecutive turns of the same
// role are merged into one (the API requires alternation), tool_result blocks
// first.
//
// With request.prompt_caching, cache_control {"type":"ephemeral"} marks the last
// system block, the last tool, and the last content block of each of the last two
// user messages: at most four breakpoints, the API's limit.
nlohmann::json anthropic_request_body(const ChatRequest& request, bool stream);

// Assembles a streamed response from its SSE events: message_start (input and
// cache usage), content_block_start/delta/stop for text (text_delta → on_text) and
// tool_use blocks (input_json_delta pieces appended exactly as received; none at all
// means arguments "{}"), message_delta (stop_reason, cumulative output_tokens: the
// latest wins), message_stop (the end). ping, thinking blocks and unknown events
// are ignored. Usage: cache_read_tokens = cache_read_input_tokens,
// cache_write_tokens = cache_creation_input_tokens. stop_reason passes through.
class AnthropicStreamDecoder {
 public:
  explicit AnthropicStreamDecoder(StreamCallbacks callbacks);

  // Takes one event. An "error" event → an Error carrying the provider's message,
  // its kind from error.type (rate_limit_error → kRateLimited, overloaded_error and
  // api_error → kServer, authentication_error → kAuth, ...). Data that is not a
  // JSON object, or a delta for a block that never started → kProtocol. After an
  // error, finish() returns the same error. Events after message_stop are ignored.
  Status on_event(const SseEvent& event);

  bool done() const { return done_; }

  // The assembled response; kNetwork if the stream ended before message_stop.
  Result<ChatResponse> finish();

 private:
  struct Block {
    std::string type;         // "text", "tool_use", or a kind this decoder ignores
    std::string text;         // text blocks
    std::string id;           // tool_use blocks
    std::string name;         // tool_use blocks
    std::string input_json;   // tool_use: the joined partial_json pieces
    std::string start_input;  // tool_use: a non-empty input given at block start
  };

  Status on_payload(const std::string& type, const nlohmann::json& payload);
  Status on_block_start(const nlohmann::json& payload);
  Status on_block_delta(const nlohmann::json& payload);

  StreamCallbacks callbacks_;
  std::map<int64_t, Block> blocks_;  // by the server's block index
  Usage usage_;
  std::string stop_reason_;
  std::optional<Error> error_;
  bool done_ = false;
};

// Parses a non-streaming response body (a message object, or an error body).
// Tool arguments are the serialised `input` objects.
Result<ChatResponse> anthropic_parse_response(std::string_view body);

// The human message of an error response body: error.message (with error.type in
// parentheses), or the first 300 bytes of the body when it is not the expected
// JSON. Never fails.
std::string anthropic_error_message(std::string_view body);

}  // namespace joey::llm
