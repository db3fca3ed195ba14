// The OpenAI Chat Completions wire format (POST {base}/chat/completions), as spoken
// by OpenAI, OpenRouter, Ollama, LM Studio and other compatible servers.
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

// The request body. messages: the system prompt first (when not empty); an
// assistant turn as {"role":"assistant","content":text or null,"tool_calls":[{id,
// type:"function",function:{name,arguments}}]}; a user turn as one
// {"role":"tool","tool_call_id","content"} message per tool result (the content
// unchanged: the format has no error flag), then its text, if any, as a user
// message. tools is omitted when empty; a tool without a schema gets an empty
// object schema. stream_options {include_usage:true} is sent when streaming.
nlohmann::json openai_request_body(const ChatRequest& request, bool stream);

// Assembles a streamed response from its SSE events.
//
// Text pieces (choices[0].delta.content) go to callbacks.on_text as they arrive.
// Tool calls are keyed by their `index`: the first piece carries id and name, later
// pieces more argument text, which is appended exactly as received. A call whose
// server sent no id gets "call_<index>". Usage comes from whichever chunk carries a
// non-null `usage` (the final empty-choices chunk, or the last choice chunk on some
// servers); without one it stays zero. finish_reason is normalised ("stop" →
// "end_turn", "tool_calls" → "tool_use", "length" → "max_tokens"; others pass
// through, and it stays empty when the server sent none).
class OpenAiStreamDecoder {
 public:
  explicit OpenAiStreamDecoder(StreamCallbacks callbacks);

  // Takes one event. "[DONE]" marks the end (later events are ignored). A payload
  // that is not a JSON object → kProtocol; an {"error":{...}} payload → an Error
  // (kRateLimited for rate limits, kContextOverflow for an over-long prompt, kAuth
  // for a rejected key, kServer otherwise) carrying the provider's message. After
  // an error, finish() returns the same error.
  Status on_event(const SseEvent& event);

  bool done() const { return done_; }

  // The assembled response; kNetwork if the stream ended before "[DONE]".
  Result<ChatResponse> finish();

 private:
  struct PartialToolCall {
    std::string id;
    std::string name;
    std::string arguments;
  };

  Status on_chunk(const nlohmann::json& chunk);
  void on_tool_call_delta(const nlohmann::json& delta);

  StreamCallbacks callbacks_;
  std::string text_;
  std::map<int64_t, PartialToolCall> tool_calls_;  // by the server's index
  Usage usage_;
  std::string stop_reason_;
  std::optional<Error> error_;
  bool done_ = false;
};

// The token counts of an OpenAI "usage" object, in Usage's convention: input_tokens is
// prompt_tokens minus the cached ones (prompt_tokens_details.cached_tokens, or DeepSeek's
// prompt_cache_hit_tokens), which are cache_read_tokens. Absent or malformed counts are 0.
Usage openai_usage(const nlohmann::json& usage);

// Parses a non-streaming response body (a chat.completion object, or an error body).
Result<ChatResponse> openai_parse_response(std::string_view body);

// The human message of an error response body: error.message (with error.code or
// error.type in parentheses), or the first 300 bytes of the body when it is not the
// expected JSON. Never fails.
std::string openai_error_message(std::string_view body);

}  // namespace joey::llm
