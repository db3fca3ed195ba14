#include "agent/tool_args.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace joey::agent {

namespace {

using nlohmann::json;

std::string type_name(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a number";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    default:
      return "an unsupported value";
  }
}

// A short rendering of what the model sent, for error messages.
std::string preview(const json& value) {
  constexpr size_t kMaxPreview = 60;
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > kMaxPreview) text = text.substr(0, kMaxPreview) + "...";
  return text;
}

// The field's value, or nullptr when absent or null.
const json* find_field(const json& args, std::string_view field) {
  if (!args.is_object()) return nullptr;
  auto found = args.find(std::string(field));
  if (found == args.end() || found->is_null()) return nullptr;
  return &*found;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

Result<int64_t> to_integer(const json& value, std::string_view field) {
  if (value.is_number_integer() && !value.is_number_unsigned()) return value.get<int64_t>();
  if (value.is_number_unsigned()) {
    uint64_t number = value.get<uint64_t>();
    if (number > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return invalid_argument(field, "the integer " + preview(value) + " is too large");
    }
    return static_cast<int64_t>(number);
  }
  if (value.is_number_float()) {
    double number = value.get<double>();
    if (std::isfinite(number) && std::floor(number) == number && std::fabs(number) < 9e15) {
      return static_cast<int64_t>(number);
    }
  }
  if (value.is_string()) {
    std::string_view text = trim(value.get_ref<const std::string&>());
    int64_t number = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (!text.empty() && error == std::errc() && end == text.data() + text.size()) return number;
  }
  return invalid_argument(field,
                          "expected an integer, got " + type_name(value) + " " + preview(value));
}

}  // namespace

Error invalid_argument(std::string_view field, std::string_view problem) {
  return make_error(ErrorKind::kInvalidArgument,
                    "Invalid argument '" + std::string(field) + "': " + std::string(problem));
}

Status require_object(const json& args) {
  if (args.is_object()) return ok_status();
  return make_error(
      ErrorKind::kInvalidArgument,
      "Invalid arguments: expected a JSON object with named fields, got " + type_name(args));
}

Result<std::string> required_string(const json& args, std::string_view field) {
  TRY(require_object(args));
  const json* value = find_field(args, field);
  if (value == nullptr) {
    return make_error(ErrorKind::kInvalidArgument,
                      "Missing required argument '" + std::string(field) + "'");
  }
  if (!value->is_string()) {
    return invalid_argument(field,
                            "expected a string, got " + type_name(*value) + " " + preview(*value));
  }
  return value->get<std::string>();
}

Result<std::optional<std::string>> optional_string(const json& args, std::string_view field) {
  TRY(require_object(args));
  if (find_field(args, field) == nullptr) return std::optional<std::string>();
  return std::optional<std::string>(TRY(required_string(args, field)));
}

Result<int64_t> required_integer(const json& args, std::string_view field) {
  TRY(require_object(args));
  const json* value = find_field(args, field);
  if (value == nullptr) {
    return make_error(ErrorKind::kInvalidArgument,
                      "Missing required argument '" + std::string(field) + "'");
  }
  return to_integer(*value, field);
}

Result<std::optional<int64_t>> optional_integer(const json& args, std::string_view field) {
  TRY(require_object(args));
  const json* value = find_field(args, field);
  if (value == nullptr) return std::optional<int64_t>();
  // An empty string is how some models say "not given".
  if (value->is_string() && trim(value->get_ref<const std::string&>()).empty()) {
    return std::optional<int64_t>();
  }
  return std::optional<int64_t>(TRY(to_integer(*value, field)));
}

Result<std::optional<bool>> optional_bool(const json& args, std::string_view field) {
  TRY(require_object(args));
  const json* value = find_field(args, field);
  if (value == nullptr) return std::optional<bool>();
  if (value->is_boolean()) return std::optional<bool>(value->get<bool>());
  if (value->is_string()) {
    std::string_view text = trim(value->get_ref<const std::string&>());
    if (text == "true") return std::optional<bool>(true);
    if (text == "false") return std::optional<bool>(false);
    if (text.empty()) return std::optional<bool>();
  }
  return invalid_argument(
      field, "expected true or false, got " + type_name(*value) + " " + preview(*value));
}

}  // namespace joey::agent
