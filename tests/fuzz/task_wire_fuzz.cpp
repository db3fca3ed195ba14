// Feeds arbitrary bytes to the task history wire parsers: the bytes up to the first
// newline are a raw query string for parse_task_query, the rest a JSON request body for
// parse_message_batch and parse_usage_record. Checks that nothing crashes, that every
// refusal is kInvalidArgument (kLimit only for an oversize body), and that whatever is
// accepted keeps the documented limits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cloud/http_types.h"
#include "cloud/task_wire.h"

namespace {

using namespace joey;
using namespace joey::cloud;

void require(bool condition) {
  if (!condition) std::abort();
}

template <typename T>
void require_refusal_kind(const Result<T>& result) {
  if (!result.ok()) {
    require(result.error().kind == ErrorKind::kInvalidArgument ||
            result.error().kind == ErrorKind::kLimit);
  }
}

bool is_label(const std::optional<std::string>& label) {
  return !label || (label->size() <= kMaxLabelBytes && label->find('\0') == std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const size_t newline = bytes.find('\n');
  const std::string_view query = bytes.substr(0, newline);
  const std::string_view body =
      newline == std::string_view::npos ? std::string_view() : bytes.substr(newline + 1);

  Result<TaskQuery> parsed_query = parse_task_query(query);
  require_refusal_kind(parsed_query);
  if (parsed_query.ok()) {
    require(parsed_query->limit >= 1 && parsed_query->limit <= 100);
    require(parsed_query->q.size() <= 500 && is_valid_utf8(parsed_query->q));
    require(is_label(parsed_query->mode));
    require(!parsed_query->from_ms || *parsed_query->from_ms >= 0);
    require(!parsed_query->to_ms || *parsed_query->to_ms >= 0);
    require(!parsed_query->from_ms || !parsed_query->to_ms ||
            *parsed_query->from_ms <= *parsed_query->to_ms);
    require(!parsed_query->cursor ||
            (!parsed_query->cursor->empty() && parsed_query->cursor->size() <= 200));
    require(!parsed_query->user_id || is_valid_task_id(*parsed_query->user_id));
  }

  HttpRequest request;
  request.method = "POST";
  request.headers.emplace_back("content-type", "application/json");
  request.body = std::string(body);

  Result<MessageBatch> batch = parse_message_batch(request);
  require_refusal_kind(batch);
  if (batch.ok()) {
    require(is_valid_task_id(batch->batch_id));
    require(is_label(batch->mode) && is_label(batch->model) && is_label(batch->title));
    require(!batch->messages.empty() && batch->messages.size() <= kMaxMessagesPerBatch);
    for (const TaskMessage& message : batch->messages) {
      require(message.ts_ms >= 0);
      require(is_task_message_role(message.role));
      require(message.content.size() <= kMaxMessageContentBytes);
      require(is_valid_utf8(message.content));
    }
  }

  Result<UsageRecord> usage = parse_usage_record(request);
  require_refusal_kind(usage);
  if (usage.ok()) {
    require(is_valid_task_id(usage->request_id));
    require(usage->ts_ms >= 0 && !usage->model.empty());
    for (const int64_t tokens : {usage->input_tokens, usage->output_tokens,
                                 usage->cache_read_tokens, usage->cache_write_tokens}) {
      require(tokens >= 0 && tokens <= 1'000'000'000'000);
    }
    require(usage->cost_usd >= 0 && usage->cost_usd <= 1e6);
  }
  return 0;
}
