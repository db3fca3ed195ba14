// The stored form of a conversation message: how the local history keeps an
// llm::Message as JSON, and reads it back. The format is joey's own (not a provider's
// wire format), so a task can be resumed with any provider:
//
//   {"role": "user" | "assistant", "text": "...",
//    "tool_calls":   [{"id": "...", "name": "...", "arguments": "<JSON text>"}],
//    "tool_results": [{"tool_call_id": "...", "tool_name": "...", "content": "...",
//                      "is_error": false}]}
//
// "text" and the two arrays may be absent (read as empty); unknown fields are ignored
// so that a newer joey may add some. Everything else is checked: the bytes come from
// a file on disk that anything may have changed.
//
// Thread-safety: all functions are pure and safe to call from any thread.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "llm/conversation.h"

namespace joey::client {

nlohmann::json message_to_json(const llm::Message& message);

// kInvalidArgument naming the first field that is missing or of the wrong type.
Result<llm::Message> message_from_json(const nlohmann::json& json);

// message_to_json() as compact text. Invalid UTF-8 in the message becomes U+FFFD
// rather than an exception.
std::string message_to_json_text(const llm::Message& message);

// Parses `text` (untrusted) with joey::parse_json, then message_from_json().
Result<llm::Message> message_from_json_text(std::string_view text);

// What full-text search indexes for a message: its text, each tool call's name and
// arguments and each tool result's content, one per line.
std::string message_search_text(const llm::Message& message);

const char* role_name(llm::Role role);

}  // namespace joey::client
