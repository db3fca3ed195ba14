// The statement checker: the one place every SQL statement passes before it reaches a
// database. It turns joey's portable SQL into the dialect's and enforces tenant scoping
// (P11) by construction:
//
//   - Placeholders are `?` (bound in order) and the scope markers `:org` and `:user`,
//     which become the transaction's organization and user id as bound parameters —
//     never spliced into the text. PostgreSQL gets them numbered $1, $2, ...
//   - One statement, starting with SELECT, INSERT, UPDATE, DELETE or WITH. DDL, PRAGMA,
//     ATTACH, SET and friends belong to migrations only.
//   - Scoped transactions: every reference to a tenant table (schema.h) needs a marker
//     that table accepts, e.g.
//       SELECT version, sealed FROM org_settings WHERE org_id = :org
//       SELECT m.role FROM memberships m JOIN organizations o ON o.id = :org
//         WHERE m.org_id = :org AND m.user_id = :user
//     A statement without one is refused (kPermissionDenied) before it runs. A marker
//     whose id the scope lacks is refused too.
//   - Unscoped transactions (identity lookups) may touch only tables marked unscoped;
//     all-tenant transactions (key rotation) only tables marked all_tenants. Neither
//     may use markers.
//
// Literals, quoted identifiers and comments are skipped correctly, so a table name in a
// string does not count and a `?` in a string is not a placeholder.
//
// Thread-safety: safe from any thread. Statements that passed are remembered (keyed by
// their text, the options and which scope ids are present), so checking one again only
// binds its parameters.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "store/value.h"

namespace joey::store {

// The tenant a transaction works for. Ids are opaque text; empty means "none".
struct Scope {
  std::string user_id;
  std::string org_id;

  static Scope for_user(std::string user_id) { return Scope{std::move(user_id), {}}; }
  static Scope for_org(std::string org_id, std::string user_id = {}) {
    return Scope{std::move(user_id), std::move(org_id)};
  }
  bool empty() const { return user_id.empty() && org_id.empty(); }
};

enum class StatementContext { kScoped, kUnscoped, kAllTenants };
enum class PlaceholderStyle { kQuestionMark, kDollarNumber };

struct CheckedStatement {
  std::string sql;            // in the target dialect's placeholder style
  std::vector<Value> params;  // caller's parameters with the scope's ids spliced in
};

struct CheckOptions {
  StatementContext context = StatementContext::kScoped;
  PlaceholderStyle style = PlaceholderStyle::kQuestionMark;
  // Skip the statement-kind and table rules (markers are still expanded). Only tests of
  // PostgreSQL's row-level security use it, to prove the policies alone hold.
  bool skip_table_rules = false;
};

// Checks `sql` and binds `params` (one per `?`, in order). Errors: kInvalidArgument for
// malformed SQL or a parameter count mismatch; kPermissionDenied for a statement the
// context may not run.
Result<CheckedStatement> check_statement(std::string_view sql, std::span<const Value> params,
                                         const Scope& scope, const CheckOptions& options);

}  // namespace joey::store
