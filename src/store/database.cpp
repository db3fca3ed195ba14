#include "store/database.h"

#include "base/strings.h"
#include "store/session.h"

namespace joey::store {

bool is_retryable(const Error& error) { return error.kind == ErrorKind::kTimeout; }

Result<std::unique_ptr<Database>> Database::open(std::string_view location,
                                                 const OpenOptions& options) {
  if (location.empty()) {
    return make_error(ErrorKind::kInvalidArgument,
                      "no database given: a SQLite file path or a postgres:// URL");
  }
  if (options.pool_size == 0) {
    return make_error(ErrorKind::kInvalidArgument, "the database pool size must be at least 1");
  }
  if (ascii_istarts_with(location, "postgres://") ||
      ascii_istarts_with(location, "postgresql://")) {
    return detail::open_postgres(location, options);
  }
  if (location.find("://") != std::string_view::npos) {
    return make_error(ErrorKind::kInvalidArgument,
                      "unsupported database URL scheme; use postgres:// or a SQLite file path");
  }
  return detail::open_sqlite(location, options);
}

Database::~Database() = default;

Result<Transaction> Database::begin(const Scope& scope, Access access) {
  if (scope.empty()) {
    return make_error(ErrorKind::kPermissionDenied,
                      "a scoped transaction needs a user or an organization");
  }
  return begin_with(StatementContext::kScoped, scope, access);
}

Result<Transaction> Database::begin_unscoped(Access access) {
  return begin_with(StatementContext::kUnscoped, Scope{}, access);
}

Result<Transaction> Database::begin_all_tenants(Access access) {
  return begin_with(StatementContext::kAllTenants, Scope{}, access);
}

Result<Transaction> Database::begin_with(StatementContext context, const Scope& scope,
                                         Access access) {
  std::unique_ptr<detail::Session> session = TRY(start(access, context, scope));
  CheckOptions check;
  check.context = context;
  check.style = placeholder_style();
  check.skip_table_rules = skip_statement_rules();
  return Transaction(std::move(session), scope, check);
}

Transaction::Transaction(std::unique_ptr<detail::Session> session, Scope scope, CheckOptions check)
    : session_(std::move(session)), scope_(std::move(scope)), check_(check) {}

Transaction::Transaction(Transaction&& other) noexcept = default;

Transaction& Transaction::operator=(Transaction&& other) noexcept {
  if (this != &other) {
    rollback();
    session_ = std::move(other.session_);
    scope_ = std::move(other.scope_);
    check_ = other.check_;
    failed_ = other.failed_;
  }
  return *this;
}

Transaction::~Transaction() { rollback(); }

Result<Rows> Transaction::query(std::string_view sql, std::initializer_list<Value> params) {
  return query(sql, std::vector<Value>(params));
}

Result<Rows> Transaction::query(std::string_view sql, const std::vector<Value>& params) {
  if (!session_) {
    return make_error(ErrorKind::kInvalidArgument, "the transaction has already ended");
  }
  if (failed_) {
    return make_error(ErrorKind::kInvalidArgument,
                      "an earlier statement of this transaction failed; roll it back");
  }
  auto checked = check_statement(sql, params, scope_, check_);
  if (!checked.ok()) return checked.error();  // a refused statement does not poison
  auto rows = session_->run(checked->sql, checked->params);
  if (!rows.ok()) failed_ = true;
  return rows;
}

Result<int64_t> Transaction::execute(std::string_view sql, std::initializer_list<Value> params) {
  return execute(sql, std::vector<Value>(params));
}

Result<int64_t> Transaction::execute(std::string_view sql, const std::vector<Value>& params) {
  Rows rows = TRY(query(sql, params));
  return rows.affected;
}

Status Transaction::commit() {
  if (!session_) {
    return make_error(ErrorKind::kInvalidArgument, "the transaction has already ended");
  }
  if (failed_) {
    rollback();
    return make_error(ErrorKind::kInvalidArgument,
                      "an earlier statement of this transaction failed; it was rolled back");
  }
  Status status = session_->commit();
  session_.reset();  // rolls back if the commit failed
  return status;
}

void Transaction::rollback() {
  if (!session_) return;
  session_->rollback();
  session_.reset();
}

Status Database::ping() {
  Result<std::unique_ptr<detail::Session>> session =
      start(Access::kRead, StatementContext::kUnscoped, Scope{});
  if (!session.ok()) return session.error();
  TRY((*session)->run("SELECT 1", {}));
  return ok_status();
}

}  // namespace joey::store
