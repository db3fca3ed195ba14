#include "cloud/task_wire.h"

#include <array>
#include <cmath>
#include <limits>
#include <utility>

#include <nlohmann/json.hpp>

#include "cloud/query_params.h"
#include "cloud/router.h"

namespace joey::cloud {
namespace {

// 9999-12-31T23:59:59.999Z: later times are not what an agent's clock says, and every
// page and report can still print them as four-digit years.
constexpr int64_t kMaxTimestampMs = 253402300799999;
constexpr int64_t kMaxTokenCount = 1'000'000'000'000;
constexpr double kMaxCostUsd = 1e6;
constexpr size_t kMaxQueryTextBytes = 500;
constexpr size_t kMaxCursorBytes = 200;
constexpr size_t kMaxUserIdBytes = 128;
constexpr int kMaxLimit = 100;

Error invalid(std::string message) {
  return make_error(ErrorKind::kInvalidArgument, std::move(message));
}

bool is_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool is_id(std::string_view text, size_t max_bytes) {
  if (text.empty() || text.size() > max_bytes) return false;
  for (const char c : text) {
    if (!is_id_char(c)) return false;
  }
  return true;
}

bool is_cursor(std::string_view text) {
  if (text.empty() || text.size() > kMaxCursorBytes) return false;
  for (const char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// A required string member. Its bytes are valid UTF-8: parse_json_body checked the body
// and nlohmann refuses escapes that would decode to invalid UTF-8.
Result<std::string> required_string(const nlohmann::json& object, const char* name) {
  const auto member = object.find(name);
  if (member == object.end()) return invalid(std::string("\"") + name + "\" is required");
  if (!member->is_string()) return invalid(std::string("\"") + name + "\" must be a string");
  return member->get<std::string>();
}

Result<std::string> required_id(const nlohmann::json& object, const char* name, size_t max_bytes) {
  std::string value = TRY(required_string(object, name));
  if (!is_id(value, max_bytes)) {
    return invalid(std::string("\"") + name + "\" must be 1.." + std::to_string(max_bytes) +
                   " characters of A-Z a-z 0-9 . _ -");
  }
  return value;
}

// A label (mode, model, title): a string of at most kMaxLabelBytes without NUL bytes
// (they may be stored in text columns, which refuse NUL on PostgreSQL).
Status check_label(std::string_view value, const char* name) {
  if (value.size() > kMaxLabelBytes) {
    return invalid(std::string("\"") + name + "\" must be at most " +
                   std::to_string(kMaxLabelBytes) + " bytes");
  }
  if (value.find('\0') != std::string_view::npos) {
    return invalid(std::string("\"") + name + "\" must not contain NUL characters");
  }
  return ok_status();
}

// An optional label; null counts as absent.
Result<std::optional<std::string>> optional_label(const nlohmann::json& object, const char* name) {
  const auto member = object.find(name);
  if (member == object.end() || member->is_null()) return std::optional<std::string>();
  if (!member->is_string()) return invalid(std::string("\"") + name + "\" must be a string");
  std::string value = member->get<std::string>();
  TRY(check_label(value, name));
  return std::optional<std::string>(std::move(value));
}

// A JSON integer in [0, max]: floats (1.0 included), strings, negatives and values past
// int64 (which nlohmann reads as floats or unsigned) are refused.
Result<int64_t> integer_in_range(const nlohmann::json& value, const std::string& name,
                                 int64_t max) {
  const std::string range = " must be an integer from 0 to " + std::to_string(max);
  if (value.is_number_unsigned()) {
    const uint64_t number = value.get<uint64_t>();
    if (number > static_cast<uint64_t>(max)) return invalid("\"" + name + "\"" + range);
    return static_cast<int64_t>(number);
  }
  if (value.is_number_integer()) {
    const int64_t number = value.get<int64_t>();
    if (number < 0 || number > max) return invalid("\"" + name + "\"" + range);
    return number;
  }
  return invalid("\"" + name + "\"" + range);
}

Result<int64_t> required_integer(const nlohmann::json& object, const char* name, int64_t max) {
  const auto member = object.find(name);
  if (member == object.end()) return invalid(std::string("\"") + name + "\" is required");
  return integer_in_range(*member, name, max);
}

Result<int64_t> optional_integer(const nlohmann::json& object, const char* name, int64_t max) {
  const auto member = object.find(name);
  if (member == object.end() || member->is_null()) return int64_t{0};
  return integer_in_range(*member, name, max);
}

// Moves the content out of `value` (a batch may carry megabytes of text).
Result<TaskMessage> parse_message(nlohmann::json& value, size_t index) {
  const std::string where = "messages[" + std::to_string(index) + "]";
  if (!value.is_object()) return invalid(where + " must be an object");
  for (const auto& [name, member] : value.items()) {
    (void)member;
    if (name != "ts" && name != "role" && name != "content") {
      return invalid(where + " has an unknown field (allowed: ts, role, content)");
    }
  }
  TaskMessage message;
  const auto ts = value.find("ts");
  if (ts == value.end()) return invalid(where + ".ts is required");
  message.ts_ms = TRY(integer_in_range(*ts, where + ".ts", kMaxTimestampMs));

  const auto role = value.find("role");
  if (role == value.end()) return invalid(where + ".role is required");
  if (!role->is_string() || !is_task_message_role(role->get_ref<const std::string&>())) {
    return invalid(where + ".role must be one of user, assistant, tool_call, tool_result, system");
  }
  message.role = role->get<std::string>();

  const auto content = value.find("content");
  if (content == value.end()) return invalid(where + ".content is required");
  if (!content->is_string()) return invalid(where + ".content must be a string");
  std::string& text = content->get_ref<std::string&>();
  if (text.size() > kMaxMessageContentBytes) {
    return invalid(where + ".content must be at most " + std::to_string(kMaxMessageContentBytes) +
                   " bytes");
  }
  if (!is_valid_utf8(text)) return invalid(where + ".content must be valid UTF-8");
  message.content = std::move(text);
  return message;
}

Status check_body_size(const HttpRequest& request) {
  if (request.body.size() > kMaxUploadBodyBytes) {
    return make_error(ErrorKind::kLimit, "the request body must be at most " +
                                             std::to_string(kMaxUploadBodyBytes) + " bytes");
  }
  return ok_status();
}

enum class QueryParam { kQ, kMode, kFrom, kTo, kCursor, kLimit, kUser, kCount };

constexpr std::array<std::string_view, static_cast<size_t>(QueryParam::kCount)> kQueryParamNames = {
    "q", "mode", "from", "to", "cursor", "limit", "user"};

Status apply_query_param(TaskQuery& query, QueryParam param, std::string value) {
  switch (param) {
    case QueryParam::kQ:
      if (value.size() > kMaxQueryTextBytes) {
        return invalid("q must be at most " + std::to_string(kMaxQueryTextBytes) + " bytes");
      }
      query.q = std::move(value);
      return ok_status();
    case QueryParam::kMode:
      TRY(check_label(value, "mode"));
      query.mode = std::move(value);
      return ok_status();
    case QueryParam::kFrom:
    case QueryParam::kTo: {
      const std::optional<int64_t> ms = parse_decimal(value, kMaxTimestampMs);
      const char* name = param == QueryParam::kFrom ? "from" : "to";
      if (!ms) return invalid(std::string(name) + " must be Unix milliseconds (digits only)");
      (param == QueryParam::kFrom ? query.from_ms : query.to_ms) = *ms;
      return ok_status();
    }
    case QueryParam::kCursor:
      if (!is_cursor(value)) {
        return invalid("cursor must be a value from a previous page's next_cursor");
      }
      query.cursor = std::move(value);
      return ok_status();
    case QueryParam::kLimit: {
      const std::optional<int64_t> limit = parse_decimal(value, kMaxLimit);
      if (!limit || *limit < 1) {
        return invalid("limit must be an integer from 1 to " + std::to_string(kMaxLimit));
      }
      query.limit = static_cast<int>(*limit);
      return ok_status();
    }
    case QueryParam::kUser:
      if (!is_id(value, kMaxUserIdBytes)) return invalid("user must be a user id");
      query.user_id = std::move(value);
      return ok_status();
    case QueryParam::kCount:
      break;
  }
  return invalid("unknown query parameter");
}

}  // namespace

bool is_task_message_role(std::string_view role) {
  return role == "user" || role == "assistant" || role == "tool_call" || role == "tool_result" ||
         role == "system";
}

bool is_valid_task_id(std::string_view id) { return is_id(id, kMaxTaskIdBytes); }

Result<MessageBatch> parse_message_batch(const HttpRequest& request) {
  TRY(check_body_size(request));
  nlohmann::json body =
      TRY(parse_json_body(request, {"batch_id", "mode", "model", "title", "messages"}));
  MessageBatch batch;
  batch.batch_id = TRY(required_id(body, "batch_id", kMaxBatchIdBytes));
  batch.mode = TRY(optional_label(body, "mode"));
  batch.model = TRY(optional_label(body, "model"));
  batch.title = TRY(optional_label(body, "title"));

  const auto messages = body.find("messages");
  if (messages == body.end()) return invalid("\"messages\" is required");
  if (!messages->is_array()) return invalid("\"messages\" must be an array");
  if (messages->empty() || messages->size() > kMaxMessagesPerBatch) {
    return invalid("\"messages\" must hold 1.." + std::to_string(kMaxMessagesPerBatch) +
                   " messages");
  }
  batch.messages.reserve(messages->size());
  for (size_t index = 0; index < messages->size(); ++index) {
    batch.messages.push_back(TRY(parse_message((*messages)[index], index)));
  }
  return batch;
}

Result<UsageRecord> parse_usage_record(const HttpRequest& request) {
  TRY(check_body_size(request));
  const nlohmann::json body =
      TRY(parse_json_body(request, {"request_id", "ts", "model", "input_tokens", "output_tokens",
                                    "cache_read_tokens", "cache_write_tokens", "cost_usd"}));
  UsageRecord record;
  record.request_id = TRY(required_id(body, "request_id", kMaxBatchIdBytes));
  record.ts_ms = TRY(required_integer(body, "ts", kMaxTimestampMs));
  record.model = TRY(required_string(body, "model"));
  if (record.model.empty()) return invalid("\"model\" must not be empty");
  TRY(check_label(record.model, "model"));
  record.input_tokens = TRY(required_integer(body, "input_tokens", kMaxTokenCount));
  record.output_tokens = TRY(required_integer(body, "output_tokens", kMaxTokenCount));
  record.cache_read_tokens = TRY(optional_integer(body, "cache_read_tokens", kMaxTokenCount));
  record.cache_write_tokens = TRY(optional_integer(body, "cache_write_tokens", kMaxTokenCount));

  const auto cost = body.find("cost_usd");
  if (cost != body.end() && !cost->is_null()) {
    const std::string range = "\"cost_usd\" must be a number from 0 to 1000000";
    if (!cost->is_number()) return invalid(range);
    const double value = cost->get<double>();
    if (!std::isfinite(value) || value < 0 || value > kMaxCostUsd) return invalid(range);
    record.cost_usd = value;
  }
  return record;
}

Result<TaskQuery> parse_task_query(std::string_view raw_query) {
  TaskQuery query;
  std::vector<std::optional<std::string>> values = TRY(split_query(raw_query, kQueryParamNames));
  for (size_t index = 0; index < values.size(); ++index) {
    if (!values[index]) continue;
    TRY(apply_query_param(query, static_cast<QueryParam>(index), std::move(*values[index])));
  }
  if (query.from_ms && query.to_ms && *query.from_ms > *query.to_ms) {
    return invalid("from must not be after to");
  }
  return query;
}

}  // namespace joey::cloud
