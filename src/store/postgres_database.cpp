// The PostgreSQL backend: libpq connections in a bounded pool. Migrations and grants
// run on a separate connection as the schema owner under an advisory lock; pooled
// connections must be a least-privilege role (checked when each one opens) and start
// every transaction by setting the tenant for the row-level security policies.
#include <libpq-fe.h>

#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <unordered_map>

#include "base/log.h"
#include "store/session.h"

namespace joey::store::detail {

namespace {

constexpr int64_t kMigrationLockKey = 0x6a6f6579;  // "joey"

// Oids of the built-in types whose text form we decode.
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kOidOid = 26;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

// "postgresql://HOST:PORT/DB" without user, password or query parameters.
std::string describe_url(std::string_view url) {
  size_t scheme_end = url.find("://");
  std::string_view rest = scheme_end == std::string_view::npos ? url : url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("?#"));
  size_t path_start = rest.find('/');
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path = path_start == std::string_view::npos ? "" : rest.substr(path_start);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority = authority.substr(at + 1);
  if (authority.empty()) authority = "(local socket)";
  return "postgresql://" + std::string(authority) + std::string(path);
}

std::string first_line(const char* text) {
  std::string line(text != nullptr ? text : "");
  size_t end = line.find('\n');
  if (end != std::string::npos) line.resize(end);
  return line;
}

bool valid_role_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!(name[0] == '_' || (name[0] >= 'a' && name[0] <= 'z'))) return false;
  for (char c : name) {
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

struct ResultCloser {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultCloser>;

Error postgres_error(PGconn* conn, const PGresult* result, const std::string& where) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary =
      result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string message = "PostgreSQL at " + where + ": " +
                        first_line(primary != nullptr ? primary : PQerrorMessage(conn));
  std::string sqlstate = state != nullptr ? state : "";
  if (PQstatus(conn) != CONNECTION_OK || sqlstate.starts_with("08") || sqlstate == "57P01" ||
      sqlstate == "57P02" || sqlstate == "57P03") {
    return make_error(ErrorKind::kNetwork, message + " (connection lost)");
  }
  if (sqlstate == "23505") return make_error(ErrorKind::kAlreadyExists, message);
  if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03" || sqlstate == "57014") {
    return make_error(ErrorKind::kTimeout, message + " (retry the transaction)");
  }
  if (sqlstate == "42501" || sqlstate == "25006") {
    return make_error(ErrorKind::kPermissionDenied, message);
  }
  if (sqlstate.starts_with("23") || sqlstate.starts_with("22")) {
    return make_error(ErrorKind::kInvalidArgument, message);
  }
  return make_error(ErrorKind::kInternal, message);
}

std::string decode_bytea_hex(const char* text, size_t length) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string bytes;
  if (length < 2 || text[0] != '\\' || text[1] != 'x') return bytes;
  bytes.reserve((length - 2) / 2);
  for (size_t index = 2; index + 1 < length; index += 2) {
    int high = nibble(text[index]);
    int low = nibble(text[index + 1]);
    if (high < 0 || low < 0) break;
    bytes.push_back(static_cast<char>(high * 16 + low));
  }
  return bytes;
}

Value decode(const PGresult* result, int row, int column) {
  if (PQgetisnull(result, row, column)) return Value();
  const char* text = PQgetvalue(result, row, column);
  size_t length = static_cast<size_t>(PQgetlength(result, row, column));
  switch (PQftype(result, column)) {
    case kBoolOid:
      return Value(static_cast<int64_t>(length > 0 && text[0] == 't'));
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
    case kOidOid: {
      int64_t number = 0;
      auto [end, error] = std::from_chars(text, text + length, number);
      if (error == std::errc() && end == text + length) return Value(number);
      return Value(std::string(text, length));
    }
    case kFloat4Oid:
    case kFloat8Oid:
    case kNumericOid:
      return Value(std::strtod(text, nullptr));
    case kByteaOid:
      return Value(Blob{decode_bytea_hex(text, length)});
    default:
      return Value(std::string(text, length));
  }
}

Rows to_rows(const PGresult* result) {
  Rows rows;
  int columns = PQnfields(result);
  auto names = std::make_shared<std::vector<std::string>>();
  for (int column = 0; column < columns; ++column) names->push_back(PQfname(result, column));
  int count = PQntuples(result);
  rows.rows.reserve(static_cast<size_t>(count));
  for (int row = 0; row < count; ++row) {
    std::vector<Value> values;
    values.reserve(static_cast<size_t>(columns));
    for (int column = 0; column < columns; ++column) values.push_back(decode(result, row, column));
    rows.rows.emplace_back(names, std::move(values));
  }
  const char* affected = PQcmdTuples(const_cast<PGresult*>(result));
  if (affected != nullptr && affected[0] != '\0')
    rows.affected = std::strtoll(affected, nullptr, 10);
  return rows;
}

// The statements prepared on one connection, by their text and parameter types, and the
// name each was prepared under. Past kMaxPreparedStatements, statements run unprepared.
struct PreparedStatements {
  std::unordered_map<std::string, std::string> names;
  int64_t next = 0;
};
constexpr size_t kMaxPreparedStatements = 256;

// Runs one statement with parameters. Text and numbers go in text form with their type
// left for the server to infer; blobs go in binary form as bytea. With `prepared`, the
// statement is prepared once per connection and executed by name afterwards, so the
// server plans it once rather than on every run (PgBouncer in transaction mode needs its
// prepared-statement support for this, 1.21 or later).
Result<Rows> run_statement(PGconn* conn, const std::string& where, const std::string& sql,
                           const std::vector<Value>& params,
                           PreparedStatements* prepared = nullptr) {
  std::vector<std::string> storage(params.size());
  std::vector<const char*> values(params.size(), nullptr);
  std::vector<int> lengths(params.size(), 0);
  std::vector<int> formats(params.size(), 0);
  std::vector<Oid> types(params.size(), 0);
  for (size_t index = 0; index < params.size(); ++index) {
    const Value& value = params[index];
    switch (value.type()) {
      case Value::Type::kNull:
        break;
      case Value::Type::kInteger:
        storage[index] = std::to_string(value.integer());
        values[index] = storage[index].c_str();
        break;
      case Value::Type::kDouble: {
        char buffer[64];
        std::snprintf(buffer, sizeof buffer, "%.17g", value.real());
        storage[index] = buffer;
        values[index] = storage[index].c_str();
        break;
      }
      case Value::Type::kText:
        if (value.text().find('\0') != std::string::npos) {
          return make_error(ErrorKind::kInvalidArgument,
                            "a text parameter holds a NUL byte; store such bytes as a blob");
        }
        values[index] = value.text().c_str();
        break;
      case Value::Type::kBlob:
        values[index] = value.blob().data();
        lengths[index] = static_cast<int>(value.blob().size());
        formats[index] = 1;
        types[index] = kByteaOid;
        break;
    }
  }
  const int count = static_cast<int>(params.size());
  const std::string* name = nullptr;
  if (prepared != nullptr) {
    std::string key = sql;
    for (const Oid type : types) key += "\n" + std::to_string(type);
    if (const auto found = prepared->names.find(key); found != prepared->names.end()) {
      name = &found->second;
    } else if (prepared->names.size() < kMaxPreparedStatements) {
      std::string fresh = "joey_" + std::to_string(prepared->next++);
      ResultPtr made(PQprepare(conn, fresh.c_str(), sql.c_str(), count, types.data()));
      if (!made || PQresultStatus(made.get()) != PGRES_COMMAND_OK) {
        return postgres_error(conn, made.get(), where);
      }
      name = &prepared->names.emplace(std::move(key), std::move(fresh)).first->second;
    }
  }
  ResultPtr result(name != nullptr
                       ? PQexecPrepared(conn, name->c_str(), count, values.data(), lengths.data(),
                                        formats.data(), 0)
                       : PQexecParams(conn, sql.c_str(), count, types.data(), values.data(),
                                      lengths.data(), formats.data(), 0));
  ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return postgres_error(conn, result.get(), where);
  }
  return to_rows(result.get());
}

Status exec_simple(PGconn* conn, const std::string& where, std::string_view sql) {
  ResultPtr result(PQexec(conn, std::string(sql).c_str()));
  ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return postgres_error(conn, result.get(), where);
  }
  return ok_status();
}

struct ConnectionCloser {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using ConnectionPtr = std::unique_ptr<PGconn, ConnectionCloser>;

Result<ConnectionPtr> connect(const std::string& url, const std::string& where) {
  // Our defaults come first so that the URL's own parameters override them.
  const char* keywords[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"10", "joeyd", url.c_str(), nullptr};
  ConnectionPtr conn(PQconnectdbParams(keywords, values, 1));
  if (!conn) return make_error(ErrorKind::kInternal, "libpq could not allocate a connection");
  // Server notices ("relation already exists, skipping") are not for joeyd's stderr.
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    std::string reason = first_line(PQerrorMessage(conn.get()));
    return make_error(ErrorKind::kNetwork,
                      "cannot connect to PostgreSQL at " + where + ": " + reason);
  }
  return conn;
}

// A pooled connection and what was prepared on it.
struct PooledConnection {
  ConnectionPtr conn;
  PreparedStatements prepared;
};

class PostgresDatabase;

class PostgresSession : public Session {
 public:
  PostgresSession(PostgresDatabase& owner, std::unique_ptr<PooledConnection> pooled,
                  std::string where)
      : owner_(owner),
        pooled_(std::move(pooled)),
        conn_(pooled_->conn.get()),
        where_(std::move(where)) {}
  ~PostgresSession() override;

  Result<Rows> run(const std::string& sql, const std::vector<Value>& params) override {
    auto rows = run_statement(conn_, where_, sql, params, &pooled_->prepared);
    if (!rows.ok() && PQstatus(conn_) != CONNECTION_OK) broken_ = true;
    return rows;
  }
  Status commit() override {
    Status status = exec_simple(conn_, where_, "COMMIT");
    if (status.ok()) {
      open_ = false;
    } else if (PQstatus(conn_) != CONNECTION_OK) {
      broken_ = true;
    }
    return status;
  }
  void rollback() override {
    if (open_ && !broken_) {
      if (!exec_simple(conn_, where_, "ROLLBACK").ok()) broken_ = true;
    }
    open_ = false;
  }
  Status begin(const std::string& sql) {
    Status status = exec_simple(conn_, where_, sql);
    if (!status.ok()) {
      broken_ = PQstatus(conn_) != CONNECTION_OK;
      if (!broken_) rollback();
    }
    return status;
  }
  bool broken() const { return broken_; }

 private:
  PostgresDatabase& owner_;
  std::unique_ptr<PooledConnection> pooled_;
  PGconn* conn_;
  std::string where_;
  bool open_ = true;
  bool broken_ = false;
};

class PostgresMigrationTarget : public MigrationTarget {
 public:
  PostgresMigrationTarget(PGconn* conn, std::string where)
      : conn_(conn), where_(std::move(where)) {}
  bool is_postgres() const override { return true; }
  Status exec_script(std::string_view sql) override { return exec_simple(conn_, where_, sql); }
  Result<int64_t> query_integer(std::string_view sql) override {
    Rows rows = TRY(run_statement(conn_, where_, std::string(sql), {}));
    if (rows.empty() || rows[0].size() == 0 || rows[0].at(0).is_null()) return int64_t{0};
    if (rows[0].at(0).type() != Value::Type::kInteger) {
      return make_error(ErrorKind::kInternal, "expected an integer from: " + std::string(sql));
    }
    return rows[0].at(0).integer();
  }

 private:
  PGconn* conn_;
  std::string where_;
};

std::string quoted(std::string_view role) { return "\"" + std::string(role) + "\""; }

// Grants the app role DML on every table (run after migrations, every start, so new
// tables are covered). The role is created NOLOGIN when missing.
std::string grants_sql(std::string_view role, bool grant_to_owner) {
  std::string name(role);
  std::string sql =
      "DO $joey$ BEGIN\n"
      "  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" +
      name +
      "') THEN\n"
      "    CREATE ROLE " +
      quoted(role) +
      " NOLOGIN;\n"
      "  END IF;\n"
      "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;\n"
      "END $joey$;\n"
      "GRANT USAGE ON SCHEMA public TO " +
      quoted(role) +
      ";\n"
      "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " +
      quoted(role) +
      ";\n"
      "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO " +
      quoted(role) +
      ";\n"
      "REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM " +
      quoted(role) + ";\n";
  if (grant_to_owner) sql += "GRANT " + quoted(role) + " TO CURRENT_USER;\n";
  return sql;
}

class PostgresDatabase : public Database {
 public:
  PostgresDatabase(std::string url, const OpenOptions& options)
      : url_(std::move(url)), where_(describe_url(url_)), options_(options) {}

  ~PostgresDatabase() override = default;

  Status initialise() {
    if (!valid_role_name(options_.app_role)) {
      return make_error(ErrorKind::kInvalidArgument,
                        "database app role '" + options_.app_role +
                            "' must be lowercase letters, digits and '_'");
    }
    TRY(migrate());
    // Open one pooled connection now so a misconfigured role fails at start, not later.
    release(TRY(acquire()), false);
    return ok_status();
  }

  PoolStats stats() const override {
    std::lock_guard lock(mutex_);
    PoolStats stats = stats_;
    stats.capacity = options_.pool_size;
    stats.open = open_;
    stats.in_use = open_ - idle_.size();
    return stats;
  }

  Backend backend() const override { return Backend::kPostgres; }
  std::string description() const override { return where_; }

  void release(std::unique_ptr<PooledConnection> pooled, bool broken) {
    {
      std::lock_guard lock(mutex_);
      if (broken || PQstatus(pooled->conn.get()) != CONNECTION_OK) {
        pooled.reset();
        --open_;
      } else {
        idle_.push_back(std::move(pooled));
      }
    }
    available_.notify_one();
  }

 protected:
  Result<std::unique_ptr<Session>> start(Access access, StatementContext context,
                                         const Scope& scope) override {
    // A pooled connection may have died while idle; that shows only when used, so a
    // failed BEGIN on a broken connection is retried once on a fresh one.
    for (int attempt = 0;; ++attempt) {
      std::unique_ptr<PooledConnection> pooled = TRY(acquire());
      PGconn* conn = pooled->conn.get();
      auto session = std::make_unique<PostgresSession>(*this, std::move(pooled), where_);
      Status begun = session->begin(begin_sql(conn, access, context, scope));
      if (begun.ok()) return std::unique_ptr<Session>(std::move(session));
      if (!session->broken() || attempt >= 1) return begun.error();
    }
  }

  PlaceholderStyle placeholder_style() const override { return PlaceholderStyle::kDollarNumber; }
  bool skip_statement_rules() const override { return options_.testing_skip_statement_rules; }

 private:
  static std::string literal(PGconn* conn, const std::string& text) {
    char* escaped = PQescapeLiteral(conn, text.c_str(), text.size());
    if (escaped == nullptr) return "''";
    std::string result(escaped);
    PQfreemem(escaped);
    return result;
  }

  // One round trip: BEGIN plus the tenant settings the policies read.
  static std::string begin_sql(PGconn* conn, Access access, StatementContext context,
                               const Scope& scope) {
    const char* kind = context == StatementContext::kScoped     ? "scoped"
                       : context == StatementContext::kUnscoped ? "unscoped"
                                                                : "all_tenants";
    return std::string(access == Access::kRead ? "BEGIN READ ONLY; " : "BEGIN; ") +
           "SELECT set_config('joey.scope', '" + kind + "', true), set_config('joey.user_id', " +
           literal(conn, scope.user_id) + ", true), set_config('joey.org_id', " +
           literal(conn, scope.org_id) + ", true)";
  }

  Status migrate() {
    std::string owner_url = options_.owner_location.empty() ? url_ : options_.owner_location;
    std::string owner_where = describe_url(owner_url);
    ConnectionPtr conn = TRY(connect(owner_url, owner_where));
    PostgresMigrationTarget target(conn.get(), owner_where);
    if (options_.migrate) {
      TRY(target.exec_script("SET lock_timeout = '120s'"));
      TRY(target.exec_script("SELECT pg_advisory_lock(" + std::to_string(kMigrationLockKey) + ")"));
    }
    auto version = run_migrations(target, options_.migrate);
    Status granted = ok_status();
    if (version.ok() && options_.migrate) {
      granted = target.exec_script(grants_sql(options_.app_role, options_.owner_location.empty()));
    }
    if (options_.migrate) {
      (void)target.exec_script("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLockKey) +
                               ")");
    }
    if (!version.ok()) return version.error();
    if (!granted.ok()) return granted.error().with_context("granting the app role");
    schema_version_ = *version;
    return ok_status();
  }

  Result<std::unique_ptr<PooledConnection>> acquire() {
    std::unique_lock lock(mutex_);
    ++stats_.acquired;
    if (idle_.empty() && open_ >= options_.pool_size) {
      ++stats_.waits;
      if (!available_.wait_for(lock, options_.acquire_timeout,
                               [&] { return !idle_.empty() || open_ < options_.pool_size; })) {
        ++stats_.timeouts;
        return make_error(ErrorKind::kTimeout, "PostgreSQL at " + where_ + ": all " +
                                                   std::to_string(options_.pool_size) +
                                                   " connections are busy; retry");
      }
    }
    if (!idle_.empty()) {
      std::unique_ptr<PooledConnection> pooled = std::move(idle_.back());
      idle_.pop_back();
      return pooled;
    }
    ++open_;
    lock.unlock();
    auto conn = open_app_connection();
    if (!conn.ok()) {
      lock.lock();
      --open_;
      available_.notify_one();
      return conn.error();
    }
    return std::make_unique<PooledConnection>(PooledConnection{std::move(*conn), {}});
  }

  // A pooled connection, switched to the app role in one-URL mode, and refused when
  // its role could bypass row-level security.
  Result<ConnectionPtr> open_app_connection() {
    ConnectionPtr conn = TRY(connect(url_, where_));
    if (options_.owner_location.empty()) {
      TRY(exec_simple(conn.get(), where_, "SET ROLE " + quoted(options_.app_role)));
    }
    Rows rows =
        TRY(run_statement(conn.get(), where_,
                          "SELECT r.rolsuper OR r.rolbypassrls AS bypasses,"
                          " (SELECT COUNT(*) FROM pg_tables t WHERE t.schemaname = 'public'"
                          "  AND pg_has_role(current_user, t.tableowner, 'USAGE')) AS owned,"
                          " current_user AS role FROM pg_roles r WHERE r.rolname = current_user",
                          {}));
    if (rows.empty()) return make_error(ErrorKind::kInternal, "cannot read the database role");
    int64_t bypasses = TRY(rows[0].integer("bypasses"));
    int64_t owned = TRY(rows[0].integer("owned"));
    std::string role = TRY(rows[0].text("role"));
    if (bypasses != 0 || owned != 0) {
      return make_error(ErrorKind::kPermissionDenied,
                        "PostgreSQL role " + role + " at " + where_ +
                            " is a superuser, may bypass row-level security, or owns joey's "
                            "tables; joeyd's connections need a least-privilege role (see "
                            "docs/storage.md)");
    }
    return conn;
  }

  std::string url_;    // may hold a password: never logged or shown
  std::string where_;  // the URL without credentials
  OpenOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<PooledConnection>> idle_;  // GUARDED_BY(mutex_)
  size_t open_ = 0;                                      // GUARDED_BY(mutex_)
  PoolStats stats_;                                      // GUARDED_BY(mutex_)
};

PostgresSession::~PostgresSession() {
  rollback();
  owner_.release(std::move(pooled_), broken_);
}

}  // namespace

Result<std::unique_ptr<Database>> open_postgres(std::string_view url, const OpenOptions& options) {
  auto database = std::make_unique<PostgresDatabase>(std::string(url), options);
  TRY(database->initialise());
  log::debug("database_opened", {log::field("backend", "postgres")});
  return std::unique_ptr<Database>(std::move(database));
}

}  // namespace joey::store::detail
