#include "cloud/http_types.h"

#include <algorithm>

#include "base/json.h"
#include "base/strings.h"

namespace joey::cloud {

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
  for (const auto& [header_name, value] : headers) {
    if (ascii_iequals(header_name, name)) return std::string_view(value);
  }
  return std::nullopt;
}

std::string_view HttpRequest::path_param(std::string_view name) const {
  auto found = path_params.find(std::string(name));
  if (found == path_params.end()) return {};
  return found->second;
}

HttpResponse HttpResponse::json(int status, const nlohmann::json& value) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  // Replacing invalid UTF-8 keeps dump() from throwing on a value a handler built
  // from bytes it did not check.
  response.body = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

HttpResponse HttpResponse::text(int status, std::string body, std::string content_type) {
  HttpResponse response;
  response.status = status;
  response.content_type = std::move(content_type);
  response.body = std::move(body);
  return response;
}

HttpResponse HttpResponse::error(int status, std::string_view code, std::string_view message) {
  return json(status, {{"error", {{"code", code}, {"message", message}}}});
}

bool is_json_content_type(std::string_view content_type) {
  std::string_view media_type = content_type.substr(0, content_type.find(';'));
  return ascii_iequals(trim(media_type), "application/json");
}

bool is_safe_header_text(std::string_view text) {
  return std::none_of(text.begin(), text.end(),
                      [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

bool is_valid_utf8(std::string_view text) {
  size_t position = 0;
  while (position < text.size()) {
    if (static_cast<unsigned char>(text[position]) < 0x80) {
      ++position;
      continue;
    }
    size_t length = utf8_sequence_length(text, position);
    if (length == 0) return false;
    position += length;
  }
  return true;
}

Result<nlohmann::json> parse_json_body(const HttpRequest& request,
                                       std::initializer_list<std::string_view> allowed_fields) {
  std::optional<std::string_view> content_type = request.header("content-type");
  if (!content_type || !is_json_content_type(*content_type)) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the request body must be JSON with Content-Type: application/json");
  }
  if (!is_valid_utf8(request.body)) {
    return make_error(ErrorKind::kInvalidArgument, "the request body is not valid UTF-8");
  }
  nlohmann::json value = parse_json(request.body);
  if (value.is_discarded()) {
    return make_error(ErrorKind::kInvalidArgument, "the request body is not valid JSON");
  }
  if (!value.is_object()) {
    return make_error(ErrorKind::kInvalidArgument, "the request body must be a JSON object");
  }
  for (const auto& [name, member] : value.items()) {
    bool allowed =
        std::find(allowed_fields.begin(), allowed_fields.end(), name) != allowed_fields.end();
    if (!allowed) {
      // The name comes from the client; it is valid UTF-8 (checked above) but is cut
      // so an error cannot echo a whole body back.
      std::string shown(utf8_prefix(name, 64));
      return make_error(ErrorKind::kInvalidArgument, "unknown field \"" + shown + "\"");
    }
  }
  return value;
}

}  // namespace joey::cloud
