#include "client/message_codec.h"

#include "base/json.h"

namespace joey::client {

namespace {

using nlohmann::json;

Error field_error(const std::string& where, const char* key, const char* expected) {
  return make_error(ErrorKind::kInvalidArgument,
                    "stored message: " + where + "\"" + key + "\" must be " + expected);
}

// A string field that may be absent (empty then) but not of another type.
Result<std::string> optional_string(const json& object, const char* key, const std::string& where) {
  auto found = object.find(key);
  if (found == object.end() || found->is_null()) return std::string();
  if (!found->is_string()) return field_error(where, key, "a string");
  return found->get<std::string>();
}

Result<std::string> required_string(const json& object, const char* key, const std::string& where) {
  if (!object.contains(key)) return field_error(where, key, "present");
  return optional_string(object, key, where);
}

// The elements of an optional array field; null when absent.
Result<const json*> optional_array(const json& object, const char* key) {
  auto found = object.find(key);
  if (found == object.end() || found->is_null()) return static_cast<const json*>(nullptr);
  if (!found->is_array()) return field_error("", key, "an array");
  return &*found;
}

Result<llm::ToolCall> tool_call_from_json(const json& item, size_t index) {
  std::string where = "tool_calls[" + std::to_string(index) + "].";
  if (!item.is_object()) {
    return make_error(
        ErrorKind::kInvalidArgument,
        "stored message: tool_calls[" + std::to_string(index) + "] must be an object");
  }
  llm::ToolCall call;
  call.id = TRY(optional_string(item, "id", where));
  call.name = TRY(required_string(item, "name", where));
  call.arguments = TRY(optional_string(item, "arguments", where));
  return call;
}

Result<llm::ToolResult> tool_result_from_json(const json& item, size_t index) {
  std::string where = "tool_results[" + std::to_string(index) + "].";
  if (!item.is_object()) {
    return make_error(
        ErrorKind::kInvalidArgument,
        "stored message: tool_results[" + std::to_string(index) + "] must be an object");
  }
  llm::ToolResult result;
  result.tool_call_id = TRY(optional_string(item, "tool_call_id", where));
  result.tool_name = TRY(optional_string(item, "tool_name", where));
  result.content = TRY(optional_string(item, "content", where));
  auto is_error = item.find("is_error");
  if (is_error != item.end() && !is_error->is_null()) {
    if (!is_error->is_boolean()) return field_error(where, "is_error", "true or false");
    result.is_error = is_error->get<bool>();
  }
  return result;
}

}  // namespace

const char* role_name(llm::Role role) { return role == llm::Role::kUser ? "user" : "assistant"; }

json message_to_json(const llm::Message& message) {
  json out = json::object();
  out["role"] = role_name(message.role);
  out["text"] = message.text;
  if (!message.tool_calls.empty()) {
    json calls = json::array();
    for (const llm::ToolCall& call : message.tool_calls) {
      calls.push_back({{"id", call.id}, {"name", call.name}, {"arguments", call.arguments}});
    }
    out["tool_calls"] = std::move(calls);
  }
  if (!message.tool_results.empty()) {
    json results = json::array();
    for (const llm::ToolResult& result : message.tool_results) {
      results.push_back({{"tool_call_id", result.tool_call_id},
                         {"tool_name", result.tool_name},
                         {"content", result.content},
                         {"is_error", result.is_error}});
    }
    out["tool_results"] = std::move(results);
  }
  return out;
}

Result<llm::Message> message_from_json(const json& input) {
  if (!input.is_object()) {
    return make_error(ErrorKind::kInvalidArgument, "stored message: not a JSON object");
  }
  llm::Message message;
  std::string role = TRY(required_string(input, "role", ""));
  if (role == "user") {
    message.role = llm::Role::kUser;
  } else if (role == "assistant") {
    message.role = llm::Role::kAssistant;
  } else {
    return make_error(ErrorKind::kInvalidArgument,
                      "stored message: \"role\" must be \"user\" or \"assistant\"");
  }
  message.text = TRY(optional_string(input, "text", ""));
  if (const json* calls = TRY(optional_array(input, "tool_calls"))) {
    for (size_t index = 0; index < calls->size(); ++index) {
      message.tool_calls.push_back(TRY(tool_call_from_json((*calls)[index], index)));
    }
  }
  if (const json* results = TRY(optional_array(input, "tool_results"))) {
    for (size_t index = 0; index < results->size(); ++index) {
      message.tool_results.push_back(TRY(tool_result_from_json((*results)[index], index)));
    }
  }
  return message;
}

std::string message_to_json_text(const llm::Message& message) {
  return message_to_json(message).dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<llm::Message> message_from_json_text(std::string_view text) {
  json parsed = parse_json(text);
  if (parsed.is_discarded()) {
    return make_error(ErrorKind::kInvalidArgument, "stored message: not valid JSON");
  }
  return message_from_json(parsed);
}

std::string message_search_text(const llm::Message& message) {
  std::string text = message.text;
  auto add_line = [&text](std::string_view piece) {
    if (piece.empty()) return;
    if (!text.empty()) text += '\n';
    text.append(piece);
  };
  for (const llm::ToolCall& call : message.tool_calls) {
    add_line(call.name);
    add_line(call.arguments);
  }
  for (const llm::ToolResult& result : message.tool_results) add_line(result.content);
  return text;
}

}  // namespace joey::client
