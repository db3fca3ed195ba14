#include "client/history_recorder.h"

#include "base/log.h"
#include "base/redact.h"

namespace joey::client {

HistoryRecorder::HistoryRecorder(std::unique_ptr<HistoryStore> store, std::FILE* err,
                                 std::string open_error)
    : store_(std::move(store)), err_(err), open_error_(std::move(open_error)) {}

void HistoryRecorder::check(const char* operation, const Status& status) {
  if (status.ok()) return;
  // Error messages here come from SQLite and name files, never message content.
  log::warn("history_record_failed",
            {log::field("operation", operation),
             log::field("error_kind", error_kind_name(status.error().kind)),
             log::field("error", status.error().message)});
  if (warned_) return;
  warned_ = true;
  std::fprintf(err_, "joey: warning: this task is not being saved to history (%s); it continues\n",
               status.error().message.c_str());
  std::fflush(err_);
}

void HistoryRecorder::task_started(const agent::TaskInfo& info) {
  if (!store_) {
    check("open",
          make_error(ErrorKind::kIo, open_error_.empty() ? "history unavailable" : open_error_));
    return;
  }
  agent::TaskInfo stored = info;
  stored.task = redact(info.task);
  check("task_started", store_->create_task(stored));
}

void HistoryRecorder::message_added(const std::string& task_id, const llm::Message& message) {
  if (store_) check("message_added", store_->append_message(task_id, redact_message(message)));
}

void HistoryRecorder::usage_updated(const std::string& task_id, const agent::UsageTotals& totals,
                                    int requests) {
  if (store_) check("usage_updated", store_->update_totals(task_id, totals, requests));
}

void HistoryRecorder::task_finished(const std::string& task_id, agent::TaskStatus status,
                                    const std::string& detail) {
  if (store_) check("task_finished", store_->finish_task(task_id, status, redact(detail)));
}

llm::Message redact_message(const llm::Message& message) {
  llm::Message redacted = message;
  redacted.text = redact(message.text);
  for (llm::ToolCall& call : redacted.tool_calls) call.arguments = redact(call.arguments);
  for (llm::ToolResult& result : redacted.tool_results) result.content = redact(result.content);
  return redacted;
}

std::unique_ptr<HistoryRecorder> make_history_recorder(std::FILE* err,
                                                       const std::filesystem::path& path) {
  std::filesystem::path target = path;
  if (target.empty()) {
    Result<std::filesystem::path> found = default_history_path();
    if (!found.ok()) return std::make_unique<HistoryRecorder>(nullptr, err, found.error().message);
    target = *found;
  }
  Result<std::unique_ptr<HistoryStore>> store = HistoryStore::open(target);
  if (!store.ok()) return std::make_unique<HistoryRecorder>(nullptr, err, store.error().message);
  return std::make_unique<HistoryRecorder>(std::move(store).value(), err);
}

}  // namespace joey::client
