// joey's database schema: the numbered migrations (SQL for both dialects) and the
// catalog that says, for every table, which tenant it belongs to and which kinds of
// transaction may touch it. The statement checker (sql_check.h) enforces the catalog;
// on PostgreSQL row-level security policies enforce it a second time (docs/storage.md).
//
// Adding a table: add it to a new migration AND to the catalog in schema.cpp. The test
// EveryTableIsInTheCatalog fails when a migration creates a table the catalog lacks.
//
// Thread-safety: everything here is immutable after static initialisation.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace joey::store {

// How one table is reached. In a scoped transaction every reference to a tenant table
// must be matched by a scope marker it accepts (`:org` or `:user`, see sql_check.h).
struct TableRule {
  std::string_view name;
  bool accepts_org_marker = false;   // rows carry an organization id
  bool accepts_user_marker = false;  // rows carry a user id
  bool unscoped = false;             // identity lookups: reachable from begin_unscoped()
  bool all_tenants = false;          // reachable from begin_all_tenants() (key rotation, retention)
  // SQLite's own tables behind an FTS5 index (task_search_data, ...): listed so that
  // no statement may name them (they accept no marker); they do not exist on PostgreSQL.
  bool sqlite_internal = false;
  // Holds no tenant column, only keyed hashes under a surrogate id of `parent`'s rows
  // (task_search_terms, PostgreSQL only): a scoped statement may name it only together
  // with `parent`, whose tenant predicate scopes the statement. It exists because
  // PostgreSQL cannot use a GIN index for a non-leakproof operator (`@@`) on a table
  // under row-level security; this table has no policy, and nothing in it names or
  // reveals a tenant (docs/storage.md).
  std::string_view parent = {};
  bool postgres_only = false;
};

// Every table joey creates, in one list.
std::span<const TableRule> table_rules();
// The rule for `name` (ASCII case-insensitive), or nullptr for a name that is no table.
const TableRule* find_table_rule(std::string_view name);

struct Migration {
  int64_t version;
  std::string_view description;
  std::string_view sqlite_sql;    // may hold several statements
  std::string_view postgres_sql;  // may hold several statements
};

// Migrations in ascending version order, numbered 1, 2, 3, ...
std::span<const Migration> migrations();
// The schema version this binary expects (the last migration's number).
int64_t latest_schema_version();

}  // namespace joey::store
