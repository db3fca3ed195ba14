// The wire format of the Cloud's task history API (docs/openapi.yaml, "tasks"): the
// bodies an agent uploads and the query a person searches with, parsed and checked
// before anything is stored. Every parser takes untrusted bytes and never crashes;
// each refusal is kInvalidArgument with a message naming the field and the limit, never
// the field's content (it may hold a task's text) — except a body over
// kMaxUploadBodyBytes, which is kLimit (413), like the router's own body limit.
//
// Thread-safety: plain functions over plain values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "cloud/http_types.h"

namespace joey::cloud {

// Limits of one upload. A batch over them is refused whole (nothing stored).
inline constexpr size_t kMaxTaskIdBytes = 128;
inline constexpr size_t kMaxBatchIdBytes = 128;
inline constexpr size_t kMaxMessagesPerBatch = 500;
inline constexpr size_t kMaxMessageContentBytes = 256 * 1024;
inline constexpr size_t kMaxLabelBytes = 200;  // mode, model, title
inline constexpr size_t kMaxUploadBodyBytes = 8 * 1024 * 1024;

// Roles a message may have: "user", "assistant", "tool_call", "tool_result", "system".
bool is_task_message_role(std::string_view role);

// True for 1..kMaxTaskIdBytes characters of [A-Za-z0-9._-] (the agent's task ids,
// "20261126T004530-<hex>" and subtasks "<id>.sub1"). Path parameters are checked with
// it before any lookup.
bool is_valid_task_id(std::string_view id);

struct TaskMessage {
  int64_t ts_ms = 0;  // Unix milliseconds, 0 .. 9999-12-31T23:59:59.999Z
  std::string role;
  std::string content;  // valid UTF-8, at most kMaxMessageContentBytes
};

// POST /api/tasks/{task_id}/messages
//   {"batch_id": "...", "mode"?: "code", "model"?: "gpt-4o", "title"?: "...",
//    "messages": [{"ts": 1764117930123, "role": "user", "content": "..."}]}
// batch_id: 1..kMaxBatchIdBytes of [A-Za-z0-9._-]; messages: 1..kMaxMessagesPerBatch,
// each with exactly ts (an integer, not 1.0 or "1"), role and content; labels at most
// kMaxLabelBytes without NUL, null meaning absent; unknown fields refused.
struct MessageBatch {
  std::string batch_id;
  std::optional<std::string> mode;
  std::optional<std::string> model;
  std::optional<std::string> title;
  std::vector<TaskMessage> messages;
};
Result<MessageBatch> parse_message_batch(const HttpRequest& request);

// POST /api/tasks/{task_id}/usage
//   {"request_id": "...", "ts": ms, "model": "...", "input_tokens": n, "output_tokens": n,
//    "cache_read_tokens"?: n, "cache_write_tokens"?: n, "cost_usd"?: x}
// request_id like batch_id (idempotency); ts like a message's; model 1..kMaxLabelBytes;
// token counts integers in [0, 1e12]; cost a finite number in [0, 1e6]. Optional
// fields absent or null are 0.
struct UsageRecord {
  std::string request_id;
  int64_t ts_ms = 0;
  std::string model;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cache_read_tokens = 0;
  int64_t cache_write_tokens = 0;
  double cost_usd = 0;
};
Result<UsageRecord> parse_usage_record(const HttpRequest& request);

// GET /api/tasks?q=&mode=&from=&to=&cursor=&limit=&user=
// From the raw, undecoded query string (percent-decoding and '+' as space). q at most
// 500 bytes; from/to Unix milliseconds; limit 1..100 (default 20); cursor an opaque
// token from a previous page (at most 200 bytes of [A-Za-z0-9_-]); user a user id to
// narrow an organization view (1..128 of [A-Za-z0-9._-]). Unknown parameters are
// refused; a repeated one too. An empty value ("mode=", as an empty form field sends)
// means the parameter is absent. from after to is refused.
struct TaskQuery {
  std::string q;
  std::optional<std::string> mode;
  std::optional<int64_t> from_ms;
  std::optional<int64_t> to_ms;
  std::optional<std::string> cursor;
  std::optional<std::string> user_id;
  int limit = 20;
};
Result<TaskQuery> parse_task_query(std::string_view raw_query);

}  // namespace joey::cloud
