#include "llm/anthropic_protocol.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "base/json.h"

namespace joey::llm {
namespace {

using nlohmann::json;

constexpr size_t kMaxExcerptBytes = 300;

// Overwrites `count` with a non-negative integer field when the field is present.
void update_count(const json& usage, const char* key, int64_t& count) {
  if (const auto value = integer_field(usage, key)) count = std::max<int64_t>(0, *value);
}

void update_usage(const json& usage, Usage& result) {
  update_count(usage, "input_tokens", result.input_tokens);
  update_count(usage, "output_tokens", result.output_tokens);
  update_count(usage, "cache_read_input_tokens", result.cache_read_tokens);
  update_count(usage, "cache_creation_input_tokens", result.cache_write_tokens);
}

// "message (type)"; empty when the error holds no message.
std::string describe_error(const json& error) {
  if (error.is_string()) return error.get<std::string>();
  const std::string* message = string_field(error, "message");
  if (message == nullptr || message->empty()) return "";
  const std::string* type = string_field(error, "type");
  return type == nullptr || type->empty() ? *message : *message + " (" + *type + ")";
}

bool mentions_context_overflow(const std::string& message) {
  return message.find("prompt is too long") != std::string::npos ||
         message.find("context window") != std::string::npos ||
         message.find("context length") != std::string::npos;
}

Error api_error(const json& error) {
  const std::string* type_field = string_field(error, "type");
  const std::string type = type_field != nullptr ? *type_field : "";
  std::string message = describe_error(error);
  if (message.empty()) message = "no message given";
  ErrorKind kind = ErrorKind::kServer;
  if (type == "rate_limit_error") {
    kind = ErrorKind::kRateLimited;
  } else if (type == "authentication_error" || type == "permission_error") {
    kind = ErrorKind::kAuth;
  } else if (type == "not_found_error") {
    kind = ErrorKind::kNotFound;
  } else if (type == "invalid_request_error" || type == "request_too_large") {
    kind = mentions_context_overflow(message) ? ErrorKind::kContextOverflow
                                              : ErrorKind::kInvalidArgument;
  }
  return make_error(kind, "the model server reported an error: " + message);
}

std::string tool_use_id_for(int64_t index) { return "toolu_" + std::to_string(index); }

json tool_input(const std::string& arguments) {
  json input = parse_json(arguments);
  return input.is_object() ? input : json::object();
}

json input_schema(const ToolSpec& tool) {
  if (tool.input_schema.is_object()) return tool.input_schema;
  return json{{"type", "object"}, {"properties", json::object()}};
}

json ephemeral() { return {{"type", "ephemeral"}}; }

struct Turn {
  const char* role;
  json content;  // an array of content blocks
};

json content_blocks(const Message& message) {
  json blocks = json::array();
  if (message.role == Role::kAssistant) {
    if (!message.text.empty()) blocks.push_back({{"type", "text"}, {"text", message.text}});
    for (const ToolCall& call : message.tool_calls) {
      blocks.push_back({{"type", "tool_use"},
                        {"id", call.id},
                        {"name", call.name},
                        {"input", tool_input(call.arguments)}});
    }
    return blocks;
  }
  for (const ToolResult& result : message.tool_results) {
    blocks.push_back({{"type", "tool_result"},
                      {"tool_use_id", result.tool_call_id},
                      {"content", result.content},
                      {"is_error", result.is_error}});
  }
  if (!message.text.empty()) blocks.push_back({{"type", "text"}, {"text", message.text}});
  return blocks;
}

// Alternating turns: empty messages dropped, same-role neighbours merged.
std::vector<Turn> alternating_turns(const std::vector<Message>& messages) {
  std::vector<Turn> turns;
  for (const Message& message : messages) {
    json blocks = content_blocks(message);
    if (blocks.empty()) continue;
    const char* role = message.role == Role::kAssistant ? "assistant" : "user";
    if (!turns.empty() && std::string_view(turns.back().role) == role) {
      for (json& block : blocks) turns.back().content.push_back(std::move(block));
    } else {
      turns.push_back({role, std::move(blocks)});
    }
  }
  for (Turn& turn : turns) {
    if (std::string_view(turn.role) != "user") continue;
    // The API wants a turn's tool results before anything else in it.
    std::stable_partition(turn.content.begin(), turn.content.end(), [](const json& block) {
      const std::string* type = string_field(block, "type");
      return type != nullptr && *type == "tool_result";
    });
  }
  return turns;
}

}  // namespace

json anthropic_request_body(const ChatRequest& request, bool stream) {
  std::vector<Turn> turns = alternating_turns(request.messages);
  if (request.prompt_caching) {
    int marked = 0;
    for (auto turn = turns.rbegin(); turn != turns.rend() && marked < 2; ++turn) {
      if (std::string_view(turn->role) != "user") continue;
      turn->content.back()["cache_control"] = ephemeral();
      ++marked;
    }
  }

  json body = {{"model", request.model}, {"max_tokens", request.max_output_tokens}};
  if (!request.system_prompt.empty()) {
    json block = {{"type", "text"}, {"text", request.system_prompt}};
    if (request.prompt_caching) block["cache_control"] = ephemeral();
    body["system"] = json::array({std::move(block)});
  }
  json messages = json::array();
  for (Turn& turn : turns) {
    messages.push_back({{"role", turn.role}, {"content", std::move(turn.content)}});
  }
  body["messages"] = std::move(messages);
  if (!request.tools.empty()) {
    json tools = json::array();
    for (const ToolSpec& tool : request.tools) {
      tools.push_back({{"name", tool.name},
                       {"description", tool.description},
                       {"input_schema", input_schema(tool)}});
    }
    if (request.prompt_caching) tools.back()["cache_control"] = ephemeral();
    body["tools"] = std::move(tools);
  }
  body["stream"] = stream;
  return body;
}

AnthropicStreamDecoder::AnthropicStreamDecoder(StreamCallbacks callbacks)
    : callbacks_(std::move(callbacks)) {}

Status AnthropicStreamDecoder::on_event(const SseEvent& event) {
  if (error_) return *error_;
  if (done_) return ok_status();
  const json payload = parse_json(event.data);
  if (!payload.is_object()) {
    error_ = make_error(
        ErrorKind::kProtocol,
        "the model server sent a \"" + body_excerpt(event.event, 40) +
            "\" stream event whose data is not a JSON object: " + body_excerpt(event.data, 60));
    return *error_;
  }
  // The data's own type is authoritative; the SSE event name only backs it up.
  const std::string* type = string_field(payload, "type");
  Status status = on_payload(type != nullptr ? *type : event.event, payload);
  if (!status.ok()) error_ = status.error();
  return status;
}

Status AnthropicStreamDecoder::on_payload(const std::string& type, const json& payload) {
  if (type == "message_start") {
    if (const json* message = object_field(payload, "message")) {
      if (const json* usage = object_field(*message, "usage")) update_usage(*usage, usage_);
    }
  } else if (type == "content_block_start") {
    return on_block_start(payload);
  } else if (type == "content_block_delta") {
    return on_block_delta(payload);
  } else if (type == "message_delta") {
    if (const json* delta = object_field(payload, "delta")) {
      if (const std::string* reason = string_field(*delta, "stop_reason")) stop_reason_ = *reason;
    }
    if (const json* usage = object_field(payload, "usage")) update_usage(*usage, usage_);
  } else if (type == "message_stop") {
    done_ = true;
  } else if (type == "error") {
    const auto error = payload.find("error");
    return api_error(error != payload.end() ? *error : json::object());
  }
  // ping, content_block_stop and event types added after this was written: nothing to do.
  return ok_status();
}

Status AnthropicStreamDecoder::on_block_start(const json& payload) {
  const auto index = integer_field(payload, "index");
  const json* content_block = object_field(payload, "content_block");
  if (!index || content_block == nullptr) {
    return make_error(ErrorKind::kProtocol,
                      "the model server sent a content_block_start without an index or block");
  }
  Block& block = blocks_[*index];
  block = Block{};
  if (const std::string* type = string_field(*content_block, "type")) block.type = *type;
  if (block.type == "text") {
    if (const std::string* text = string_field(*content_block, "text"); text && !text->empty()) {
      block.text = *text;
      if (callbacks_.on_text) callbacks_.on_text(*text);
    }
  } else if (block.type == "tool_use") {
    if (const std::string* id = string_field(*content_block, "id")) block.id = *id;
    if (const std::string* name = string_field(*content_block, "name")) block.name = *name;
    if (const json* input = object_field(*content_block, "input"); input && !input->empty()) {
      block.start_input = input->dump(-1, ' ', false, json::error_handler_t::replace);
    }
  }
  return ok_status();
}

Status AnthropicStreamDecoder::on_block_delta(const json& payload) {
  const auto index = integer_field(payload, "index");
  const auto found = index ? blocks_.find(*index) : blocks_.end();
  if (found == blocks_.end()) {
    return make_error(ErrorKind::kProtocol,
                      "the model server sent a content_block_delta for a block it never started");
  }
  Block& block = found->second;
  const json* delta = object_field(payload, "delta");
  const std::string* delta_type = delta ? string_field(*delta, "type") : nullptr;
  if (delta_type == nullptr) return ok_status();
  if (*delta_type == "text_delta") {
    if (block.type != "text") {
      return make_error(ErrorKind::kProtocol,
                        "the model server sent a text_delta for a " + block.type + " block");
    }
    if (const std::string* text = string_field(*delta, "text"); text && !text->empty()) {
      block.text += *text;
      if (callbacks_.on_text) callbacks_.on_text(*text);
    }
  } else if (*delta_type == "input_json_delta") {
    if (block.type != "tool_use") {
      return make_error(ErrorKind::kProtocol,
                        "the model server sent an input_json_delta for a " + block.type + " block");
    }
    if (const std::string* piece = string_field(*delta, "partial_json")) block.input_json += *piece;
  }
  // thinking_delta, signature_delta, citations_delta: not part of the response joey keeps.
  return ok_status();
}

Result<ChatResponse> AnthropicStreamDecoder::finish() {
  if (error_) return *error_;
  if (!done_) {
    return make_error(ErrorKind::kNetwork, "the stream ended before the response was complete");
  }
  ChatResponse response;
  for (const auto& [index, block] : blocks_) {
    if (block.type == "text") {
      response.text += block.text;
    } else if (block.type == "tool_use") {
      std::string arguments = !block.input_json.empty()    ? block.input_json
                              : !block.start_input.empty() ? block.start_input
                                                           : "{}";
      response.tool_calls.push_back(
          {block.id.empty() ? tool_use_id_for(index) : block.id, block.name, std::move(arguments)});
    }
  }
  response.usage = usage_;
  response.stop_reason = stop_reason_;
  return response;
}

Result<ChatResponse> anthropic_parse_response(std::string_view body) {
  const json root = parse_json(body);
  if (!root.is_object()) {
    return make_error(ErrorKind::kProtocol, "the model server's response is not a JSON object: " +
                                                body_excerpt(body, 60));
  }
  if (const auto error = root.find("error"); error != root.end() && !error->is_null()) {
    return api_error(*error);
  }
  const auto content = root.find("content");
  if (content == root.end() || !content->is_array()) {
    return make_error(ErrorKind::kProtocol, "the model server's response has no content");
  }
  ChatResponse response;
  int64_t position = 0;
  for (const json& block : *content) {
    const std::string* type = string_field(block, "type");
    if (type == nullptr) continue;
    if (*type == "text") {
      if (const std::string* text = string_field(block, "text")) response.text += *text;
    } else if (*type == "tool_use") {
      const std::string* id = string_field(block, "id");
      const std::string* name = string_field(block, "name");
      const json* input = object_field(block, "input");
      response.tool_calls.push_back(
          {id && !id->empty() ? *id : tool_use_id_for(position), name ? *name : "",
           input ? input->dump(-1, ' ', false, json::error_handler_t::replace) : "{}"});
    }
    ++position;
  }
  if (const std::string* reason = string_field(root, "stop_reason")) response.stop_reason = *reason;
  if (const json* usage = object_field(root, "usage")) update_usage(*usage, response.usage);
  return response;
}

std::string anthropic_error_message(std::string_view body) {
  const json root = parse_json(body);
  if (root.is_object()) {
    if (const auto error = root.find("error"); error != root.end()) {
      std::string message = describe_error(*error);
      if (!message.empty()) return message;
    }
  }
  return body_excerpt(body, kMaxExcerptBytes);
}

}  // namespace joey::llm
