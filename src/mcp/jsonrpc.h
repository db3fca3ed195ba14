// JSON-RPC 2.0 framing for MCP: one message in, a typed Message out, and the
// serializers for what joey sends. Every byte here comes from an MCP server, so
// parsing never throws and never trusts sizes: a malformed message is an Error
// (kProtocol) saying what is wrong, and a message over kMaxMessageBytes is refused.
//
// Pure and I/O-free; all functions are reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace joey::mcp {

// The most joey reads as one message (a line on stdio, a body or an SSE event on HTTP).
inline constexpr size_t kMaxMessageBytes = size_t{16} << 20;

// JSON-RPC error codes joey sends or recognises.
inline constexpr int64_t kParseError = -32700;
inline constexpr int64_t kInvalidRequest = -32600;
inline constexpr int64_t kMethodNotFound = -32601;
inline constexpr int64_t kInvalidParams = -32602;
inline constexpr int64_t kInternalError = -32603;

// A request id: an integer or a string (JSON-RPC allows both; joey sends integers).
using RequestId = std::variant<int64_t, std::string>;

// The id as it would appear in a log line or message: 7 or "abc".
std::string id_to_string(const RequestId& id);
nlohmann::json id_to_json(const RequestId& id);

struct Message {
  enum class Type { kRequest, kNotification, kResponse, kErrorResponse };
  Type type = Type::kNotification;
  // Set for requests and responses; an error response may carry a null id (the peer
  // could not read ours), in which case it is nullopt.
  std::optional<RequestId> id;
  std::string method;      // requests and notifications
  nlohmann::json params;   // requests and notifications; null when absent
  nlohmann::json result;   // responses
  int64_t error_code = 0;  // error responses
  std::string error_message;
  nlohmann::json error_data;  // null when absent
};

// Parses one frame: a message object, or a batch array (old servers) which is split
// into its messages. kProtocol for anything else: not JSON, not an object or array,
// an empty batch, "jsonrpc" not "2.0", neither method nor id, an id that is not an
// integer or string, result and error both present, a malformed error object, and
// any frame larger than kMaxMessageBytes ("larger than 16 MiB").
Result<std::vector<Message>> parse_frame(std::string_view text);

// Validates one already-parsed JSON value as a message (no batches).
Result<Message> parse_message(const nlohmann::json& value);

// Splits a byte stream into newline-delimited lines (the stdio framing), bounded:
// a line longer than `max_line_bytes` is reported once through on_oversized and
// skipped up to its newline, where reading resynchronises. A trailing "\r" stays in
// the line (parse_frame ignores it as whitespace). Not thread-safe.
class LineSplitter {
 public:
  explicit LineSplitter(size_t max_line_bytes = kMaxMessageBytes) : max_(max_line_bytes) {}

  void feed(std::string_view chunk, const std::function<void(std::string_view line)>& on_line,
            const std::function<void()>& on_oversized);
  // Bytes of an unfinished line held (0 while skipping an oversized one).
  size_t buffered() const { return line_.size(); }

 private:
  size_t max_;
  std::string line_;
  bool discarding_ = false;
};

// Serializers: compact JSON on one line (no newline appended).
std::string serialize(const Message& message);
std::string make_request(const RequestId& id, const std::string& method,
                         const nlohmann::json& params);
std::string make_notification(const std::string& method, const nlohmann::json& params);
std::string make_result(const RequestId& id, const nlohmann::json& result);
std::string make_error_response(const RequestId& id, int64_t code, const std::string& message);

}  // namespace joey::mcp
