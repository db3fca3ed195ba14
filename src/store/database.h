// joey's one data-access layer: the same calls over embedded SQLite and PostgreSQL.
//
//   auto db = TRY(store::Database::open(location, options));
//   store::Transaction tx = TRY(db->begin(store::Scope::for_org(org_id, user_id)));
//   store::Rows rows = TRY(tx.query("SELECT version, sealed FROM org_settings "
//                                   "WHERE org_id = :org"));
//   TRY(tx.commit());
//
// `location` is a postgres:// or postgresql:// URL (libpq), or else a SQLite file path.
// SQL is written once, in a portable subset, with `?` placeholders and the scope markers
// `:org` / `:user`; sql_check.h says what a statement may touch. Dialect-specific SQL
// lives only in migrations (schema.h).
//
// Tenant isolation (P11): a tenant table can be reached only inside begin(Scope), and
// every statement there must compare each tenant table with the scope's ids. On
// PostgreSQL, row-level security policies enforce the same a second time, with the
// scope set by set_config(..., true) (SET LOCAL) at the start of each transaction, and
// the server's connections run as a least-privilege role. begin_unscoped() is for the
// identity lookups that come before the tenant is known (user by email, session or
// token by digest, device code, invite by digest, login throttling) and reaches only
// those tables. docs/storage.md describes roles, policies, migrations and backups.
//
// Errors: a unique-constraint violation is kAlreadyExists; a busy database, a
// serialization failure or a deadlock is kTimeout and is_retryable() (run the whole
// transaction again); a lost PostgreSQL connection is kNetwork naming the host, never
// the password; a statement the scope may not run is kPermissionDenied.
//
// Thread-safety: a Database is used by many threads at once. A Transaction belongs to
// one thread at a time, holds one pooled connection until it ends, and must end before
// its Database is destroyed. After any failed statement the transaction only rolls back.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "store/sql_check.h"
#include "store/value.h"

namespace joey::store {

enum class Access { kRead, kWrite };
enum class Backend { kSqlite, kPostgres };

struct OpenOptions {
  // Run pending migrations at open (under a lock, so concurrent openers migrate once).
  // When false, a database behind this binary's schema is refused.
  bool migrate = true;
  // PostgreSQL only: the URL of the role that owns the schema and runs migrations. When
  // empty, `location` is that owner too, and every pooled connection runs
  // SET ROLE app_role before use (docs/storage.md explains the trade-off).
  std::string owner_location;
  // PostgreSQL only: the NOLOGIN role that migrations create and grant DML on every
  // table to. The server's login role must be a member of it (or, in one-URL mode, is
  // switched to it). A name of lowercase letters, digits and '_'.
  std::string app_role = "joey_app";
  // Connections: PostgreSQL pool size, or SQLite readers (SQLite has one writer more).
  size_t pool_size = 8;
  // How long begin() waits for a free pooled connection before kTimeout.
  std::chrono::milliseconds acquire_timeout{10000};
  // SQLite: how long a statement waits for another process's lock before kTimeout.
  std::chrono::milliseconds busy_timeout{5000};
  // Tests of PostgreSQL's row-level security only: let statements past the checker's
  // table rules so the policies alone are proven. Ignored by SQLite.
  bool testing_skip_statement_rules = false;
};

// Pool figures for /metrics.
struct PoolStats {
  size_t capacity = 0;    // most connections the pool opens
  size_t open = 0;        // connections open now
  size_t in_use = 0;      // connections held by transactions now
  uint64_t acquired = 0;  // transactions begun since open
  uint64_t waits = 0;     // begins that had to wait for a connection
  uint64_t timeouts = 0;  // begins that gave up waiting
};

// True for errors after which running the same transaction again may succeed.
bool is_retryable(const Error& error);

namespace detail {
class Session;
}

class Transaction {
 public:
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&& other) noexcept;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  // Rolls back when not committed.
  ~Transaction();

  // Runs one statement and returns its rows (and rows affected, for writes).
  Result<Rows> query(std::string_view sql, std::initializer_list<Value> params = {});
  Result<Rows> query(std::string_view sql, const std::vector<Value>& params);
  // Runs one statement and returns how many rows it inserted, updated or deleted.
  Result<int64_t> execute(std::string_view sql, std::initializer_list<Value> params = {});
  Result<int64_t> execute(std::string_view sql, const std::vector<Value>& params);

  // Commits; on failure the transaction is rolled back. Ends the transaction either way.
  Status commit();
  // Ends the transaction, discarding its changes.
  void rollback();

  const Scope& scope() const { return scope_; }

 private:
  friend class Database;
  Transaction(std::unique_ptr<detail::Session> session, Scope scope, CheckOptions check);

  std::unique_ptr<detail::Session> session_;
  Scope scope_;
  CheckOptions check_;
  bool failed_ = false;
};

class Database {
 public:
  // Opens (and, with options.migrate, migrates) the database at `location`.
  static Result<std::unique_ptr<Database>> open(std::string_view location,
                                                const OpenOptions& options = {});
  virtual ~Database();

  // A transaction for one tenant. `scope` must name a user or an organization.
  Result<Transaction> begin(const Scope& scope, Access access = Access::kWrite);
  // A transaction for identity lookups before the tenant is known; reaches only the
  // tables schema.h marks unscoped.
  Result<Transaction> begin_unscoped(Access access = Access::kWrite);
  // A transaction across every tenant's data keys, for key rotation (`joeyd keys
  // rotate-kek`) and the retention job only; reaches only data_keys and reads the list of
  // organizations.
  Result<Transaction> begin_all_tenants(Access access = Access::kWrite);

  // Ok when a connection answers a trivial query (for /readyz).
  Status ping();
  // After deleting user data: SQLite copies the WAL into the database (whose freed pages
  // secure_delete has zeroed) and truncates it, so no deleted bytes stay in either file;
  // PostgreSQL does nothing (docs/storage.md says what VACUUM does and does not do).
  virtual Status flush_deleted() { return ok_status(); }
  virtual PoolStats stats() const = 0;
  virtual Backend backend() const = 0;
  // "sqlite:PATH" or "postgresql://HOST:PORT/DB": for logs, never with credentials.
  virtual std::string description() const = 0;
  // The schema version found (after migrating) at open.
  int64_t schema_version() const { return schema_version_; }

 protected:
  Database() = default;
  // Starts a transaction on a pooled connection with the tenant settings applied.
  virtual Result<std::unique_ptr<detail::Session>> start(Access access, StatementContext context,
                                                         const Scope& scope) = 0;
  virtual PlaceholderStyle placeholder_style() const = 0;
  virtual bool skip_statement_rules() const { return false; }

  int64_t schema_version_ = 0;

 private:
  Result<Transaction> begin_with(StatementContext context, const Scope& scope, Access access);
};

}  // namespace joey::store
