#include "client/history_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "base/log.h"
#include "base/paths.h"
#include "base/strings.h"
#include "client/message_codec.h"

namespace joey::client {

namespace {

namespace fs = std::filesystem;

constexpr int kBusyTimeoutMs = 5000;
constexpr char kNow[] = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

// Forward-only: migration N (0-based) takes user_version N to N + 1. Never edit a
// migration that has shipped; add a new one.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE tasks(
  id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  workspace TEXT NOT NULL DEFAULT '',
  mode TEXT NOT NULL DEFAULT '',
  provider TEXT NOT NULL DEFAULT '',
  model TEXT NOT NULL DEFAULT '',
  title TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'running',
  requests INTEGER NOT NULL DEFAULT 0,
  input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0,
  cache_read_tokens INTEGER NOT NULL DEFAULT 0,
  cache_write_tokens INTEGER NOT NULL DEFAULT 0,
  cost_usd REAL,
  detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX tasks_by_creation ON tasks(created_at, id);
CREATE TABLE messages(
  id INTEGER PRIMARY KEY,
  task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  role TEXT NOT NULL,
  body_json TEXT NOT NULL,
  text TEXT NOT NULL,
  UNIQUE(task_id, seq)
);
CREATE VIRTUAL TABLE messages_fts USING fts5(
  text, content='messages', content_rowid='id',
  tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_after_insert AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER messages_fts_after_delete AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER messages_fts_after_update AFTER UPDATE ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
END;
)sql",
};
constexpr int kMigrationCount = static_cast<int>(std::size(kMigrations));
static_assert(kMigrationCount == kHistorySchemaVersion);

Error sqlite_error(sqlite3* db, const std::string& doing) {
  int code = sqlite3_extended_errcode(db);
  ErrorKind kind = ErrorKind::kIo;
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED || (code & 0xff) == SQLITE_BUSY) {
    kind = ErrorKind::kTimeout;
  }
  return make_error(kind, "history database: " + doing + ": " + sqlite3_errmsg(db));
}

Status exec(sqlite3* db, const char* sql, const std::string& doing) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return sqlite_error(db, doing);
  }
  return ok_status();
}

// One prepared statement, finalized on destruction. Binds copy their values.
class Statement {
 public:
  static Result<Statement> prepare(sqlite3* db, std::string_view sql) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &statement, nullptr) !=
        SQLITE_OK) {
      return sqlite_error(db, "preparing a query");
    }
    return Statement(db, statement);
  }
  Statement(Statement&& other) noexcept
      : db_(other.db_), statement_(std::exchange(other.statement_, nullptr)) {}
  Statement& operator=(Statement&&) = delete;
  ~Statement() { sqlite3_finalize(statement_); }

  Statement& bind(int index, std::string_view text) {
    sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()),
                      SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind_int(int index, int64_t value) {
    sqlite3_bind_int64(statement_, index, value);
    return *this;
  }
  Statement& bind_optional_double(int index, std::optional<double> value) {
    if (value) {
      sqlite3_bind_double(statement_, index, *value);
    } else {
      sqlite3_bind_null(statement_, index);
    }
    return *this;
  }

  // true: a row is ready; false: done.
  Result<bool> step(const std::string& doing) {
    int code = sqlite3_step(statement_);
    if (code == SQLITE_ROW) return true;
    if (code == SQLITE_DONE) return false;
    return sqlite_error(db_, doing);
  }
  Status run(const std::string& doing) {
    TRY(step(doing));
    return ok_status();
  }
  // Ready to run again with new bindings.
  void reset() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }

  std::string text(int column) const {
    const unsigned char* value = sqlite3_column_text(statement_, column);
    int size = sqlite3_column_bytes(statement_, column);
    return value ? std::string(reinterpret_cast<const char*>(value), static_cast<size_t>(size))
                 : std::string();
  }
  int64_t integer(int column) const { return sqlite3_column_int64(statement_, column); }
  double real(int column) const { return sqlite3_column_double(statement_, column); }
  bool is_null(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }

 private:
  Statement(sqlite3* db, sqlite3_stmt* statement) : db_(db), statement_(statement) {}
  sqlite3* db_;
  sqlite3_stmt* statement_;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back unless commit() succeeded.
class Transaction {
 public:
  static Result<Transaction> begin(sqlite3* db) {
    TRY(exec(db, "BEGIN IMMEDIATE", "starting a transaction"));
    return Transaction(db);
  }
  Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction() {
    if (db_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Status commit() {
    TRY(exec(db_, "COMMIT", "committing"));
    db_ = nullptr;
    return ok_status();
  }

 private:
  explicit Transaction(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

Error unknown_task(const std::string& task_id) {
  return make_error(ErrorKind::kNotFound, "no task '" + task_id +
                                              "' in the history; `joey history list` shows "
                                              "the stored tasks");
}

Result<int> user_version(sqlite3* db) {
  Statement query = TRY(Statement::prepare(db, "PRAGMA user_version"));
  if (!TRY(query.step("reading the schema version"))) return 0;
  return static_cast<int>(query.integer(0));
}

// Creates the file 0600 before SQLite does (SQLite would use 0644 minus the umask),
// and tightens an existing file.
Status create_private_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return make_error(ErrorKind::kIo, "cannot open " + path.string() + ": " + std::strerror(errno));
  }
  int changed = ::fchmod(fd, 0600);
  int saved_errno = errno;
  ::close(fd);
  if (changed != 0) {
    return make_error(ErrorKind::kIo, "cannot make " + path.string() +
                                          " private (mode 0600): " + std::strerror(saved_errno));
  }
  for (const char* suffix : {"-wal", "-shm"}) {
    ::chmod((path.string() + suffix).c_str(), 0600);  // absent is fine
  }
  return ok_status();
}

constexpr char kSummaryColumns[] =
    "t.id, t.created_at, t.updated_at, t.workspace, t.mode, t.provider, t.model, t.title, "
    "t.status, t.requests, t.input_tokens, t.output_tokens, t.cache_read_tokens, "
    "t.cache_write_tokens, t.cost_usd, t.detail, "
    "(SELECT COUNT(*) FROM messages m WHERE m.task_id = t.id)";

TaskSummary summary_from_row(const Statement& row) {
  TaskSummary summary;
  summary.task_id = row.text(0);
  summary.created_at = row.text(1);
  summary.updated_at = row.text(2);
  summary.workspace = row.text(3);
  summary.mode = row.text(4);
  summary.provider = row.text(5);
  summary.model = row.text(6);
  summary.title = row.text(7);
  summary.status = row.text(8);
  summary.requests = row.integer(9);
  summary.totals.usage.input_tokens = row.integer(10);
  summary.totals.usage.output_tokens = row.integer(11);
  summary.totals.usage.cache_read_tokens = row.integer(12);
  summary.totals.usage.cache_write_tokens = row.integer(13);
  if (!row.is_null(14)) summary.totals.cost_usd = row.real(14);
  summary.detail = row.text(15);
  summary.message_count = row.integer(16);
  return summary;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Whitespace and control characters end a search term. A NUL inside a quoted FTS5
// phrase would end the query text early, leaving the quote unterminated.
bool is_term_separator(char c) {
  auto byte = static_cast<unsigned char>(c);
  return byte <= 0x20 || byte == 0x7f;
}

// Letters and digits as unicode61 sees them, roughly: ASCII alphanumerics and any
// non-ASCII byte. A term without one tokenizes to nothing.
bool has_word_character(std::string_view term) {
  for (char c : term) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z')) {
      return true;
    }
  }
  return false;
}

}  // namespace

Result<fs::path> default_history_path() {
  fs::path home = TRY(joey_home());
  return home / "history.db";
}

std::string task_title(std::string_view task) {
  std::string_view line;
  while (!task.empty()) {
    size_t end = task.find('\n');
    line = task.substr(0, end);
    task = end == std::string_view::npos ? std::string_view() : task.substr(end + 1);
    while (!line.empty() && is_space(line.front())) line.remove_prefix(1);
    while (!line.empty() && is_space(line.back())) line.remove_suffix(1);
    if (!line.empty()) break;
  }
  size_t chars = 0;
  size_t pos = 0;
  size_t cut = 0;  // byte offset after kMaxTitleChars - 1 characters
  while (pos < line.size()) {
    if (chars == kMaxTitleChars - 1) cut = pos;
    size_t length = utf8_sequence_length(line, pos);
    pos += length == 0 ? 1 : length;
    ++chars;
  }
  if (chars <= kMaxTitleChars) return std::string(line);
  std::string title(line.substr(0, cut));
  while (!title.empty() && is_space(title.back())) title.pop_back();
  return title + "…";
}

std::string fts_query_from_user_input(std::string_view input) {
  std::vector<std::string_view> terms;
  size_t pos = 0;
  while (pos < input.size()) {
    while (pos < input.size() && is_term_separator(input[pos])) ++pos;
    size_t start = pos;
    while (pos < input.size() && !is_term_separator(input[pos])) ++pos;
    std::string_view term = input.substr(start, pos - start);
    if (has_word_character(term)) terms.push_back(term);
  }
  std::string query;
  for (size_t index = 0; index < terms.size(); ++index) {
    if (index > 0) query += " AND ";
    query += '"';
    for (char c : terms[index]) {
      if (c == '"') query += '"';
      query += c;
    }
    query += '"';
    if (index + 1 == terms.size()) query += '*';
  }
  return query;
}

Result<std::unique_ptr<HistoryStore>> HistoryStore::open(const fs::path& path) {
  if (path.has_parent_path()) TRY(ensure_private_dir(path.parent_path()));
  TRY(create_private_file(path));
  sqlite3* db = nullptr;
  int code =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (code != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(code);
    sqlite3_close(db);
    return make_error(ErrorKind::kIo, "cannot open " + path.string() + ": " + message);
  }
  std::unique_ptr<HistoryStore> store(new HistoryStore(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  Status configured = exec(db,
                           "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                           "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;",
                           "configuring");
  if (configured.ok()) configured = store->migrate();
  if (!configured.ok()) {
    return configured.error().with_context(path.string() + " (is it a joey history database?)");
  }
  return store;
}

HistoryStore::~HistoryStore() { sqlite3_close(db_); }

Status HistoryStore::migrate() {
  if (TRY(user_version(db_)) == kMigrationCount) return ok_status();
  Transaction transaction = TRY(Transaction::begin(db_));
  int version = TRY(user_version(db_));  // again: another process may have migrated
  if (version > kMigrationCount) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the history database has schema version " + std::to_string(version) +
                          ", newer than this joey knows (" + std::to_string(kMigrationCount) +
                          "); upgrade joey");
  }
  for (; version < kMigrationCount; ++version) {
    TRY(exec(db_, kMigrations[version],
             "migrating the schema to version " + std::to_string(version + 1)));
    std::string set_version = "PRAGMA user_version = " + std::to_string(version + 1);
    TRY(exec(db_, set_version.c_str(), "recording the schema version"));
  }
  return transaction.commit();
}

Status HistoryStore::create_task(const agent::TaskInfo& info) {
  std::lock_guard lock(mutex_);
  std::string sql = std::string(
                        "INSERT INTO tasks(id, created_at, updated_at, workspace, mode, provider, "
                        "model, title, status) VALUES (?1, ") +
                    kNow + ", " + kNow +
                    ", ?2, ?3, ?4, ?5, ?6, 'running') ON CONFLICT(id) DO UPDATE SET "
                    "updated_at = excluded.updated_at, mode = excluded.mode, "
                    "provider = excluded.provider, model = excluded.model, "
                    "status = 'running', detail = ''";
  Statement insert = TRY(Statement::prepare(db_, sql));
  insert.bind(1, info.task_id)
      .bind(2, info.workspace)
      .bind(3, info.mode)
      .bind(4, info.provider)
      .bind(5, info.model)
      .bind(6, task_title(info.task));
  return insert.run("recording a task");
}

Status HistoryStore::append_message(const std::string& task_id, const llm::Message& message) {
  std::lock_guard lock(mutex_);
  Transaction transaction = TRY(Transaction::begin(db_));
  Statement insert = TRY(Statement::prepare(
      db_,
      "INSERT INTO messages(task_id, seq, role, body_json, text) "
      "SELECT ?1, COALESCE(MAX(seq), -1) + 1, ?2, ?3, ?4 FROM messages WHERE task_id = ?1"));
  insert.bind(1, task_id)
      .bind(2, role_name(message.role))
      .bind(3, message_to_json_text(message))
      .bind(4, message_search_text(message));
  Status inserted = insert.run("saving a message");
  if (!inserted.ok()) {
    if (sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_FOREIGNKEY) return unknown_task(task_id);
    return inserted;
  }
  Statement touch = TRY(Statement::prepare(
      db_, std::string("UPDATE tasks SET updated_at = ") + kNow + " WHERE id = ?1"));
  TRY(touch.bind(1, task_id).run("saving a message"));
  return transaction.commit();
}

Status HistoryStore::update_totals(const std::string& task_id, const agent::UsageTotals& totals,
                                   int requests) {
  std::lock_guard lock(mutex_);
  Statement update = TRY(Statement::prepare(
      db_, std::string("UPDATE tasks SET requests = ?2, input_tokens = ?3, output_tokens = ?4, "
                       "cache_read_tokens = ?5, cache_write_tokens = ?6, cost_usd = ?7, "
                       "updated_at = ") +
               kNow + " WHERE id = ?1"));
  update.bind(1, task_id)
      .bind_int(2, requests)
      .bind_int(3, totals.usage.input_tokens)
      .bind_int(4, totals.usage.output_tokens)
      .bind_int(5, totals.usage.cache_read_tokens)
      .bind_int(6, totals.usage.cache_write_tokens)
      .bind_optional_double(7, totals.cost_usd);
  TRY(update.run("saving token counts"));
  if (sqlite3_changes(db_) == 0) return unknown_task(task_id);
  return ok_status();
}

Status HistoryStore::finish_task(const std::string& task_id, agent::TaskStatus status,
                                 const std::string& detail) {
  std::lock_guard lock(mutex_);
  Statement update = TRY(Statement::prepare(
      db_, std::string("UPDATE tasks SET status = ?2, detail = ?3, updated_at = ") + kNow +
               " WHERE id = ?1"));
  update.bind(1, task_id).bind(2, agent::task_status_name(status)).bind(3, detail);
  TRY(update.run("saving the task's end"));
  if (sqlite3_changes(db_) == 0) return unknown_task(task_id);
  return ok_status();
}

Result<std::vector<TaskSummary>> HistoryStore::list(int limit, int offset) {
  std::lock_guard lock(mutex_);
  Statement query = TRY(Statement::prepare(
      db_, std::string("SELECT ") + kSummaryColumns +
               " FROM tasks t ORDER BY t.created_at DESC, t.id DESC LIMIT ?1 OFFSET ?2"));
  query.bind_int(1, limit).bind_int(2, offset);
  std::vector<TaskSummary> summaries;
  while (TRY(query.step("listing tasks"))) summaries.push_back(summary_from_row(query));
  return summaries;
}

Result<TaskSummary> HistoryStore::summary_locked(const std::string& task_id) {
  Statement query = TRY(Statement::prepare(
      db_, std::string("SELECT ") + kSummaryColumns + " FROM tasks t WHERE t.id = ?1"));
  query.bind(1, task_id);
  if (!TRY(query.step("reading a task"))) return unknown_task(task_id);
  return summary_from_row(query);
}

Result<TaskRecord> HistoryStore::get(const std::string& task_id) {
  TaskRecord record;
  {
    std::lock_guard lock(mutex_);
    record.summary = TRY(summary_locked(task_id));
  }
  record.messages = TRY(load_messages(task_id));
  return record;
}

Result<std::vector<llm::Message>> HistoryStore::load_messages(const std::string& task_id) {
  std::lock_guard lock(mutex_);
  TRY(summary_locked(task_id));
  Statement query = TRY(Statement::prepare(
      db_, "SELECT seq, body_json FROM messages WHERE task_id = ?1 ORDER BY seq"));
  query.bind(1, task_id);
  std::vector<llm::Message> messages;
  while (TRY(query.step("reading messages"))) {
    Result<llm::Message> message = message_from_json_text(query.text(1));
    if (!message.ok()) {
      return message.error().with_context("task " + task_id + ", message " +
                                          std::to_string(query.integer(0)));
    }
    messages.push_back(std::move(message).value());
  }
  return messages;
}

Result<std::vector<SearchHit>> HistoryStore::search(std::string_view query, int limit) {
  std::string match = fts_query_from_user_input(query);
  std::vector<SearchHit> hits;
  if (match.empty() || limit <= 0) return hits;
  std::lock_guard lock(mutex_);
  // The best message of each task (for MIN, SQLite gives the bare rowid column the
  // value from the row holding the minimum) and how many of its messages match.
  Statement best = TRY(Statement::prepare(
      db_,
      "SELECT m.task_id, messages_fts.rowid, MIN(messages_fts.rank) AS score, COUNT(*) "
      "FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid "
      "WHERE messages_fts MATCH ?1 GROUP BY m.task_id ORDER BY score LIMIT ?2"));
  best.bind(1, match).bind_int(2, limit);
  std::vector<int64_t> rowids;
  while (TRY(best.step("searching"))) {
    SearchHit hit;
    hit.task_id = best.text(0);
    rowids.push_back(best.integer(1));
    hit.score = best.real(2);
    hit.matching_messages = best.integer(3);
    hits.push_back(std::move(hit));
  }
  Statement detail = TRY(Statement::prepare(
      db_,
      "SELECT snippet(messages_fts, 0, '**', '**', '…', 16), m.seq, m.role, t.title, "
      "t.created_at, t.status FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid "
      "JOIN tasks t ON t.id = m.task_id WHERE messages_fts MATCH ?1 AND messages_fts.rowid = ?2"));
  for (size_t index = 0; index < hits.size(); ++index) {
    detail.reset();
    detail.bind(1, match).bind_int(2, rowids[index]);
    if (!TRY(detail.step("reading a search hit"))) continue;
    SearchHit& hit = hits[index];
    hit.snippet = detail.text(0);
    hit.seq = detail.integer(1);
    hit.role = detail.text(2);
    hit.title = detail.text(3);
    hit.created_at = detail.text(4);
    hit.status = detail.text(5);
  }
  return hits;
}

Status HistoryStore::scrub_after_delete() {
  // The FTS5 index keeps deleted entries in older segments until they are merged;
  // 'optimize' merges everything into one segment without them. secure_delete then
  // zeroes the freed pages, and the checkpoint moves them out of the WAL.
  TRY(exec(db_, "INSERT INTO messages_fts(messages_fts) VALUES ('optimize')",
           "compacting the search index"));
  Statement checkpoint = TRY(Statement::prepare(db_, "PRAGMA wal_checkpoint(TRUNCATE)"));
  if (TRY(checkpoint.step("checkpointing")) && checkpoint.integer(0) != 0) {
    // Another joey is reading the file: its WAL is truncated on a later checkpoint.
    log::warn("history_checkpoint_busy");
  }
  return ok_status();
}

Result<TaskSummary> HistoryStore::delete_task(const std::string& task_id) {
  std::lock_guard lock(mutex_);
  TaskSummary summary;
  {
    Transaction transaction = TRY(Transaction::begin(db_));
    summary = TRY(summary_locked(task_id));
    Statement remove = TRY(Statement::prepare(db_, "DELETE FROM tasks WHERE id = ?1"));
    TRY(remove.bind(1, task_id).run("deleting a task"));
    TRY(transaction.commit());
  }
  TRY(scrub_after_delete());
  return summary;
}

Result<int64_t> HistoryStore::delete_all() {
  std::lock_guard lock(mutex_);
  int64_t count = 0;
  {
    Transaction transaction = TRY(Transaction::begin(db_));
    {
      Statement counter = TRY(Statement::prepare(db_, "SELECT COUNT(*) FROM tasks"));
      if (TRY(counter.step("counting tasks"))) count = counter.integer(0);
    }
    TRY(exec(db_, "DELETE FROM messages; DELETE FROM tasks;", "deleting every task"));
    TRY(transaction.commit());
  }
  TRY(scrub_after_delete());
  return count;
}

}  // namespace joey::client
