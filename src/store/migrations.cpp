// The migration runner shared by both backends.
#include <ctime>

#include "base/log.h"
#include "store/schema.h"
#include "store/session.h"

namespace joey::store::detail {

namespace {

constexpr std::string_view kVersionTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version BIGINT PRIMARY KEY,"
    " description TEXT NOT NULL,"
    " applied_at BIGINT NOT NULL)";
constexpr std::string_view kCurrentVersion = "SELECT MAX(version) FROM schema_migrations";

Error newer_schema(int64_t found) {
  return make_error(ErrorKind::kInvalidArgument,
                    "the database schema is at version " + std::to_string(found) +
                        ", newer than this joeyd knows (" +
                        std::to_string(latest_schema_version()) +
                        "); run a joeyd at least as new as the one that migrated it");
}

std::string sql_literal(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

// Inside an open transaction: applies `migration` and records it, unless another
// process got there first. Returns whether it applied.
Result<bool> apply_in_transaction(MigrationTarget& target, const Migration& migration) {
  int64_t current = TRY(target.query_integer(kCurrentVersion));
  if (current > latest_schema_version()) return newer_schema(current);
  if (current >= migration.version) return false;
  if (current != migration.version - 1) {
    return make_error(ErrorKind::kInternal, "migration " + std::to_string(migration.version) +
                                                " found the schema at version " +
                                                std::to_string(current));
  }
  Status status =
      target.exec_script(target.is_postgres() ? migration.postgres_sql : migration.sqlite_sql);
  if (!status.ok()) {
    return status.error().with_context("migration " + std::to_string(migration.version));
  }
  TRY(target.exec_script(
      "INSERT INTO schema_migrations (version, description, applied_at) VALUES (" +
      std::to_string(migration.version) + ", " + sql_literal(migration.description) + ", " +
      std::to_string(static_cast<int64_t>(std::time(nullptr))) + ")"));
  return true;
}

Result<bool> apply(MigrationTarget& target, const Migration& migration) {
  TRY(target.exec_script(target.is_postgres() ? "BEGIN" : "BEGIN IMMEDIATE"));
  auto applied = apply_in_transaction(target, migration);
  if (applied.ok() && *applied) {
    Status committed = target.exec_script("COMMIT");
    if (committed.ok()) return true;
    applied = committed.error();
  }
  (void)target.exec_script("ROLLBACK");
  return applied;
}

}  // namespace

Result<int64_t> run_migrations(MigrationTarget& target, bool migrate) {
  if (migrate) TRY(target.exec_script(kVersionTable));
  auto found = target.query_integer(kCurrentVersion);
  if (!found.ok()) {
    if (migrate) return found.error();
    return found.error().with_context(
        "reading the schema version (has this database been migrated?)");
  }
  int64_t current = *found;
  if (current > latest_schema_version()) return newer_schema(current);
  if (!migrate) {
    if (current < latest_schema_version()) {
      return make_error(ErrorKind::kInvalidArgument,
                        "the database schema is at version " + std::to_string(current) +
                            " but this joeyd needs " + std::to_string(latest_schema_version()) +
                            "; start it with migrations enabled");
    }
    return current;
  }
  for (const Migration& migration : migrations()) {
    if (migration.version <= current) continue;
    bool applied = TRY(apply(target, migration));
    if (applied) {
      log::info("database_migrated", {log::field("version", migration.version)});
    }
  }
  return TRY(target.query_integer(kCurrentVersion));
}

}  // namespace joey::store::detail
