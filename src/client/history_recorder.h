// Records each task into the local history as it runs (agent::TaskRecorder over a
// HistoryStore). Everything stored passes through the redactor first (P2): a key the
// model read from a file or echoed back is kept as "[REDACTED]", so a resumed task
// never sends it again either. Keeping history must never end or slow down a task: a failure to
// record is logged (without message bodies) and reported once on stderr, and the
// recorder keeps trying for the following steps (a busy database may recover).
//
// Thread-safety: the task loop calls a recorder from one thread at a time; the store
// below is itself thread-safe.
#pragma once

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "agent/task_recorder.h"
#include "client/history_store.h"

namespace joey::client {

class HistoryRecorder : public agent::TaskRecorder {
 public:
  // `store` may be null (the history could not be opened): then `open_error` is
  // reported once, at task_started, and nothing is recorded. `err` receives the
  // one-line warning (normally stderr) and must outlive the recorder.
  HistoryRecorder(std::unique_ptr<HistoryStore> store, std::FILE* err, std::string open_error = "");

  void task_started(const agent::TaskInfo& info) override;
  void message_added(const std::string& task_id, const llm::Message& message) override;
  void usage_updated(const std::string& task_id, const agent::UsageTotals& totals,
                     int requests) override;
  void task_finished(const std::string& task_id, agent::TaskStatus status,
                     const std::string& detail) override;

  // True once a failure has been reported.
  bool failed() const { return warned_; }

 private:
  void check(const char* operation, const Status& status);

  std::unique_ptr<HistoryStore> store_;
  std::FILE* err_;
  std::string open_error_;
  bool warned_ = false;
};

// `message` with every text field passed through joey::redact(): text, tool call
// arguments, tool results. What history stores and what a Cloud upload sends.
llm::Message redact_message(const llm::Message& message);

// A recorder writing to `path` (default: $JOEY_HOME/history.db). Never fails: when
// the history cannot be opened the recorder warns once and records nothing.
std::unique_ptr<HistoryRecorder> make_history_recorder(
    std::FILE* err, const std::filesystem::path& path = std::filesystem::path());

}  // namespace joey::client
