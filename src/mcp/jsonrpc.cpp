#include "mcp/jsonrpc.h"

#include <limits>

#include "base/json.h"

namespace joey::mcp {
namespace {

using nlohmann::json;

Error protocol_error(const std::string& what) {
  return make_error(ErrorKind::kProtocol, "malformed JSON-RPC message: " + what);
}

// Dumps without throwing: invalid UTF-8 in strings is replaced, not an exception.
std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<RequestId> parse_id(const json& value) {
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() &&
        value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return protocol_error("the id is an integer out of range");
    }
    return RequestId(value.get<int64_t>());
  }
  if (value.is_string()) return RequestId(value.get<std::string>());
  return protocol_error(std::string("the id must be an integer or a string, not ") +
                        value.type_name());
}

}  // namespace

std::string id_to_string(const RequestId& id) {
  if (const auto* number = std::get_if<int64_t>(&id)) return std::to_string(*number);
  return dump(json(std::get<std::string>(id)));
}

json id_to_json(const RequestId& id) {
  if (const auto* number = std::get_if<int64_t>(&id)) return json(*number);
  return json(std::get<std::string>(id));
}

Result<Message> parse_message(const json& value) {
  if (!value.is_object()) {
    return protocol_error(std::string("expected an object, got ") + value.type_name());
  }
  const auto version = value.find("jsonrpc");
  if (version == value.end()) return protocol_error("\"jsonrpc\" is missing");
  if (!version->is_string() || version->get_ref<const std::string&>() != "2.0") {
    return protocol_error("\"jsonrpc\" is not \"2.0\"");
  }
  Message message;
  const auto method = value.find("method");
  const auto id = value.find("id");
  if (method != value.end()) {
    if (!method->is_string()) return protocol_error("\"method\" is not a string");
    message.method = method->get<std::string>();
    if (message.method.empty()) return protocol_error("\"method\" is empty");
    const auto params = value.find("params");
    if (params != value.end()) {
      if (!params->is_object() && !params->is_array() && !params->is_null()) {
        return protocol_error("\"params\" is neither an object nor an array");
      }
      message.params = *params;
    }
    if (id != value.end()) {
      message.type = Message::Type::kRequest;
      message.id = TRY(parse_id(*id));
    } else {
      message.type = Message::Type::kNotification;
    }
    return message;
  }
  if (id == value.end()) return protocol_error("neither \"method\" nor \"id\" is present");
  const auto result = value.find("result");
  const auto error = value.find("error");
  if (result != value.end() && error != value.end()) {
    return protocol_error("both \"result\" and \"error\" are present");
  }
  if (result == value.end() && error == value.end()) {
    return protocol_error("a response has neither \"result\" nor \"error\"");
  }
  if (result != value.end()) {
    message.type = Message::Type::kResponse;
    message.id = TRY(parse_id(*id));
    message.result = *result;
    return message;
  }
  message.type = Message::Type::kErrorResponse;
  if (!id->is_null()) message.id = TRY(parse_id(*id));
  if (!error->is_object()) return protocol_error("\"error\" is not an object");
  const std::optional<int64_t> code = integer_field(*error, "code");
  if (!code) return protocol_error("\"error.code\" is not an integer");
  message.error_code = *code;
  if (const std::string* text = string_field(*error, "message")) message.error_message = *text;
  if (const auto data = error->find("data"); data != error->end()) message.error_data = *data;
  return message;
}

Result<std::vector<Message>> parse_frame(std::string_view text) {
  if (text.size() > kMaxMessageBytes) {
    return make_error(ErrorKind::kProtocol, "a JSON-RPC message of " + std::to_string(text.size()) +
                                                " bytes is larger than 16 MiB");
  }
  const json value = parse_json(text);
  if (value.is_discarded()) return protocol_error("not JSON");
  std::vector<Message> messages;
  if (value.is_array()) {
    if (value.empty()) return protocol_error("an empty batch");
    messages.reserve(value.size());
    for (const json& element : value) {
      Result<Message> message = parse_message(element);
      if (!message.ok()) return std::move(message).error().with_context("in a batch");
      messages.push_back(std::move(message).value());
    }
    return messages;
  }
  messages.push_back(TRY(parse_message(value)));
  return messages;
}

void LineSplitter::feed(std::string_view chunk,
                        const std::function<void(std::string_view line)>& on_line,
                        const std::function<void()>& on_oversized) {
  while (!chunk.empty()) {
    const size_t newline = chunk.find('\n');
    const std::string_view piece = chunk.substr(0, newline);
    if (!discarding_) {
      if (line_.size() + piece.size() > max_) {
        line_.clear();
        line_.shrink_to_fit();
        discarding_ = true;
        on_oversized();
      } else {
        line_.append(piece);
      }
    }
    if (newline == std::string_view::npos) return;
    if (!discarding_) on_line(line_);
    line_.clear();
    discarding_ = false;
    chunk.remove_prefix(newline + 1);
  }
}

std::string serialize(const Message& message) {
  json out = {{"jsonrpc", "2.0"}};
  switch (message.type) {
    case Message::Type::kRequest:
    case Message::Type::kNotification:
      out["method"] = message.method;
      if (!message.params.is_null()) out["params"] = message.params;
      if (message.type == Message::Type::kRequest && message.id)
        out["id"] = id_to_json(*message.id);
      break;
    case Message::Type::kResponse:
      out["id"] = message.id ? id_to_json(*message.id) : json(nullptr);
      out["result"] = message.result;
      break;
    case Message::Type::kErrorResponse: {
      out["id"] = message.id ? id_to_json(*message.id) : json(nullptr);
      json error = {{"code", message.error_code}, {"message", message.error_message}};
      if (!message.error_data.is_null()) error["data"] = message.error_data;
      out["error"] = std::move(error);
      break;
    }
  }
  return dump(out);
}

std::string make_request(const RequestId& id, const std::string& method, const json& params) {
  Message message;
  message.type = Message::Type::kRequest;
  message.id = id;
  message.method = method;
  message.params = params;
  return serialize(message);
}

std::string make_notification(const std::string& method, const json& params) {
  Message message;
  message.type = Message::Type::kNotification;
  message.method = method;
  message.params = params;
  return serialize(message);
}

std::string make_result(const RequestId& id, const json& result) {
  Message message;
  message.type = Message::Type::kResponse;
  message.id = id;
  message.result = result;
  return serialize(message);
}

std::string make_error_response(const RequestId& id, int64_t code, const std::string& text) {
  Message message;
  message.type = Message::Type::kErrorResponse;
  message.id = id;
  message.error_code = code;
  message.error_message = text;
  return serialize(message);
}

}  // namespace joey::mcp
