#include "llm/openai_protocol.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "base/json.h"

namespace joey::llm {
namespace {

using nlohmann::json;

constexpr size_t kMaxExcerptBytes = 300;

// A token count: non-negative, zero when absent or malformed (floats included).
int64_t count_field(const json& object, const char* key) {
  if (object.is_object()) {
    const auto it = object.find(key);
    if (it != object.end() && it->is_number_float()) {
      const double value = it->get<double>();
      if (!(value > 0)) return 0;
      if (value >= 9.0e18) return std::numeric_limits<int64_t>::max();
      return static_cast<int64_t>(value);
    }
  }
  return std::max<int64_t>(0, integer_field(object, key).value_or(0));
}

std::string normalise_finish_reason(const std::string& reason) {
  if (reason == "stop") return "end_turn";
  if (reason == "tool_calls" || reason == "function_call") return "tool_use";
  if (reason == "length") return "max_tokens";
  return reason;
}

// error.code may be a string ("rate_limit_exceeded") or a number (429, on OpenRouter).
std::string code_text(const json& error) {
  if (const std::string* code = string_field(error, "code")) return *code;
  if (const auto number = integer_field(error, "code")) return std::to_string(*number);
  return "";
}

// "message (code)" from an error object or string; empty when it holds no message.
std::string describe_error(const json& error) {
  if (error.is_string()) return error.get<std::string>();
  const std::string* message = string_field(error, "message");
  if (message == nullptr || message->empty()) return "";
  std::string detail = code_text(error);
  if (detail.empty()) {
    if (const std::string* type = string_field(error, "type")) detail = *type;
  }
  return detail.empty() || message->find(detail) != std::string::npos
             ? *message
             : *message + " (" + detail + ")";
}

Error api_error(const json& error) {
  const std::string code = code_text(error);
  const std::string* type_field = string_field(error, "type");
  const std::string type = type_field != nullptr ? *type_field : "";
  ErrorKind kind = ErrorKind::kServer;
  if (code == "429" || code.find("rate_limit") != std::string::npos ||
      type.find("rate_limit") != std::string::npos) {
    kind = ErrorKind::kRateLimited;
  } else if (code == "context_length_exceeded") {
    kind = ErrorKind::kContextOverflow;
  } else if (code == "invalid_api_key" || code == "401" || type == "authentication_error") {
    kind = ErrorKind::kAuth;
  }
  std::string message = describe_error(error);
  if (message.empty()) message = "no message given";
  return make_error(kind, "the model server reported an error: " + message);
}

std::string tool_call_id_for(int64_t index) { return "call_" + std::to_string(index); }

// function.arguments is a string on the wire; a few servers send an object instead.
std::string arguments_text(const json& function) {
  if (!function.is_object()) return "";
  const auto it = function.find("arguments");
  if (it == function.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// Message content is a string, null, or (from a few servers) an array of parts.
std::string content_text(const json& message) {
  if (const std::string* text = string_field(message, "content")) return *text;
  std::string text;
  if (const json* parts = array_field(message, "content")) {
    for (const json& part : *parts) {
      if (const std::string* piece = string_field(part, "text")) text += *piece;
    }
  }
  return text;
}

json tool_parameters(const ToolSpec& tool) {
  if (tool.input_schema.is_object()) return tool.input_schema;
  return json{{"type", "object"}, {"properties", json::object()}};
}

}  // namespace

Usage openai_usage(const json& usage) {
  const int64_t prompt = count_field(usage, "prompt_tokens");
  int64_t cached = 0;
  if (const json* details = object_field(usage, "prompt_tokens_details")) {
    cached = count_field(*details, "cached_tokens");
  } else {
    cached = count_field(usage, "prompt_cache_hit_tokens");  // DeepSeek's spelling
  }
  cached = std::min(cached, prompt);
  Usage result;
  result.input_tokens = prompt - cached;
  result.cache_read_tokens = cached;
  result.output_tokens = count_field(usage, "completion_tokens");
  return result;
}

json openai_request_body(const ChatRequest& request, bool stream) {
  json messages = json::array();
  if (!request.system_prompt.empty()) {
    messages.push_back({{"role", "system"}, {"content", request.system_prompt}});
  }
  for (const Message& message : request.messages) {
    if (message.role == Role::kAssistant) {
      json turn = {{"role", "assistant"}};
      if (message.tool_calls.empty()) {
        turn["content"] = message.text;
      } else {
        turn["content"] = message.text.empty() ? json(nullptr) : json(message.text);
        json calls = json::array();
        for (const ToolCall& call : message.tool_calls) {
          calls.push_back({{"id", call.id},
                           {"type", "function"},
                           {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
        }
        turn["tool_calls"] = std::move(calls);
      }
      messages.push_back(std::move(turn));
      continue;
    }
    for (const ToolResult& result : message.tool_results) {
      messages.push_back(
          {{"role", "tool"}, {"tool_call_id", result.tool_call_id}, {"content", result.content}});
    }
    if (!message.text.empty() || message.tool_results.empty()) {
      messages.push_back({{"role", "user"}, {"content", message.text}});
    }
  }

  json body = {{"model", request.model}, {"messages", std::move(messages)}};
  if (!request.tools.empty()) {
    json tools = json::array();
    for (const ToolSpec& tool : request.tools) {
      tools.push_back({{"type", "function"},
                       {"function",
                        {{"name", tool.name},
                         {"description", tool.description},
                         {"parameters", tool_parameters(tool)}}}});
    }
    body["tools"] = std::move(tools);
  }
  body["stream"] = stream;
  if (stream) body["stream_options"] = {{"include_usage", true}};
  return body;
}

OpenAiStreamDecoder::OpenAiStreamDecoder(StreamCallbacks callbacks)
    : callbacks_(std::move(callbacks)) {}

Status OpenAiStreamDecoder::on_event(const SseEvent& event) {
  if (error_) return *error_;
  if (done_) return ok_status();
  std::string_view data = event.data;
  while (!data.empty() && std::isspace(static_cast<unsigned char>(data.back()))) {
    data.remove_suffix(1);
  }
  while (!data.empty() && std::isspace(static_cast<unsigned char>(data.front()))) {
    data.remove_prefix(1);
  }
  if (data.empty()) return ok_status();
  if (data == "[DONE]") {
    done_ = true;
    return ok_status();
  }
  const json chunk = parse_json(data);
  if (!chunk.is_object()) {
    error_ = make_error(ErrorKind::kProtocol,
                        "the model server sent a stream event whose data is not a JSON object: " +
                            body_excerpt(data, 60));
    return *error_;
  }
  Status status = on_chunk(chunk);
  if (!status.ok()) error_ = status.error();
  return status;
}

Status OpenAiStreamDecoder::on_chunk(const json& chunk) {
  if (const auto error = chunk.find("error"); error != chunk.end() && !error->is_null()) {
    return api_error(*error);
  }
  if (const json* choices = array_field(chunk, "choices");
      choices != nullptr && !choices->empty()) {
    const json& choice = choices->front();
    if (const json* delta = object_field(choice, "delta")) {
      if (const std::string* text = string_field(*delta, "content"); text && !text->empty()) {
        text_ += *text;
        if (callbacks_.on_text) callbacks_.on_text(*text);
      }
      if (const json* calls = array_field(*delta, "tool_calls")) {
        for (const json& call : *calls) on_tool_call_delta(call);
      }
    }
    if (const std::string* reason = string_field(choice, "finish_reason")) {
      stop_reason_ = normalise_finish_reason(*reason);
    }
  }
  if (const json* usage = object_field(chunk, "usage")) usage_ = openai_usage(*usage);
  return ok_status();
}

void OpenAiStreamDecoder::on_tool_call_delta(const json& delta) {
  if (!delta.is_object()) return;
  const std::string* id = string_field(delta, "id");
  std::optional<int64_t> index = integer_field(delta, "index");
  if (!index) {
    // Without an index, a piece naming a different call starts a new one; any other
    // piece continues the last call.
    index = 0;
    if (!tool_calls_.empty()) {
      const auto& [last_index, last] = *tool_calls_.rbegin();
      const json* function = object_field(delta, "function");
      const std::string* name = function ? string_field(*function, "name") : nullptr;
      const bool new_call = (id && !id->empty() && !last.id.empty() && last.id != *id) ||
                            (name && !name->empty() && !last.name.empty() && !id);
      index = new_call && last_index < std::numeric_limits<int64_t>::max() ? last_index + 1
                                                                           : last_index;
    }
  }
  PartialToolCall& call = tool_calls_[*index];
  if (id != nullptr && call.id.empty()) call.id = *id;
  if (const json* function = object_field(delta, "function")) {
    if (const std::string* name = string_field(*function, "name"); name && call.name.empty()) {
      call.name = *name;
    }
    call.arguments += arguments_text(*function);
  }
}

Result<ChatResponse> OpenAiStreamDecoder::finish() {
  if (error_) return *error_;
  if (!done_) {
    return make_error(ErrorKind::kNetwork, "the stream ended before the response was complete");
  }
  ChatResponse response;
  response.text = text_;
  for (const auto& [index, call] : tool_calls_) {
    response.tool_calls.push_back(
        {call.id.empty() ? tool_call_id_for(index) : call.id, call.name, call.arguments});
  }
  response.usage = usage_;
  response.stop_reason = stop_reason_;
  return response;
}

Result<ChatResponse> openai_parse_response(std::string_view body) {
  const json root = parse_json(body);
  if (!root.is_object()) {
    return make_error(ErrorKind::kProtocol, "the model server's response is not a JSON object: " +
                                                body_excerpt(body, 60));
  }
  if (const auto error = root.find("error"); error != root.end() && !error->is_null()) {
    return api_error(*error);
  }
  const json* choices = array_field(root, "choices");
  if (choices == nullptr || choices->empty()) {
    return make_error(ErrorKind::kProtocol, "the model server's response has no choices");
  }
  const json& choice = choices->front();
  ChatResponse response;
  if (const json* message = object_field(choice, "message")) {
    response.text = content_text(*message);
    if (const json* calls = array_field(*message, "tool_calls")) {
      int64_t position = 0;
      for (const json& call : *calls) {
        const std::string* id = string_field(call, "id");
        const json* function = object_field(call, "function");
        const std::string* name = function ? string_field(*function, "name") : nullptr;
        response.tool_calls.push_back({id && !id->empty() ? *id : tool_call_id_for(position),
                                       name ? *name : "",
                                       function ? arguments_text(*function) : ""});
        ++position;
      }
    }
  }
  if (const std::string* reason = string_field(choice, "finish_reason")) {
    response.stop_reason = normalise_finish_reason(*reason);
  }
  if (const json* usage = object_field(root, "usage")) response.usage = openai_usage(*usage);
  return response;
}

std::string openai_error_message(std::string_view body) {
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
