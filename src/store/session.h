// Internal to src/store: the interface each backend implements for one transaction on
// one pooled connection, and the backends' factories. Not for use outside src/store.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "store/database.h"
#include "store/value.h"

namespace joey::store::detail {

// An open transaction on a leased connection. Destroying it rolls back what is not
// committed and returns the connection to its pool (or closes it when broken).
class Session {
 public:
  virtual ~Session() = default;
  // `sql` is already checked and in the backend's placeholder style.
  virtual Result<Rows> run(const std::string& sql, const std::vector<Value>& params) = 0;
  virtual Status commit() = 0;
  virtual void rollback() = 0;
};

Result<std::unique_ptr<Database>> open_sqlite(std::string_view path, const OpenOptions& options);
Result<std::unique_ptr<Database>> open_postgres(std::string_view url, const OpenOptions& options);

// Runs the pending migrations through `target` (see migrations.cpp).
class MigrationTarget {
 public:
  virtual ~MigrationTarget() = default;
  virtual bool is_postgres() const = 0;
  // Runs several statements with no parameters.
  virtual Status exec_script(std::string_view sql) = 0;
  // Runs a query whose first column of its single row is an integer (or null → 0).
  virtual Result<int64_t> query_integer(std::string_view sql) = 0;
};

// Creates the version table, refuses a newer schema, applies each pending migration in
// its own transaction with its version row, and returns the version reached. The
// caller holds whatever lock keeps other processes out (SQLite: BEGIN IMMEDIATE inside
// each step already does; PostgreSQL: an advisory lock).
Result<int64_t> run_migrations(MigrationTarget& target, bool migrate);

}  // namespace joey::store::detail
