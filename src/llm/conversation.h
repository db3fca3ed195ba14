// The provider-neutral conversation: what the task loop sends to a model and what
// comes back. The OpenAI and Anthropic protocol codecs translate these to and from
// their wire formats; nothing above src/llm sees a wire format.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace joey::llm {

// One native function call the model asked for. `arguments` is the JSON text the
// model produced, joined from every streamed piece; it may be invalid JSON (the
// task loop reports that back to the model as a tool error).
struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;
};

struct ToolResult {
  std::string tool_call_id;
  std::string tool_name;
  std::string content;
  bool is_error = false;
};

enum class Role { kUser, kAssistant };

// A user turn has `text` and/or `tool_results` (the answers to the previous
// assistant turn's calls). An assistant turn has `text` and/or `tool_calls`.
struct Message {
  Role role = Role::kUser;
  std::string text;
  std::vector<ToolCall> tool_calls;
  std::vector<ToolResult> tool_results;
};

// A tool offered to the model. `input_schema` is a JSON Schema object.
struct ToolSpec {
  std::string name;
  std::string description;
  nlohmann::json input_schema;
};

// Token counts of one response. `input_tokens` counts only uncached input, so the
// four numbers add up to everything billed (OpenAI's prompt_tokens includes its
// cached tokens; the codec subtracts them).
struct Usage {
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cache_read_tokens = 0;
  int64_t cache_write_tokens = 0;

  Usage& operator+=(const Usage& other) {
    input_tokens += other.input_tokens;
    output_tokens += other.output_tokens;
    cache_read_tokens += other.cache_read_tokens;
    cache_write_tokens += other.cache_write_tokens;
    return *this;
  }
};

struct ChatRequest {
  std::string model;
  std::string system_prompt;
  std::vector<Message> messages;
  std::vector<ToolSpec> tools;
  int max_output_tokens = 8192;
  // Anthropic only: mark the system prompt and the latest turns with cache_control.
  bool prompt_caching = true;
};

struct ChatResponse {
  std::string text;
  std::vector<ToolCall> tool_calls;
  Usage usage;
  // Normalised: "end_turn", "tool_use", "max_tokens", or the provider's own word.
  std::string stop_reason;
};

// Called while a response streams in. Text arrives in pieces, in order.
struct StreamCallbacks {
  std::function<void(std::string_view text)> on_text;
};

}  // namespace joey::llm
