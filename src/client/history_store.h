// The local task history: every task joey runs, with its messages, token counts and
// cost, kept in $JOEY_HOME/history.db so that it can be listed, searched, shown,
// deleted and resumed.
//
// Storage: SQLite in WAL mode with synchronous=NORMAL. Each message is appended in its
// own transaction, so a crash (even kill -9) loses at most the message being written
// and never leaves the database inconsistent. The file (and SQLite's -wal and -shm
// files, which inherit its mode) is 0600. Full-text search is an FTS5 index (unicode61,
// diacritics folded) over each message's searchable text (message_search_text()),
// kept in step with the messages table by triggers. Deleting runs with
// secure_delete=ON, rebuilds the search index without the deleted rows and truncates
// the WAL, so deleted text does not linger in the file.
//
// Schema changes are forward-only migrations numbered by PRAGMA user_version; open()
// applies the missing ones, and refuses a database written by a newer joey.
//
// Thread-safety: a HistoryStore is one SQLite connection; every method takes an
// internal mutex, so it may be shared between threads. Several processes may use the
// same file at once (SQLite's locking, with a busy timeout).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/events.h"
#include "agent/task_recorder.h"
#include "base/result.h"
#include "llm/conversation.h"

struct sqlite3;

namespace joey::client {

// The schema version this build writes (PRAGMA user_version after open()).
inline constexpr int kHistorySchemaVersion = 1;
// Titles are the first line of the task, cut to this many characters.
inline constexpr size_t kMaxTitleChars = 120;

struct TaskSummary {
  std::string task_id;
  std::string created_at;  // UTC, "2026-11-25T15:44:19.123Z"
  std::string updated_at;
  std::string workspace;
  std::string mode;
  std::string provider;
  std::string model;
  std::string title;
  std::string status;  // agent::task_status_name(): running, completed, failed, ...
  int64_t requests = 0;
  agent::UsageTotals totals;
  std::string detail;  // the completion result or the error that ended the task
  int64_t message_count = 0;
};

struct TaskRecord {
  TaskSummary summary;
  std::vector<llm::Message> messages;
};

// One task that matches a search, with its best-matching message.
struct SearchHit {
  std::string task_id;
  std::string title;
  std::string created_at;
  std::string status;
  int64_t seq = 0;      // the best message's position in the task (0 = first)
  std::string role;     // "user" or "assistant"
  std::string snippet;  // text around the match, terms marked **like this**
  double score = 0;     // bm25: lower is better
  int64_t matching_messages = 0;
};

// $JOEY_HOME/history.db.
Result<std::filesystem::path> default_history_path();

// The title stored for a task: its first non-empty line, trimmed, cut to
// kMaxTitleChars characters (never inside a UTF-8 sequence; "…" marks a cut).
std::string task_title(std::string_view task);

// Turns what a user typed into an FTS5 query that cannot be a syntax error: every
// term (separated by whitespace or control characters) becomes a quoted phrase (double quotes
// doubled), the terms are ANDed, and the last one matches as a prefix. Terms with no letter or
// digit are dropped; empty when nothing is left to search for.
std::string fts_query_from_user_input(std::string_view input);

class HistoryStore {
 public:
  // Opens (creating it, mode 0600, and its parent directory, mode 0700, when missing)
  // and migrates the database at `path`. An existing file's mode is set to 0600.
  // kIo when it cannot be opened or is not a joey history database,
  // kInvalidArgument when it was written by a newer joey.
  static Result<std::unique_ptr<HistoryStore>> open(const std::filesystem::path& path);

  ~HistoryStore();
  HistoryStore(const HistoryStore&) = delete;
  HistoryStore& operator=(const HistoryStore&) = delete;

  // Records a new task as running. When `info.task_id` is already stored (a resumed
  // task), marks it running again and updates mode, provider and model; its title,
  // creation time, messages and totals are kept.
  Status create_task(const agent::TaskInfo& info);
  // Appends `message` after the task's last one, in one transaction.
  // kNotFound when the task does not exist.
  Status append_message(const std::string& task_id, const llm::Message& message);
  // Replaces the task's running totals (the task loop reports cumulative figures).
  Status update_totals(const std::string& task_id, const agent::UsageTotals& totals, int requests);
  Status finish_task(const std::string& task_id, agent::TaskStatus status,
                     const std::string& detail);

  // Most recent first.
  Result<std::vector<TaskSummary>> list(int limit, int offset = 0);
  // kNotFound (naming the id, suggesting `joey history list`) for an unknown id.
  Result<TaskRecord> get(const std::string& task_id);
  // The task's messages in order, to resume it. kNotFound as get().
  Result<std::vector<llm::Message>> load_messages(const std::string& task_id);
  // Tasks whose messages match every term of `query` (see fts_query_from_user_input),
  // best first, at most `limit`. Any input is accepted; nothing to search → no hits.
  Result<std::vector<SearchHit>> search(std::string_view query, int limit);

  // Deletes a task and its messages. kNotFound when it does not exist.
  Result<TaskSummary> delete_task(const std::string& task_id);
  // Deletes every task; returns how many there were.
  Result<int64_t> delete_all();

  // The underlying connection, for tests and benchmarks that inspect the file.
  sqlite3* connection_for_testing() { return db_; }

 private:
  explicit HistoryStore(sqlite3* db) : db_(db) {}
  Status migrate();
  Status scrub_after_delete();
  Result<TaskSummary> summary_locked(const std::string& task_id);

  std::mutex mutex_;
  sqlite3* db_;  // GUARDED_BY(mutex_); owned
};

}  // namespace joey::client
