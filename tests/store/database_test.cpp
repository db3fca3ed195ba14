// One suite over both backends: "sqlite" (a file in a fresh temporary directory) and
// "postgres" (a fresh database in the cluster at $JOEY_TEST_POSTGRES_URL, a superuser
// URL from scripts/test-postgres, with its own owner-side and app-side roles). Without
// that variable the postgres cases skip, unless JOEY_REQUIRE_POSTGRES=1.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <poll.h>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "base/ids.h"
#include "store/database.h"
#include "store/schema.h"
#include "store/yielding_vfs.h"
#include "support/test_database.h"

namespace joey::store {
namespace {

using joey::testing::pg_admin;
using joey::testing::with_user_and_database;

std::string sqlite_admin(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string value;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  int code = sqlite3_step(statement);
  EXPECT_TRUE(code == SQLITE_ROW || code == SQLITE_DONE) << sqlite3_errmsg(db);
  if (code == SQLITE_ROW && sqlite3_column_text(statement, 0) != nullptr) {
    value = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return value;
}

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  bool postgres() const { return GetParam() == "postgres"; }

  void SetUp() override {
    if (!postgres()) {
      char pattern[] = "/tmp/joey-store-test-XXXXXX";
      ASSERT_NE(mkdtemp(pattern), nullptr);
      directory_ = pattern;
      location_ = directory_ + "/joey.db";
      return;
    }
    const char* url = std::getenv("JOEY_TEST_POSTGRES_URL");
    if (url == nullptr || *url == '\0') {
      const char* require = std::getenv("JOEY_REQUIRE_POSTGRES");
      if (require != nullptr && std::string(require) == "1") {
        FAIL() << "JOEY_REQUIRE_POSTGRES=1 but JOEY_TEST_POSTGRES_URL is unset; start one with "
                  "scripts/test-postgres start DIR";
      }
      GTEST_SKIP() << "JOEY_TEST_POSTGRES_URL is unset (scripts/test-postgres start DIR)";
    }
    admin_url_ = url;
    std::string name = "joey_test_" + random_hex(6);
    database_ = name;
    app_role_ = name + "_app";
    login_role_ = name + "_login";
    pg_admin(admin_url_, "CREATE DATABASE " + database_);
    pg_admin(admin_url_, "CREATE ROLE " + app_role_ + " NOLOGIN");
    pg_admin(admin_url_, "CREATE ROLE " + login_role_ + " LOGIN IN ROLE " + app_role_);
    owner_url_ = with_user_and_database(admin_url_, "postgres", database_);
    location_ = with_user_and_database(admin_url_, login_role_, database_);
  }

  void TearDown() override {
    if (!directory_.empty()) std::filesystem::remove_all(directory_);
    if (!database_.empty()) {
      pg_admin(admin_url_, "DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)");
      pg_admin(admin_url_, "DROP ROLE IF EXISTS " + login_role_);
      pg_admin(admin_url_, "DROP ROLE IF EXISTS " + app_role_);
    }
  }

  OpenOptions options() const {
    OpenOptions options;
    options.owner_location = owner_url_;
    options.app_role = app_role_.empty() ? "joey_app" : app_role_;
    options.pool_size = 4;
    return options;
  }

  std::unique_ptr<Database> open_or_fail(const OpenOptions& open_options) {
    auto database = Database::open(location_, open_options);
    EXPECT_TRUE(database.ok()) << database.error().message;
    return database.ok() ? std::move(database).value() : nullptr;
  }
  std::unique_ptr<Database> open_or_fail() { return open_or_fail(options()); }

  // A query run with the test's own (owner or superuser) access, around the layer.
  std::string admin(const std::string& sql) {
    return postgres() ? pg_admin(owner_url_, sql) : sqlite_admin(location_, sql);
  }

  std::vector<std::string> table_names() {
    std::string list = admin(postgres() ? "SELECT string_agg(tablename, ',') FROM pg_tables "
                                          "WHERE schemaname = 'public'"
                                        : "SELECT group_concat(name, ',') FROM sqlite_master "
                                          "WHERE type = 'table'");
    std::vector<std::string> names;
    size_t start = 0;
    while (start <= list.size() && !list.empty()) {
      size_t end = list.find(',', start);
      if (end == std::string::npos) end = list.size();
      names.push_back(list.substr(start, end - start));
      start = end + 1;
    }
    return names;
  }

  // Creates an organization with one settings row, in the organization's own scope.
  void add_org(Database& database, const std::string& org_id, const std::string& sealed) {
    auto tx = database.begin(Scope::for_org(org_id));
    ASSERT_TRUE(tx.ok()) << tx.error().message;
    auto inserted =
        tx->execute("INSERT INTO organizations (id, name, created_at) VALUES (:org, ?, 1)",
                    {Value("Org " + org_id)});
    ASSERT_TRUE(inserted.ok()) << inserted.error().message;
    inserted = tx->execute(
        "INSERT INTO org_settings (org_id, version, sealed, updated_at) VALUES (:org, 1, ?, 1)",
        {Value(Blob{sealed})});
    ASSERT_TRUE(inserted.ok()) << inserted.error().message;
    ASSERT_TRUE(tx->commit().ok());
  }

  int64_t count_audit_rows(Database& database, const std::string& org_id) {
    auto tx = database.begin(Scope::for_org(org_id), Access::kRead);
    if (!tx.ok()) return -1;
    auto rows = tx->query("SELECT COUNT(*) AS n FROM audit_log WHERE org_id = :org");
    if (!rows.ok() || rows->empty()) return -1;
    return (*rows)[0].integer("n").value_or(-1);
  }

  std::string directory_;
  std::string location_;
  std::string admin_url_;
  std::string owner_url_;
  std::string database_;
  std::string app_role_;
  std::string login_role_;
};

TEST_P(StoreTest, MigrationsCreateTheSchemaAndRerunningIsANoOp) {
  {
    auto database = open_or_fail();
    ASSERT_TRUE(database);
    EXPECT_EQ(database->schema_version(), latest_schema_version());
  }
  std::vector<std::string> tables = table_names();
  for (const TableRule& rule : table_rules()) {
    if (rule.sqlite_internal && GetParam() == "postgres") continue;
    if (rule.postgres_only && GetParam() != "postgres") continue;
    EXPECT_NE(std::find(tables.begin(), tables.end(), rule.name), tables.end()) << rule.name;
  }
  std::string applied = admin("SELECT MAX(applied_at) FROM schema_migrations");
  std::string count = admin("SELECT COUNT(*) FROM schema_migrations");
  auto again = open_or_fail();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->schema_version(), latest_schema_version());
  EXPECT_EQ(admin("SELECT COUNT(*) FROM schema_migrations"), count);
  EXPECT_EQ(admin("SELECT MAX(applied_at) FROM schema_migrations"), applied);
  EXPECT_EQ(count, std::to_string(migrations().size()));
}

TEST_P(StoreTest, MigrationFourMovesStoredSearchTermsIntoTheirIndexedTable) {
  if (!postgres()) GTEST_SKIP() << "migration 4 changes PostgreSQL only";
  // A database as a joeyd at schema 3 left it, with one search row...
  std::string script = std::string(
      "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, "
      "description TEXT NOT NULL, applied_at BIGINT NOT NULL);\n");
  for (const Migration& migration : migrations()) {
    if (migration.version > 3) break;
    script += std::string(migration.postgres_sql) + ";\nINSERT INTO schema_migrations VALUES (" +
              std::to_string(migration.version) + ", 'test', 1);\n";
  }
  admin(script);
  admin(
      "INSERT INTO users (id, email, name, password_hash, created_at) VALUES ('u1', 'a@b', 'A', "
      "'h', 1); INSERT INTO tasks (id, user_id, created_at, updated_at) VALUES ('t1', 'u1', 1, 1); "
      "INSERT INTO task_search (task_id, seq, user_id, terms) VALUES ('t1', 0, 'u1', "
      "to_tsvector('simple', 'xaa xbb'))");
  // ...is migrated on open: the terms are in task_search_terms and searchable through
  // task_search's tenant predicate, and deleting the search row deletes its terms.
  auto database = open_or_fail();
  ASSERT_TRUE(database);
  EXPECT_EQ(database->schema_version(), latest_schema_version());
  auto tx = database->begin(Scope::for_user("u1"));
  ASSERT_TRUE(tx.ok()) << tx.error().message;
  auto found = tx->query(
      "SELECT s.task_id AS task_id FROM task_search_terms x JOIN task_search s ON s.id = "
      "x.search_id AND s.user_id = :user WHERE x.terms @@ to_tsquery('simple', ?)",
      {Value("xbb")});
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_EQ(found->size(), 1U);
  EXPECT_EQ((*found)[0].text("task_id").value_or(""), "t1");
  ASSERT_TRUE(tx->execute("DELETE FROM task_search WHERE user_id = :user").ok());
  ASSERT_TRUE(tx->commit().ok());
  EXPECT_EQ(admin("SELECT COUNT(*) FROM task_search_terms"), "0");
  EXPECT_EQ(admin("SELECT relrowsecurity::text FROM pg_class WHERE relname = 'task_search'"),
            "true");
  EXPECT_EQ(admin("SELECT relforcerowsecurity::text FROM pg_class WHERE relname = 'task_search'"),
            "true");
}

TEST_P(StoreTest, EveryTableIsInTheCatalog) {
  ASSERT_TRUE(open_or_fail());
  for (const std::string& table : table_names()) {
    if (table == "schema_migrations" || table == "sqlite_sequence") continue;
    EXPECT_NE(find_table_rule(table), nullptr) << table << " is missing from schema.cpp's catalog";
  }
}

TEST_P(StoreTest, NewerSchemaIsRefused) {
  ASSERT_TRUE(open_or_fail());
  admin("INSERT INTO schema_migrations (version, description, applied_at) VALUES (" +
        std::to_string(latest_schema_version() + 1) + ", 'from the future', 1)");
  auto database = Database::open(location_, options());
  ASSERT_FALSE(database.ok());
  EXPECT_NE(database.error().message.find("newer than this joeyd"), std::string::npos)
      << database.error().message;
}

TEST_P(StoreTest, UnmigratedDatabaseIsRefusedWhenMigrationsAreOff) {
  OpenOptions no_migrations = options();
  no_migrations.migrate = false;
  auto database = Database::open(location_, no_migrations);
  ASSERT_FALSE(database.ok());
  ASSERT_TRUE(open_or_fail());
  EXPECT_TRUE(Database::open(location_, no_migrations).ok());
}

TEST_P(StoreTest, TwoConcurrentOpenersMigrateOnce) {
  std::atomic<int> opened{0};
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int index = 0; index < 2; ++index) {
    threads.emplace_back([&, index] {
      auto database = Database::open(location_, options());
      if (database.ok()) {
        ++opened;
      } else {
        errors[index] = database.error().message;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(opened.load(), 2) << errors[0] << " | " << errors[1];
  EXPECT_EQ(admin("SELECT COUNT(*) FROM schema_migrations"), std::to_string(migrations().size()));
}

TEST_P(StoreTest, UncommittedTransactionRollsBackWhenDestroyed) {
  auto database = open_or_fail();
  ASSERT_TRUE(database);
  {
    auto tx = database->begin(Scope::for_org("org-a"));
    ASSERT_TRUE(tx.ok()) << tx.error().message;
    ASSERT_TRUE(
        tx->execute("INSERT INTO organizations (id, name, created_at) VALUES (:org, 'A', 1)").ok());
  }
  auto tx = database->begin(Scope::for_org("org-a"), Access::kRead);
  ASSERT_TRUE(tx.ok());
  auto rows = tx->query("SELECT id FROM organizations WHERE id = :org");
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  EXPECT_TRUE(rows->empty());
  EXPECT_EQ(database->stats().in_use, 1u);
}

TEST_P(StoreTest, CommittedRowsAreVisibleAndCountAffectedRows) {
  auto database = open_or_fail();
  ASSERT_TRUE(database);
  add_org(*database, "org-a", "sealed");
  auto tx = database->begin(Scope::for_org("org-a"));
  ASSERT_TRUE(tx.ok());
  auto updated = tx->execute("UPDATE org_settings SET version = version + 1 WHERE org_id = :org");
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ(*updated, 1);
  ASSERT_TRUE(tx->commit().ok());
  EXPECT_FALSE(tx->commit().ok());  // already ended
}

TEST_P(StoreTest, UniqueViolationIsAlreadyExistsAndEndsTheTransaction) {
  auto database = open_or_fail();
  ASSERT_TRUE(database);
  auto tx = database->begin_unscoped();
  ASSERT_TRUE(tx.ok());
  const char* insert =
      "INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?, ?, 'n', 'h', 1)";
  ASSERT_TRUE(tx->execute(insert, {Value("u1"), Value("a@example.com")}).ok());
  auto duplicate = tx->execute(insert, {Value("u2"), Value("a@example.com")});
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().kind, ErrorKind::kAlreadyExists) << duplicate.error().message;
  EXPECT_FALSE(tx->execute("SELECT 1").ok());
  EXPECT_FALSE(tx->commit().ok());
}

// The same statements run again and again on pooled connections (SQLite keeps them
// prepared): each run sees the data committed before its transaction began, its own
// parameters, and a statement that failed before works again.
TEST_P(StoreTest, RepeatedStatementsSeeFreshDataAndTheirOwnParameters) {
  auto database = open_or_fail();
  ASSERT_TRUE(database);
  const char* insert =
      "INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?, ?, 'n', 'h', 1)";
  const char* count = "SELECT COUNT(*) AS n FROM users WHERE created_at = ?";
  const char* by_id = "SELECT email FROM users WHERE id = ?";
  for (int i = 0; i < 5; ++i) {
    auto write = database->begin_unscoped();
    ASSERT_TRUE(write.ok());
    const std::string id = "u" + std::to_string(i);
    ASSERT_TRUE(write->execute(insert, {Value(id), Value(id + "@example.com")}).ok());
    ASSERT_TRUE(write->commit().ok());
    // A duplicate fails and rolls its transaction back; the next run of it is fine.
    auto duplicate = database->begin_unscoped();
    ASSERT_TRUE(duplicate.ok());
    EXPECT_FALSE(duplicate->execute(insert, {Value("other"), Value(id + "@example.com")}).ok());

    auto read = database->begin_unscoped(Access::kRead);
    ASSERT_TRUE(read.ok());
    auto counted = read->query(count, {Value(int64_t{1})});
    ASSERT_TRUE(counted.ok()) << counted.error().message;
    EXPECT_EQ(*(*counted)[0].integer("n"), i + 1);
    auto found = read->query(by_id, {Value(id)});
    ASSERT_TRUE(found.ok() && found->size() == 1);
    EXPECT_EQ(*(*found)[0].text("email"), id + "@example.com");
    auto none = read->query(by_id, {Value("nobody")});
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
    ASSERT_TRUE(read->commit().ok());
  }
}

TEST_P(StoreTest, BlobRoundTripsEveryByteValue) {
  auto database = open_or_fail();
  ASSERT_TRUE(database);
  std::string bytes;
  for (int repeat = 0; repeat < 4; ++repeat) {
    for (int value = 0; value < 256; ++value) bytes.push_back(static_cast<char>(value));
  }
  add_org(*database, "org-a", bytes);
  add_org(*database, "org-empty", "");
  for (const auto& [org, expected] : {std::pair{std::string("org-a"), bytes},
                                      std::pair{std::string("org-empty"), std::string()}}) {
    auto tx = database->begin(Scope::for_org(org), Access::kRead);
    ASSERT_TRUE(tx.ok());
    auto rows = tx->query("SELECT sealed FROM org_settings WHERE org_id = :org");
    ASSERT_TRUE(rows.ok()) << rows.error().message;
    ASSERT_EQ(rows->size(), 1u);
    auto sealed = (*rows)[0].blob("sealed");
    ASSERT_TRUE(sealed.ok()) << sealed.error().message;
    EXPECT_EQ(*sealed, expected);
  }
}

TEST_P(StoreTest, TypedAccessorsReportMismatchesAsErrors) {
  auto database = open_or_fail();
  ASSERT_TRUE(database);
  add_org(*database, "org-a", "x");
  auto tx = database->begin(Scope::for_org("org-a"), Access::kRead);
  ASSERT_TRUE(tx.ok());
  auto rows = tx->query(
      "SELECT s.version, s.sealed, o.name, NULL AS missing, 2.5 AS ratio FROM org_settings s "
      "JOIN organizations o ON o.id = :org WHERE s.org_id = :org");
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 1u);
  const Row& row = (*rows)[0];
  EXPECT_EQ(row.integer("version").value_or(-1), 1);
  EXPECT_EQ(row.text("name").value_or(""), "Org org-a");
  EXPECT_DOUBLE_EQ(row.real("ratio").value_or(0), 2.5);
  EXPECT_EQ(row.text("version").error().kind, ErrorKind::kInvalidArgument);
  EXPECT_FALSE(row.integer("sealed").ok());
  EXPECT_FALSE(row.integer("missing").ok());
  EXPECT_FALSE(row.text("no_such_column").ok());
  auto optional = row.optional_text("missing");
  ASSERT_TRUE(optional.ok());
  EXPECT_FALSE(optional->has_value());
}

TEST_P(StoreTest, ScopedStatementWithoutTenantPredicateIsRefused) {
  auto database = open_or_fail();
  ASSERT_TRUE(database);
  add_org(*database, "org-a", "a");
  auto tx = database->begin(Scope::for_org("org-a"), Access::kRead);
  ASSERT_TRUE(tx.ok());
  auto refused = tx->query("SELECT * FROM org_settings");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kPermissionDenied);
  // A refused statement never ran, so the transaction goes on.
  auto allowed = tx->query("SELECT * FROM org_settings WHERE org_id = :org");
  ASSERT_TRUE(allowed.ok()) << allowed.error().message;
  EXPECT_EQ(allowed->size(), 1u);
}

TEST_P(StoreTest, TenantScopeSeesOnlyItsOwnRows) {
  auto database = open_or_fail();
  ASSERT_TRUE(database);
  add_org(*database, "org-a", "a");
  add_org(*database, "org-b", "b");
  auto tx = database->begin(Scope::for_org("org-a"), Access::kRead);
  ASSERT_TRUE(tx.ok());
  auto rows = tx->query("SELECT org_id, sealed FROM org_settings WHERE org_id = :org");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].text("org_id").value_or(""), "org-a");
}

TEST_P(StoreTest, UnscopedTransactionReachesOnlyIdentityTables) {
  auto database = open_or_fail();
  ASSERT_TRUE(database);
  auto tx = database->begin_unscoped(Access::kRead);
  ASSERT_TRUE(tx.ok());
  EXPECT_TRUE(tx->query("SELECT id FROM users WHERE email = ?", {Value("x@example.com")}).ok());
  auto refused = tx->query("SELECT sealed FROM org_settings WHERE org_id = ?", {Value("org-a")});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_FALSE(database->begin(Scope{}).ok());
}

TEST_P(StoreTest, ReadTransactionCannotWrite) {
  auto database = open_or_fail();
  ASSERT_TRUE(database);
  auto tx = database->begin(Scope::for_org("org-a"), Access::kRead);
  ASSERT_TRUE(tx.ok());
  auto written =
      tx->execute("INSERT INTO organizations (id, name, created_at) VALUES (:org, 'A', 1)");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().kind, ErrorKind::kPermissionDenied) << written.error().message;
}

TEST_P(StoreTest, ConcurrentWritersAndReadersFromSeveralThreads) {
  auto database = open_or_fail();
  ASSERT_TRUE(database);
  add_org(*database, "org-a", "a");
  constexpr int kWriters = 4;
  constexpr int kReaders = 2;
  constexpr int kRowsPerWriter = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int writer = 0; writer < kWriters; ++writer) {
    threads.emplace_back([&, writer] {
      for (int row = 0; row < kRowsPerWriter; ++row) {
        bool done = false;
        for (int attempt = 0; attempt < 20 && !done; ++attempt) {
          auto tx = database->begin(Scope::for_org("org-a", "user-" + std::to_string(writer)));
          if (!tx.ok()) continue;
          auto inserted = tx->execute(
              "INSERT INTO audit_log (org_id, actor_user_id, action, target, at) "
              "VALUES (:org, :user, 'test', ?, ?)",
              {Value(std::to_string(row)), Value(int64_t{row})});
          if (inserted.ok() && tx->commit().ok()) done = true;
        }
        if (!done) ++failures;
      }
    });
  }
  for (int reader = 0; reader < kReaders; ++reader) {
    threads.emplace_back([&] {
      int64_t last = 0;
      for (int round = 0; round < 25; ++round) {
        int64_t count = count_audit_rows(*database, "org-a");
        if (count < last) ++failures;  // committed rows never disappear
        if (count >= 0) last = count;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(count_audit_rows(*database, "org-a"), kWriters * kRowsPerWriter);
  PoolStats stats = database->stats();
  EXPECT_EQ(stats.in_use, 0u);
  EXPECT_LE(stats.open, stats.capacity);
  EXPECT_GE(stats.acquired, static_cast<uint64_t>(kWriters * kRowsPerWriter));
}

TEST_P(StoreTest, PingAnswersAndPoolIsBounded) {
  OpenOptions small = options();
  small.pool_size = 1;
  small.acquire_timeout = std::chrono::milliseconds(200);
  auto database = open_or_fail(small);
  ASSERT_TRUE(database);
  EXPECT_TRUE(database->ping().ok());
  auto held = database->begin(Scope::for_user("u1"), Access::kRead);
  ASSERT_TRUE(held.ok());
  auto second = database->begin(Scope::for_user("u1"), Access::kRead);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(is_retryable(second.error())) << second.error().message;
  EXPECT_GE(database->stats().timeouts, 1u);
}

// --- PostgreSQL: row-level security holds even when the statement rules are skipped.

TEST_P(StoreTest, RowLevelSecurityShowsOnlyTheScopesRows) {
  if (!postgres()) GTEST_SKIP() << "row-level security is PostgreSQL's";
  OpenOptions open_options = options();
  open_options.testing_skip_statement_rules = true;
  auto database = open_or_fail(open_options);
  ASSERT_TRUE(database);
  add_org(*database, "org-a", "a");
  add_org(*database, "org-b", "b");
  auto tx = database->begin(Scope::for_org("org-a"), Access::kRead);
  ASSERT_TRUE(tx.ok());
  auto rows = tx->query("SELECT * FROM org_settings");
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].text("org_id").value_or(""), "org-a");
  auto orgs = tx->query("SELECT id FROM organizations");
  ASSERT_TRUE(orgs.ok());
  EXPECT_EQ(orgs->size(), 1u);
}

TEST_P(StoreTest, RowLevelSecurityRefusesAnotherTenantsInsert) {
  if (!postgres()) GTEST_SKIP() << "row-level security is PostgreSQL's";
  OpenOptions open_options = options();
  open_options.testing_skip_statement_rules = true;
  auto database = open_or_fail(open_options);
  ASSERT_TRUE(database);
  add_org(*database, "org-a", "a");
  add_org(*database, "org-b", "b");
  auto tx = database->begin(Scope::for_org("org-a"));
  ASSERT_TRUE(tx.ok());
  auto inserted =
      tx->execute("INSERT INTO audit_log (org_id, action, at) VALUES ('org-b', 'sneak', 1)");
  ASSERT_FALSE(inserted.ok());
  EXPECT_EQ(inserted.error().kind, ErrorKind::kPermissionDenied) << inserted.error().message;
  auto other = database->begin(Scope::for_org("org-a"));
  ASSERT_TRUE(other.ok());
  auto updated = other->execute("UPDATE org_settings SET version = 99");
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(*updated, 1);  // org-b's row was invisible to the update
  auto unscoped = database->begin_unscoped(Access::kRead);
  ASSERT_TRUE(unscoped.ok());
  auto none = unscoped->query("SELECT * FROM org_settings");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreTest, AppRoleCannotAlterDropOrBypassRowLevelSecurity) {
  if (!postgres()) GTEST_SKIP() << "roles are PostgreSQL's";
  OpenOptions open_options = options();
  open_options.testing_skip_statement_rules = true;
  auto database = open_or_fail(open_options);
  ASSERT_TRUE(database);
  add_org(*database, "org-a", "a");
  add_org(*database, "org-b", "b");
  for (const char* sql :
       {"DROP TABLE org_settings", "ALTER TABLE org_settings DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE org_settings NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY tenant ON org_settings", "CREATE TABLE t (x INT)", "SET ROLE postgres",
        "TRUNCATE org_settings"}) {
    auto tx = database->begin(Scope::for_org("org-a"));
    ASSERT_TRUE(tx.ok());
    auto result = tx->execute(sql);
    ASSERT_FALSE(result.ok()) << sql;
    EXPECT_EQ(result.error().kind, ErrorKind::kPermissionDenied)
        << sql << ": " << result.error().message;
  }
  auto tx = database->begin(Scope::for_org("org-a"));
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE(tx->execute("SET LOCAL row_security = off").ok());
  auto bypass = tx->query("SELECT * FROM org_settings");
  ASSERT_FALSE(bypass.ok());  // "query would be affected by row-level security policy"
  EXPECT_EQ(
      admin("SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = '" + login_role_ + "'"),
      "f");
}

TEST_P(StoreTest, PrivilegedServerRoleIsRefused) {
  if (!postgres()) GTEST_SKIP() << "roles are PostgreSQL's";
  ASSERT_TRUE(open_or_fail());
  OpenOptions open_options = options();
  auto database = Database::open(owner_url_, open_options);  // the superuser as the app role
  ASSERT_FALSE(database.ok());
  EXPECT_EQ(database.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_NE(database.error().message.find("least-privilege"), std::string::npos);
}

TEST_P(StoreTest, OneUrlModeRunsPooledConnectionsAsTheAppRole) {
  if (!postgres()) GTEST_SKIP() << "roles are PostgreSQL's";
  OpenOptions open_options = options();
  open_options.owner_location.clear();
  open_options.testing_skip_statement_rules = true;
  auto opened = Database::open(owner_url_, open_options);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  std::unique_ptr<Database> database = std::move(opened).value();
  add_org(*database, "org-a", "a");
  add_org(*database, "org-b", "b");
  auto tx = database->begin(Scope::for_org("org-a"), Access::kRead);
  ASSERT_TRUE(tx.ok());
  auto role = tx->query("SELECT current_user AS role");
  ASSERT_TRUE(role.ok());
  EXPECT_EQ((*role)[0].text("role").value_or(""), app_role_);
  auto rows = tx->query("SELECT * FROM org_settings");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 1u);
}

TEST_P(StoreTest, LostConnectionIsANetworkErrorAndThePoolRecovers) {
  if (!postgres()) GTEST_SKIP() << "connections are PostgreSQL's";
  auto database = open_or_fail();
  ASSERT_TRUE(database);
  auto tx = database->begin(Scope::for_user("u1"), Access::kRead);
  ASSERT_TRUE(tx.ok());
  pg_admin(admin_url_, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '" +
                           login_role_ + "'");
  auto lost = tx->query("SELECT 1");
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.error().kind, ErrorKind::kNetwork) << lost.error().message;
  EXPECT_NE(lost.error().message.find("127.0.0.1"), std::string::npos) << lost.error().message;
  tx->rollback();
  // Idle pooled connections were terminated too; the next transaction gets a fresh one.
  auto next = database->begin(Scope::for_user("u1"), Access::kRead);
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_TRUE(next->query("SELECT 1").ok());
}

// --- SQLite: crash safety and file permissions.

TEST_P(StoreTest, SqliteSurvivesAWriterKilledMidTransaction) {
  if (postgres()) GTEST_SKIP() << "crash recovery of the embedded file is SQLite's";
  ASSERT_TRUE(open_or_fail());
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    auto database = Database::open(location_, options());
    if (!database.ok()) _exit(2);
    {
      auto tx = (*database)->begin(Scope::for_org("org-a"));
      if (!tx.ok()) _exit(3);
      if (!tx->execute("INSERT INTO organizations (id, name, created_at) VALUES (:org, 'A', 1)")
               .ok()) {
        _exit(4);
      }
      for (int row = 0; row < 50; ++row) {
        if (!tx->execute("INSERT INTO audit_log (org_id, action, at) VALUES (:org, 'kept', 1)")
                 .ok()) {
          _exit(5);
        }
      }
      if (!tx->commit().ok()) _exit(6);
    }
    auto tx = (*database)->begin(Scope::for_org("org-a"));
    if (!tx.ok()) _exit(7);
    for (int row = 0; row < 2000; ++row) {
      (void)tx->execute("INSERT INTO audit_log (org_id, action, at) VALUES (:org, 'lost', 1)");
    }
    if (write(ready[1], "x", 1) != 1) _exit(8);
    for (int second = 0; second < 60; ++second) sleep(1);  // killed long before
    _exit(9);
  }
  close(ready[1]);
  pollfd waiting{ready[0], POLLIN, 0};
  ASSERT_EQ(poll(&waiting, 1, 30000), 1);
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  close(ready[0]);
  kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));

  auto database = open_or_fail();
  ASSERT_TRUE(database);
  EXPECT_EQ(admin("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(count_audit_rows(*database, "org-a"), 50);
}

// The SQLite backend writes pages through the yielding VFS (store/yielding_vfs.h): on a
// thread that opted in, commits and a checkpoint yield once per page (on others, never),
// and what they leave is an ordinary database that SQLite's own VFS reads back whole.
TEST_P(StoreTest, SqlitePagesAreWrittenThroughTheYieldingVfs) {
  if (postgres()) GTEST_SKIP() << "the VFS is SQLite's";
  auto database = open_or_fail();
  ASSERT_TRUE(database);
  const unsigned long long unasked = store::detail::yielding_vfs_yields();
  add_org(*database, "org-a", "sealed");
  EXPECT_EQ(store::detail::yielding_vfs_yields(), unasked);  // this thread has not opted in
  store::set_page_write_yields(1);                           // after every page
  struct OptOut {
    ~OptOut() { store::set_page_write_yields(0); }
  } opt_out;
  const unsigned long long before = store::detail::yielding_vfs_yields();
  {
    auto tx = database->begin(Scope::for_org("org-a"));
    ASSERT_TRUE(tx.ok()) << tx.error().message;
    for (int row = 0; row < 500; ++row) {
      ASSERT_TRUE(
          tx->execute("INSERT INTO audit_log (org_id, action, at) VALUES (:org, ?, ?)",
                      {Value(std::string(200, static_cast<char>('a' + row % 26))), Value(row)})
              .ok());
    }
    ASSERT_TRUE(tx->commit().ok());
  }
  const unsigned long long after_commit = store::detail::yielding_vfs_yields();
  // 500 rows of ~200 bytes fill dozens of pages, each written to the WAL.
  EXPECT_GE(after_commit - before, 20u);
  ASSERT_TRUE(database->flush_deleted().ok());  // a checkpoint into the database file
  EXPECT_GE(store::detail::yielding_vfs_yields() - after_commit, 20u);
  EXPECT_EQ(count_audit_rows(*database, "org-a"), 500);
  database.reset();
  EXPECT_EQ(admin("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(admin("SELECT COUNT(*) FROM audit_log WHERE org_id = 'org-a'"), "500");
}

// Commits checkpoint every 256 WAL pages, not SQLite's default 1,000 (sqlite_database.cpp,
// initialise): a checkpoint's length is what proxied answers wait behind. Its trace is the
// WAL file's size, which grows to the most frames written between two checkpoints.
TEST_P(StoreTest, SqliteCheckpointsEvery256WalPages) {
  if (postgres()) GTEST_SKIP() << "the WAL is SQLite's";
  auto database = open_or_fail();
  ASSERT_TRUE(database);
  add_org(*database, "org-a", "sealed");
  // 1,200 commits of one 3 KB row each: every commit writes at least one new table page
  // and the page above it, so ≥ 2,400 frames, far past one checkpoint of either size.
  for (int row = 0; row < 1200; ++row) {
    auto tx = database->begin(Scope::for_org("org-a"));
    ASSERT_TRUE(tx.ok()) << tx.error().message;
    ASSERT_TRUE(
        tx->execute("INSERT INTO audit_log (org_id, action, at) VALUES (:org, ?, ?)",
                    {Value(std::string(3000, static_cast<char>('a' + row % 26))), Value(row)})
            .ok());
    ASSERT_TRUE(tx->commit().ok());
  }
  std::error_code error;
  const auto wal_bytes = std::filesystem::file_size(location_ + "-wal", error);
  ASSERT_FALSE(error) << error.message();
  // A frame is a 4 KiB page and a 24-byte header: 256 pages and one commit's few more
  // stay well under 2 MiB; 1,000 pages would be over 4 MiB.
  EXPECT_GT(wal_bytes, 0u);
  EXPECT_LT(wal_bytes, 2u << 20) << "WAL of " << wal_bytes << " bytes";
  EXPECT_EQ(count_audit_rows(*database, "org-a"), 1200);
}

TEST_P(StoreTest, SqliteFilesArePrivateAndBadLocationsAreErrors) {
  if (postgres()) GTEST_SKIP() << "files are SQLite's";
  ASSERT_TRUE(open_or_fail());
  struct stat info {};
  ASSERT_EQ(stat(location_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  auto missing = Database::open(directory_ + "/no/such/dir/joey.db", options());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kIo);
  std::string garbage = directory_ + "/garbage.db";
  FILE* file = std::fopen(garbage.c_str(), "w");
  ASSERT_NE(file, nullptr);
  std::fputs("this is not a database, just some text that is long enough to be a header...", file);
  std::fclose(file);
  auto not_sqlite = Database::open(garbage, options());
  ASSERT_FALSE(not_sqlite.ok());
  EXPECT_FALSE(not_sqlite.error().message.empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST(PostgresConnection, UnreachableServerErrorNamesTheHostNotThePassword) {
  auto database = Database::open("postgresql://joey:hunter2-secret@127.0.0.1:1/joey");
  ASSERT_FALSE(database.ok());
  EXPECT_EQ(database.error().kind, ErrorKind::kNetwork);
  EXPECT_NE(database.error().message.find("127.0.0.1:1"), std::string::npos)
      << database.error().message;
  EXPECT_EQ(database.error().message.find("hunter2"), std::string::npos);
}

TEST(DatabaseOpen, UnknownSchemesAndEmptyLocationsAreRefused) {
  EXPECT_EQ(Database::open("").error().kind, ErrorKind::kInvalidArgument);
  EXPECT_EQ(Database::open("mysql://db/x").error().kind, ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace joey::store
