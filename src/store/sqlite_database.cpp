// The SQLite backend: one writer connection serialised by a mutex (write transactions
// begin IMMEDIATE, so other processes wait on busy_timeout) and a pool of read-only
// connections for read transactions. WAL journal, synchronous=NORMAL, foreign keys on.
// Each connection keeps its prepared statements by their text: the server runs the same
// few dozen statements all day, and parsing one again costs more than running it.
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "base/log.h"
#include "store/session.h"
#include "store/yielding_vfs.h"

namespace joey::store::detail {

namespace {

Error sqlite_error(sqlite3* db, int code, std::string_view doing) {
  int extended = db != nullptr ? sqlite3_extended_errcode(db) : code;
  std::string message = "database " + std::string(doing) + ": " +
                        (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code));
  switch (extended & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return make_error(ErrorKind::kTimeout, message + " (busy; retry the transaction)");
    case SQLITE_CONSTRAINT:
      if (extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return make_error(ErrorKind::kAlreadyExists, message);
      }
      return make_error(ErrorKind::kInvalidArgument, message);
    case SQLITE_READONLY:
      return make_error(ErrorKind::kPermissionDenied, message + " (read-only transaction)");
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return make_error(ErrorKind::kIo, message);
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_PERM:
      return make_error(ErrorKind::kIo, message);
    default:
      return make_error(ErrorKind::kInternal, message);
  }
}

Status exec(sqlite3* db, std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int code = sqlite3_exec(db, text.c_str(), nullptr, nullptr, &message);
  sqlite3_free(message);
  if (code != SQLITE_OK) return sqlite_error(db, code, "statement failed");
  return ok_status();
}

struct StatementCloser {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using StatementPtr = std::unique_ptr<sqlite3_stmt, StatementCloser>;

Status bind_all(sqlite3* db, sqlite3_stmt* statement, const std::vector<Value>& params) {
  for (size_t index = 0; index < params.size(); ++index) {
    const Value& value = params[index];
    int position = static_cast<int>(index + 1);
    int code = SQLITE_OK;
    switch (value.type()) {
      case Value::Type::kNull:
        code = sqlite3_bind_null(statement, position);
        break;
      case Value::Type::kInteger:
        code = sqlite3_bind_int64(statement, position, value.integer());
        break;
      case Value::Type::kDouble:
        code = sqlite3_bind_double(statement, position, value.real());
        break;
      case Value::Type::kText:
        code = sqlite3_bind_text64(statement, position, value.text().data(), value.text().size(),
                                   SQLITE_TRANSIENT, SQLITE_UTF8);
        break;
      case Value::Type::kBlob:
        code = sqlite3_bind_blob64(statement, position, value.blob().data(), value.blob().size(),
                                   SQLITE_TRANSIENT);
        break;
    }
    if (code != SQLITE_OK) return sqlite_error(db, code, "binding a parameter");
  }
  return ok_status();
}

Value column_value(sqlite3_stmt* statement, int column) {
  switch (sqlite3_column_type(statement, column)) {
    case SQLITE_INTEGER:
      return Value(static_cast<int64_t>(sqlite3_column_int64(statement, column)));
    case SQLITE_FLOAT:
      return Value(sqlite3_column_double(statement, column));
    case SQLITE_TEXT: {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
      return Value(std::string(text != nullptr ? text : "",
                               static_cast<size_t>(sqlite3_column_bytes(statement, column))));
    }
    case SQLITE_BLOB: {
      const auto* bytes = static_cast<const char*>(sqlite3_column_blob(statement, column));
      size_t size = static_cast<size_t>(sqlite3_column_bytes(statement, column));
      return Value(Blob{bytes != nullptr ? std::string(bytes, size) : std::string()});
    }
    default:
      return Value();
  }
}

// Statements kept per connection; past this many the cache starts again (the server's
// statements are far fewer, so this only bounds generated SQL).
constexpr size_t kMaxCachedStatements = 256;

// WAL pages after which a commit checkpoints them into the database (see initialise()).
constexpr int kCheckpointPages = 256;

// One SQLite connection and the statements prepared on it. Used by one thread at a time
// (the writer under its lock, a reader while leased).
struct Connection {
  sqlite3* db = nullptr;
  std::unordered_map<std::string, StatementPtr> statements;

  explicit Connection(sqlite3* handle) : db(handle) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    statements.clear();  // finalized before the connection closes
    sqlite3_close_v2(db);
  }
};

// Resets a cached statement when a run ends, however it ends: a statement left mid-step
// would hold its read snapshot open.
struct StatementReset {
  sqlite3_stmt* statement;
  ~StatementReset() {
    sqlite3_reset(statement);
    sqlite3_clear_bindings(statement);
  }
};

// The prepared statement for sql on this connection: from its cache, or parsed and kept.
// Null for text with no statement in it (whitespace or comments).
Result<sqlite3_stmt*> prepared(Connection& connection, const std::string& sql) {
  if (const auto found = connection.statements.find(sql); found != connection.statements.end()) {
    return found->second.get();
  }
  sqlite3_stmt* raw = nullptr;
  int code = sqlite3_prepare_v3(connection.db, sql.c_str(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  StatementPtr statement(raw);
  if (code != SQLITE_OK) return sqlite_error(connection.db, code, "preparing a statement");
  if (!statement) return static_cast<sqlite3_stmt*>(nullptr);
  if (connection.statements.size() >= kMaxCachedStatements) connection.statements.clear();
  return connection.statements.emplace(sql, std::move(statement)).first->second.get();
}

Result<Rows> run_statement(Connection& connection, const std::string& sql,
                           const std::vector<Value>& params) {
  sqlite3* db = connection.db;
  sqlite3_stmt* statement = TRY(prepared(connection, sql));
  if (statement == nullptr) return Rows{};
  StatementReset reset{statement};
  TRY(bind_all(db, statement, params));
  Rows rows;
  int columns = sqlite3_column_count(statement);
  auto names = std::make_shared<std::vector<std::string>>();
  for (int column = 0; column < columns; ++column) {
    const char* name = sqlite3_column_name(statement, column);
    names->push_back(name != nullptr ? name : "");
  }
  int code = SQLITE_OK;
  while (true) {
    code = sqlite3_step(statement);
    if (code == SQLITE_DONE) break;
    if (code != SQLITE_ROW) return sqlite_error(db, code, "statement failed");
    std::vector<Value> values;
    values.reserve(static_cast<size_t>(columns));
    for (int column = 0; column < columns; ++column) {
      values.push_back(column_value(statement, column));
    }
    rows.rows.emplace_back(names, std::move(values));
  }
  rows.affected = sqlite3_stmt_readonly(statement) ? 0 : sqlite3_changes64(db);
  return rows;
}

// A statement with no parameters and no rows (BEGIN, COMMIT, PRAGMA …), from the cache.
Status run_command(Connection& connection, const std::string& sql) {
  TRY(run_statement(connection, sql, {}));
  return ok_status();
}

class SqliteDatabase;

// A transaction on the writer (holding the writer lock) or on a leased reader.
class SqliteSession : public Session {
 public:
  // On the writer, holding its lock.
  SqliteSession(SqliteDatabase& owner, Connection& writer,
                std::unique_lock<std::timed_mutex> writer_lock)
      : owner_(owner), connection_(writer), writer_lock_(std::move(writer_lock)) {}
  // On a leased reader, returned to the pool at the end.
  SqliteSession(SqliteDatabase& owner, std::unique_ptr<Connection> reader)
      : owner_(owner), connection_(*reader), reader_(std::move(reader)) {}
  ~SqliteSession() override;

  Result<Rows> run(const std::string& sql, const std::vector<Value>& params) override {
    return run_statement(connection_, sql, params);
  }
  Status commit() override {
    Status status = run_command(connection_, "COMMIT");
    if (status.ok()) open_ = false;
    return status;
  }
  void rollback() override {
    if (open_ && sqlite3_get_autocommit(connection_.db) == 0) {
      (void)run_command(connection_, "ROLLBACK");
    }
    open_ = false;
  }

 private:
  SqliteDatabase& owner_;
  Connection& connection_;
  std::unique_lock<std::timed_mutex> writer_lock_;  // owns the writer when locked
  std::unique_ptr<Connection> reader_;              // the leased reader, if not the writer
  bool open_ = true;
};

class SqliteMigrationTarget : public MigrationTarget {
 public:
  explicit SqliteMigrationTarget(Connection& connection) : connection_(connection) {}
  bool is_postgres() const override { return false; }
  Status exec_script(std::string_view sql) override { return exec(connection_.db, sql); }
  Result<int64_t> query_integer(std::string_view sql) override {
    Rows rows = TRY(run_statement(connection_, std::string(sql), {}));
    if (rows.empty() || rows[0].size() == 0 || rows[0].at(0).is_null()) return int64_t{0};
    if (rows[0].at(0).type() != Value::Type::kInteger) {
      return make_error(ErrorKind::kInternal, "expected an integer from: " + std::string(sql));
    }
    return rows[0].at(0).integer();
  }

 private:
  Connection& connection_;
};

class SqliteDatabase : public Database {
 public:
  SqliteDatabase(std::string path, const OpenOptions& options)
      : path_(std::move(path)), options_(options) {}

  ~SqliteDatabase() override = default;  // readers first, then the writer

  Status flush_deleted() override {
    std::unique_lock lock(writer_mutex_, std::defer_lock);
    if (!lock.try_lock_for(options_.busy_timeout)) {
      return make_error(ErrorKind::kTimeout, "database " + path_ + ": the writer stayed busy");
    }
    Status status = exec(writer_->db, "PRAGMA wal_checkpoint(TRUNCATE)");
    return status.ok() ? status : status.error().with_context(path_);
  }

  Status initialise() {
    TRY(create_private_file());
    writer_ = TRY(connect(false));
    // Switching a new database to WAL takes an exclusive lock, and SQLite does not wait
    // for it there (no busy handler): a second process opening the same new file at the
    // same moment gets SQLITE_BUSY at once. Try again until busy_timeout.
    const auto give_up = std::chrono::steady_clock::now() + options_.busy_timeout;
    auto mode = run_statement(*writer_, "PRAGMA journal_mode=WAL", {});
    while (!mode.ok() && mode.error().kind == ErrorKind::kTimeout &&
           std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      mode = run_statement(*writer_, "PRAGMA journal_mode=WAL", {});
    }
    if (!mode.ok()) return mode.error().with_context(path_);
    auto journal =
        mode->empty() ? Result<std::string>(std::string()) : (*mode)[0].text("journal_mode");
    if (!journal.ok() || *journal != "wal") {
      return make_error(ErrorKind::kIo, "database " + path_ + ": could not switch to WAL mode");
    }
    TRY(exec(writer_->db, "PRAGMA synchronous=NORMAL"));
    // Checkpoints of a quarter of SQLite's default 1,000 pages. A checkpoint's syncs are
    // kernel work that no yield reaches (yielding_vfs.h covers its page writes only), and
    // its length grows with the pages it covers: on the benchmark machine, proxy usage rows
    // at 5,000 answers/s checkpointed every ~1.1 s and each checkpoint held up proxied
    // answers for up to 10-18 ms (p99 2.5-6 ms); at 256 pages, every ~0.3 s and up to 5-6
    // ms (p99 1.5-1.9 ms), for the same writer CPU. The WAL file stays near 1 MiB too.
    TRY(exec(writer_->db, "PRAGMA wal_autocheckpoint=" + std::to_string(kCheckpointPages)));
    SqliteMigrationTarget target(*writer_);
    auto version = run_migrations(target, options_.migrate);
    if (!version.ok()) return version.error().with_context(path_);
    schema_version_ = *version;
    return ok_status();
  }

  PoolStats stats() const override {
    std::lock_guard lock(pool_mutex_);
    PoolStats stats = stats_;
    stats.capacity = options_.pool_size + 1;
    stats.open = open_readers_ + 1;
    stats.in_use = open_readers_ - idle_readers_.size() + (writer_busy_ ? 1 : 0);
    return stats;
  }

  Backend backend() const override { return Backend::kSqlite; }
  std::string description() const override { return "sqlite:" + path_; }

  void release_reader(std::unique_ptr<Connection> reader) {
    {
      std::lock_guard lock(pool_mutex_);
      idle_readers_.push_back(std::move(reader));
    }
    reader_available_.notify_one();
  }

  void release_writer() {
    std::lock_guard lock(pool_mutex_);
    writer_busy_ = false;
  }

 protected:
  Result<std::unique_ptr<Session>> start(Access access, StatementContext, const Scope&) override {
    if (access == Access::kWrite) return start_write();
    std::unique_ptr<Connection> reader = TRY(acquire_reader());
    Connection& connection = *reader;
    auto session = std::make_unique<SqliteSession>(*this, std::move(reader));
    TRY(run_command(connection, "BEGIN"));
    return std::unique_ptr<Session>(std::move(session));
  }

  PlaceholderStyle placeholder_style() const override { return PlaceholderStyle::kQuestionMark; }

 private:
  Result<std::unique_ptr<Session>> start_write() {
    std::unique_lock<std::timed_mutex> lock(writer_mutex_, std::defer_lock);
    bool waited = false;
    if (!lock.try_lock()) {
      waited = true;
      if (!lock.try_lock_for(options_.acquire_timeout)) {
        std::lock_guard guard(pool_mutex_);
        ++stats_.waits;
        ++stats_.timeouts;
        return make_error(ErrorKind::kTimeout,
                          "database " + path_ + ": the writer stayed busy; retry the transaction");
      }
    }
    {
      std::lock_guard guard(pool_mutex_);
      ++stats_.acquired;
      if (waited) ++stats_.waits;
      writer_busy_ = true;
    }
    auto session = std::make_unique<SqliteSession>(*this, *writer_, std::move(lock));
    TRY(run_command(*writer_, "BEGIN IMMEDIATE"));
    return std::unique_ptr<Session>(std::move(session));
  }

  Result<std::unique_ptr<Connection>> acquire_reader() {
    std::unique_lock lock(pool_mutex_);
    ++stats_.acquired;
    if (idle_readers_.empty() && open_readers_ >= options_.pool_size) {
      ++stats_.waits;
      bool available = reader_available_.wait_for(lock, options_.acquire_timeout,
                                                  [&] { return !idle_readers_.empty(); });
      if (!available) {
        ++stats_.timeouts;
        return make_error(ErrorKind::kTimeout, "database " + path_ + ": all " +
                                                   std::to_string(options_.pool_size) +
                                                   " read connections are busy; retry");
      }
    }
    if (!idle_readers_.empty()) {
      std::unique_ptr<Connection> reader = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return reader;
    }
    ++open_readers_;
    lock.unlock();
    auto reader = connect(true);
    if (!reader.ok()) {
      lock.lock();
      --open_readers_;
      reader_available_.notify_one();
    }
    return reader;
  }

  // The database file is created 0600 before SQLite opens it; SQLite gives its WAL and
  // shared-memory files the same mode.
  Status create_private_file() {
    int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      return make_error(ErrorKind::kIo, "cannot open database file " + path_ + ": " +
                                            std::string(std::strerror(errno)));
    }
    ::close(fd);
    return ok_status();
  }

  Result<std::unique_ptr<Connection>> connect(bool read_only) {
    sqlite3* db = nullptr;
    int flags = SQLITE_OPEN_NOMUTEX |
                (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    // Page writes yield the CPU (yielding_vfs.h): a checkpoint must not hold up the I/O
    // threads that share the writer's core.
    int code = sqlite3_open_v2(path_.c_str(), &db, flags, yielding_vfs_name());
    if (code != SQLITE_OK) {
      Error error = sqlite_error(db, code, "opening " + path_);
      sqlite3_close_v2(db);
      return error;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, static_cast<int>(options_.busy_timeout.count()));
    Status setup = exec(db, "PRAGMA foreign_keys=ON");
    // Deleted rows are overwritten with zeros, not left in free pages (P9).
    if (setup.ok()) setup = exec(db, "PRAGMA secure_delete=ON");
    if (setup.ok()) setup = exec(db, "SELECT COUNT(*) FROM sqlite_master");  // is it SQLite?
    if (!setup.ok()) {
      sqlite3_close_v2(db);
      return setup.error().with_context(path_);
    }
    return std::make_unique<Connection>(db);
  }

  std::string path_;
  OpenOptions options_;
  std::unique_ptr<Connection> writer_;
  std::timed_mutex writer_mutex_;  // held by the write transaction using writer_

  mutable std::mutex pool_mutex_;
  std::condition_variable reader_available_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;  // GUARDED_BY(pool_mutex_)
  size_t open_readers_ = 0;                                // GUARDED_BY(pool_mutex_)
  bool writer_busy_ = false;                               // GUARDED_BY(pool_mutex_)
  PoolStats stats_;                                        // GUARDED_BY(pool_mutex_)
};

SqliteSession::~SqliteSession() {
  rollback();
  if (writer_lock_.owns_lock()) {
    owner_.release_writer();
  } else {
    owner_.release_reader(std::move(reader_));
  }
}

}  // namespace

Result<std::unique_ptr<Database>> open_sqlite(std::string_view path, const OpenOptions& options) {
  auto database = std::make_unique<SqliteDatabase>(std::string(path), options);
  TRY(database->initialise());
  log::debug("database_opened", {log::field("backend", "sqlite")});
  return std::unique_ptr<Database>(std::move(database));
}

}  // namespace joey::store::detail
