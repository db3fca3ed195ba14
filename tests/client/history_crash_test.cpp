// Recording a task must survive anything: a process killed (SIGKILL) in the middle of
// writing leaves an intact database whose messages form a gap-free prefix of what was
// written, and a recorder whose writes fail warns once and lets the task go on.
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "base/redact.h"
#include "client/history_recorder.h"
#include "client/history_store.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "joey-history-crash-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code error;
    fs::remove_all(path_, error);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

constexpr char kTaskId[] = "20261125T154419-c0ffee00";

// Message number `index`: its text names the index, padded to a size that varies so
// that a kill lands at varied points of a write.
llm::Message numbered_message(int64_t index) {
  llm::Message message;
  message.role = index % 2 == 0 ? llm::Role::kUser : llm::Role::kAssistant;
  message.text = "message " + std::to_string(index) + " ";
  message.text.append(static_cast<size_t>((index * 7919) % 20000), 'a' + index % 26);
  if (index % 2 == 1) message.tool_calls.push_back({"call", "read_file", "{\"path\":\"x\"}"});
  return message;
}

// The child: appends messages after the stored ones until killed, writing one byte to
// `progress_fd` after each append has committed. Never returns.
[[noreturn]] void append_until_killed(const fs::path& path, int progress_fd) {
  Result<std::unique_ptr<HistoryStore>> store = HistoryStore::open(path);
  if (!store.ok()) _exit(10);
  Result<std::vector<llm::Message>> stored = (*store)->load_messages(kTaskId);
  if (!stored.ok()) _exit(11);
  for (int64_t index = static_cast<int64_t>(stored->size());; ++index) {
    if (!(*store)->append_message(kTaskId, numbered_message(index)).ok()) _exit(12);
    char byte = 'x';
    if (write(progress_fd, &byte, 1) != 1) _exit(13);
  }
}

std::string integrity_check(sqlite3* db) {
  sqlite3_stmt* statement = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &statement, nullptr);
  std::string result;
  while (sqlite3_step(statement) == SQLITE_ROW) {
    result += reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
  }
  sqlite3_finalize(statement);
  return result;
}

TEST(HistoryCrash, KillNineMidTaskLeavesAnIntactDatabaseWithAGapFreePrefix) {
  TempDir temp;
  fs::path path = temp.path() / "history.db";
  {
    Result<std::unique_ptr<HistoryStore>> store = HistoryStore::open(path);
    ASSERT_TRUE(store.ok()) << store.error().message;
    agent::TaskInfo info;
    info.task_id = kTaskId;
    info.task = "crash me";
    ASSERT_TRUE((*store)->create_task(info).ok());
  }
  std::mt19937 random(20261125);
  int64_t acknowledged = 0;  // appends the children reported committed, all rounds
  for (int round = 0; round < 6; ++round) {
    int pipe_fds[2];
    ASSERT_EQ(pipe(pipe_fds), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(pipe_fds[0]);
      append_until_killed(path, pipe_fds[1]);
    }
    close(pipe_fds[1]);
    // Let the child commit a random number of messages, then kill it wherever it is.
    int wanted = 1 + static_cast<int>(random() % 40);
    int seen = 0;
    char buffer[64];
    while (seen < wanted) {
      ssize_t got = read(pipe_fds[0], buffer, std::min<size_t>(sizeof buffer, wanted - seen));
      ASSERT_GT(got, 0) << "the child stopped writing before it was killed";
      seen += static_cast<int>(got);
    }
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exit status " << WEXITSTATUS(status);
    // Bytes written just before the kill were committed too.
    while (read(pipe_fds[0], buffer, sizeof buffer) > 0) ++seen;
    close(pipe_fds[0]);
    acknowledged += seen;

    Result<std::unique_ptr<HistoryStore>> reopened = HistoryStore::open(path);
    ASSERT_TRUE(reopened.ok()) << reopened.error().message;
    EXPECT_EQ(integrity_check((*reopened)->connection_for_testing()), "ok");
    Result<std::vector<llm::Message>> messages = (*reopened)->load_messages(kTaskId);
    ASSERT_TRUE(messages.ok()) << messages.error().message;
    ASSERT_GE(static_cast<int64_t>(messages->size()), acknowledged)
        << "a committed message was lost";
    for (size_t index = 0; index < messages->size(); ++index) {
      ASSERT_EQ((*messages)[index].text, numbered_message(static_cast<int64_t>(index)).text)
          << "message " << index << " of " << messages->size();
    }
    acknowledged = static_cast<int64_t>(messages->size());
    Result<std::vector<SearchHit>> hits = (*reopened)->search("message", 1);
    ASSERT_TRUE(hits.ok());
    EXPECT_EQ(hits->size(), 1u);
  }
}

// ---- the recorder ----

class CapturedStream {
 public:
  CapturedStream() : file_(std::tmpfile()) {}
  ~CapturedStream() { std::fclose(file_); }
  std::FILE* get() { return file_; }
  std::string text() {
    std::fflush(file_);
    std::rewind(file_);
    std::string out;
    char buffer[512];
    size_t got;
    while ((got = std::fread(buffer, 1, sizeof buffer, file_)) > 0) out.append(buffer, got);
    return out;
  }

 private:
  std::FILE* file_;
};

size_t count_of(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++count;
  }
  return count;
}

TEST(HistoryRecorder, RecordsATaskAsItRuns) {
  TempDir temp;
  fs::path path = temp.path() / "history.db";
  CapturedStream err;
  std::unique_ptr<HistoryRecorder> recorder = make_history_recorder(err.get(), path);
  agent::TaskInfo info;
  info.task_id = kTaskId;
  info.task = "Write the tests";
  info.model = "gpt-4.1";
  recorder->task_started(info);
  recorder->message_added(kTaskId, numbered_message(0));
  recorder->message_added(kTaskId, numbered_message(1));
  agent::UsageTotals totals;
  totals.usage.input_tokens = 10;
  totals.cost_usd = 0.5;
  recorder->usage_updated(kTaskId, totals, 1);
  recorder->task_finished(kTaskId, agent::TaskStatus::kCompleted, "All done.");
  EXPECT_FALSE(recorder->failed());
  EXPECT_EQ(err.text(), "");

  Result<std::unique_ptr<HistoryStore>> store = HistoryStore::open(path);
  ASSERT_TRUE(store.ok());
  Result<TaskRecord> record = (*store)->get(kTaskId);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->summary.status, "completed");
  EXPECT_EQ(record->summary.detail, "All done.");
  EXPECT_EQ(record->summary.totals.usage.input_tokens, 10);
  EXPECT_EQ(record->messages.size(), 2u);
}

TEST(HistoryRecorder, FailuresWarnOnceWithoutMessageContent) {
  TempDir temp;
  CapturedStream err;
  std::unique_ptr<HistoryRecorder> recorder =
      make_history_recorder(err.get(), temp.path() / "history.db");
  // Never started: every write fails (unknown task).
  llm::Message secret;
  secret.text = "the secret body must not be printed";
  recorder->message_added("missing-task", secret);
  recorder->message_added("missing-task", secret);
  recorder->task_finished("missing-task", agent::TaskStatus::kFailed, "x");
  EXPECT_TRUE(recorder->failed());
  std::string warnings = err.text();
  EXPECT_EQ(count_of(warnings, "joey: warning:"), 1u) << warnings;
  EXPECT_EQ(warnings.find("secret body"), std::string::npos);
}

TEST(HistoryRecorder, AnUnopenableHistoryWarnsOnceAndRecordsNothing) {
  TempDir temp;
  fs::path blocker = temp.path() / "not-a-directory";
  std::FILE* file = std::fopen(blocker.c_str(), "w");
  ASSERT_NE(file, nullptr);
  std::fclose(file);
  CapturedStream err;
  std::unique_ptr<HistoryRecorder> recorder =
      make_history_recorder(err.get(), blocker / "history.db");
  agent::TaskInfo info;
  info.task_id = kTaskId;
  recorder->task_started(info);
  recorder->message_added(kTaskId, numbered_message(0));
  recorder->task_finished(kTaskId, agent::TaskStatus::kCompleted, "done");
  EXPECT_TRUE(recorder->failed());
  std::string warnings = err.text();
  EXPECT_EQ(count_of(warnings, "joey: warning:"), 1u) << warnings;
  EXPECT_NE(warnings.find("not-a-directory"), std::string::npos) << warnings;
}

TEST(HistoryRecorder, StoresKeysTheModelSawAsRedacted) {
  TempDir temp;
  fs::path path = temp.path() / "history.db";
  const std::string registered = "canaryregistered0123456789abcdef";
  const std::string shaped = "AKIAABCDEFGHIJKLMNOP";
  register_secret(registered);
  CapturedStream err;
  std::unique_ptr<HistoryRecorder> recorder = make_history_recorder(err.get(), path);
  agent::TaskInfo info;
  info.task_id = kTaskId;
  info.task = "Use " + registered + " please";
  recorder->task_started(info);
  llm::Message assistant;
  assistant.role = llm::Role::kAssistant;
  assistant.text = "The key is " + registered;
  assistant.tool_calls.push_back(
      {"call_1", "write_to_file", R"({"path":"k.txt","content":")" + shaped + R"("})"});
  recorder->message_added(kTaskId, assistant);
  llm::Message result;
  result.tool_results.push_back({"call_1", "read_file", "AWS=" + shaped + "\nX=" + registered});
  recorder->message_added(kTaskId, result);
  recorder->task_finished(kTaskId, agent::TaskStatus::kCompleted, "Wrote " + registered);
  recorder.reset();
  clear_registered_secrets_for_testing();

  std::string bytes;
  for (const auto& entry : fs::directory_iterator(temp.path())) {
    std::FILE* file = std::fopen(entry.path().c_str(), "rb");
    ASSERT_NE(file, nullptr);
    char buffer[4096];
    size_t got;
    while ((got = std::fread(buffer, 1, sizeof buffer, file)) > 0) bytes.append(buffer, got);
    std::fclose(file);
  }
  EXPECT_EQ(bytes.find(registered), std::string::npos);
  EXPECT_EQ(bytes.find(shaped), std::string::npos);

  Result<std::unique_ptr<HistoryStore>> store = HistoryStore::open(path);
  ASSERT_TRUE(store.ok());
  Result<TaskRecord> record = (*store)->get(kTaskId);
  ASSERT_TRUE(record.ok());
  ASSERT_EQ(record->messages.size(), 2u);
  EXPECT_EQ(record->messages[0].text, "The key is [REDACTED]");
  EXPECT_EQ(record->messages[0].tool_calls[0].arguments,
            R"({"path":"k.txt","content":"[REDACTED]"})");
  EXPECT_EQ(record->messages[1].tool_results[0].content, "AWS=[REDACTED]\nX=[REDACTED]");
  EXPECT_EQ(record->summary.detail, "Wrote [REDACTED]");
}

}  // namespace
}  // namespace joey::client
