#include "store/sql_check.h"

#include <gtest/gtest.h>

#include <random>

#include "store/schema.h"

namespace joey::store {
namespace {

CheckOptions scoped(PlaceholderStyle style = PlaceholderStyle::kQuestionMark) {
  CheckOptions options;
  options.style = style;
  return options;
}

CheckOptions context(StatementContext statement_context) {
  CheckOptions options;
  options.context = statement_context;
  return options;
}

const Scope kOrgA = Scope::for_org("org-a", "user-1");

TEST(SqlCheck, MarkersBecomeBoundParametersInOrder) {
  std::vector<Value> params = {Value(int64_t{3})};
  auto checked =
      check_statement("UPDATE org_settings SET version = ? WHERE org_id = :org AND version < 10",
                      params, kOrgA, scoped(PlaceholderStyle::kDollarNumber));
  ASSERT_TRUE(checked.ok()) << checked.error().message;
  EXPECT_EQ(checked->sql,
            "UPDATE org_settings SET version = $1 WHERE org_id = $2 AND version < 10");
  ASSERT_EQ(checked->params.size(), 2u);
  EXPECT_EQ(checked->params[0], Value(int64_t{3}));
  EXPECT_EQ(checked->params[1], Value("org-a"));
}

TEST(SqlCheck, QuestionMarkStyleKeepsQuestionMarks) {
  auto checked = check_statement("SELECT name FROM users WHERE id = :user AND email = ?",
                                 std::vector<Value>{Value("a@b")}, kOrgA, scoped());
  ASSERT_TRUE(checked.ok()) << checked.error().message;
  EXPECT_EQ(checked->sql, "SELECT name FROM users WHERE id = ? AND email = ?");
  EXPECT_EQ(checked->params[0], Value("user-1"));
  EXPECT_EQ(checked->params[1], Value("a@b"));
}

TEST(SqlCheck, TenantTableWithoutPredicateIsRefused) {
  auto checked = check_statement("SELECT * FROM org_settings", {}, kOrgA, scoped());
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().kind, ErrorKind::kPermissionDenied);
}

TEST(SqlCheck, EveryTenantTableInAJoinNeedsItsOwnMarker) {
  auto missing = check_statement(
      "SELECT o.name FROM organizations o JOIN org_settings s ON s.org_id = o.id "
      "WHERE o.id = :org",
      {}, kOrgA, scoped());
  EXPECT_FALSE(missing.ok());
  auto covered = check_statement(
      "SELECT o.name FROM organizations o JOIN org_settings s ON s.org_id = :org "
      "WHERE o.id = :org",
      {}, kOrgA, scoped());
  EXPECT_TRUE(covered.ok()) << covered.error().message;
}

TEST(SqlCheck, UserMarkerDoesNotCoverAnOrganizationOnlyTable) {
  auto checked =
      check_statement("SELECT * FROM audit_log WHERE actor_user_id = :user", {}, kOrgA, scoped());
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().kind, ErrorKind::kPermissionDenied);
}

TEST(SqlCheck, SearchIndexShadowTablesAreNeverReachable) {
  // SQLite keeps an FTS5 index's text in tables of its own; naming them would bypass
  // the tenant predicate, so no context may.
  for (const char* sql : {"SELECT * FROM task_search_content WHERE org_id = :org",
                          "SELECT * FROM task_search_data"}) {
    for (const CheckOptions& options : {scoped(), CheckOptions{StatementContext::kUnscoped},
                                        CheckOptions{StatementContext::kAllTenants}}) {
      auto checked = check_statement(sql, {}, kOrgA, options);
      ASSERT_FALSE(checked.ok()) << sql;
      EXPECT_EQ(checked.error().kind, ErrorKind::kPermissionDenied) << sql;
    }
  }
  auto search = check_statement(
      "SELECT s.task_id FROM task_search s WHERE s.terms MATCH ? AND s.org_id = :org",
      std::vector<Value>{Value("ab")}, kOrgA, scoped());
  EXPECT_TRUE(search.ok()) << search.error().message;
}

TEST(SqlCheck, TextSearchMatchIsAnOperatorNotAParameter) {
  auto checked = check_statement(
      "SELECT s.task_id FROM task_search s WHERE s.terms @@ to_tsquery('simple', ?) "
      "AND s.org_id = :org",
      std::vector<Value>{Value("ab")}, kOrgA, scoped());
  ASSERT_TRUE(checked.ok()) << checked.error().message;
  EXPECT_NE(checked->sql.find("s.terms @@ to_tsquery"), std::string::npos);
  EXPECT_FALSE(
      check_statement("SELECT @name FROM users WHERE id = :user", {}, kOrgA, scoped()).ok());
}

TEST(SqlCheck, SearchTermsAreReachedOnlyThroughTheirTenantTable) {
  // task_search_terms has no tenant column; its rows belong to task_search's, whose
  // tenant predicate must be in the same statement.
  auto joined = check_statement(
      "SELECT s.task_id FROM task_search_terms x JOIN task_search s ON s.id = x.search_id "
      "AND s.org_id = :org WHERE x.terms @@ to_tsquery('simple', ?)",
      std::vector<Value>{Value("ab")}, kOrgA, scoped());
  EXPECT_TRUE(joined.ok()) << joined.error().message;
  for (const char* sql :
       {"SELECT x.terms FROM task_search_terms x",
        "DELETE FROM task_search_terms WHERE search_id IN (SELECT 1 FROM tasks t WHERE t.org_id = "
        ":org)",
        "SELECT x.terms FROM task_search_terms x JOIN task_search s ON s.id = x.search_id"}) {
    auto checked = check_statement(sql, {}, kOrgA, scoped());
    ASSERT_FALSE(checked.ok()) << sql;
    EXPECT_EQ(checked.error().kind, ErrorKind::kPermissionDenied) << sql;
  }
  for (StatementContext other : {StatementContext::kUnscoped, StatementContext::kAllTenants}) {
    EXPECT_FALSE(check_statement("SELECT x.terms FROM task_search_terms x JOIN task_search s ON "
                                 "s.id = x.search_id",
                                 {}, Scope{}, context(other))
                     .ok());
  }
}

TEST(SqlCheck, MarkerTheScopeLacksIsRefused) {
  auto checked = check_statement("SELECT * FROM org_settings WHERE org_id = :org", {},
                                 Scope::for_user("user-1"), scoped());
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().kind, ErrorKind::kPermissionDenied);
}

TEST(SqlCheck, EmptyScopeIsRefused) {
  auto checked = check_statement("SELECT 1", {}, Scope{}, scoped());
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().kind, ErrorKind::kPermissionDenied);
}

TEST(SqlCheck, UnscopedReachesIdentityTablesOnly) {
  CheckOptions options = context(StatementContext::kUnscoped);
  EXPECT_TRUE(check_statement("SELECT id FROM users WHERE email = ?",
                              std::vector<Value>{Value("a@b")}, Scope{}, options)
                  .ok());
  auto tenant = check_statement("SELECT * FROM org_settings", {}, Scope{}, options);
  ASSERT_FALSE(tenant.ok());
  EXPECT_EQ(tenant.error().kind, ErrorKind::kPermissionDenied);
  auto marker = check_statement("SELECT * FROM users WHERE id = :user", {}, Scope{}, options);
  EXPECT_FALSE(marker.ok());
}

TEST(SqlCheck, AllTenantsReachesOnlyDataKeys) {
  CheckOptions options = context(StatementContext::kAllTenants);
  EXPECT_TRUE(check_statement("SELECT key_id, wrapped FROM data_keys", {}, Scope{}, options).ok());
  EXPECT_FALSE(check_statement("SELECT * FROM org_provider_keys", {}, Scope{}, options).ok());
}

TEST(SqlCheck, AllTenantsListsOrganizationsButNotTheirData) {
  CheckOptions options = context(StatementContext::kAllTenants);
  EXPECT_TRUE(
      check_statement("SELECT id FROM organizations ORDER BY id", {}, Scope{}, options).ok());
  for (const char* sql : {"SELECT * FROM org_settings", "SELECT * FROM tasks",
                          "SELECT o.id FROM organizations o JOIN memberships m ON m.org_id = o.id",
                          "SELECT id FROM organizations WHERE id = :org"}) {
    EXPECT_FALSE(check_statement(sql, {}, Scope{}, options).ok()) << sql;
  }
}

TEST(SqlCheck, TableNamesInStringsAndCommentsDoNotCount) {
  auto checked =
      check_statement("SELECT 'org_settings ? :org' AS a -- org_settings\n /* FROM org_settings */",
                      {}, kOrgA, scoped(PlaceholderStyle::kDollarNumber));
  ASSERT_TRUE(checked.ok()) << checked.error().message;
  EXPECT_TRUE(checked->params.empty());
}

TEST(SqlCheck, QuotedTableNamesCount) {
  EXPECT_FALSE(check_statement("SELECT * FROM \"org_settings\"", {}, kOrgA, scoped()).ok());
  EXPECT_FALSE(check_statement("SELECT * FROM [ORG_SETTINGS]", {}, kOrgA, scoped()).ok());
  EXPECT_FALSE(check_statement("SELECT * FROM main.Org_Settings", {}, kOrgA, scoped()).ok());
}

TEST(SqlCheck, OnlyDataStatementsRun) {
  for (const char* sql : {"DROP TABLE users", "PRAGMA foreign_keys=OFF", "ATTACH 'x' AS y",
                          "SET ROLE postgres", "ALTER TABLE users ADD COLUMN x TEXT", "VACUUM"}) {
    auto checked = check_statement(sql, {}, kOrgA, scoped());
    ASSERT_FALSE(checked.ok()) << sql;
    EXPECT_EQ(checked.error().kind, ErrorKind::kPermissionDenied) << sql;
  }
}

TEST(SqlCheck, SecondStatementIsRefusedButTrailingSemicolonIsFine) {
  EXPECT_TRUE(check_statement("SELECT 1; -- done\n", {}, kOrgA, scoped()).ok());
  auto two = check_statement("SELECT 1; DELETE FROM users", {}, kOrgA, scoped());
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.error().kind, ErrorKind::kPermissionDenied);
}

TEST(SqlCheck, ParameterCountMustMatch) {
  auto too_few = check_statement("SELECT ?, ?", std::vector<Value>{Value(1)}, kOrgA, scoped());
  ASSERT_FALSE(too_few.ok());
  EXPECT_EQ(too_few.error().kind, ErrorKind::kInvalidArgument);
  auto too_many =
      check_statement("SELECT ?", std::vector<Value>{Value(1), Value(2)}, kOrgA, scoped());
  EXPECT_FALSE(too_many.ok());
}

// A statement checked once is remembered; checking it again must bind that call's own
// parameters and ids, and must refuse it wherever a first check would.
TEST(SqlCheck, ARepeatedStatementIsBoundAnewAndRefusedWhereAFirstCheckWould) {
  const std::string sql =
      "SELECT m.role FROM memberships m WHERE m.org_id = :org AND m.user_id = :user AND "
      "m.role <> ? -- repeated";
  for (const auto& [scope, role] :
       {std::pair{kOrgA, "owner"}, std::pair{Scope::for_org("org-b", "user-2"), "member"},
        std::pair{kOrgA, "admin"}}) {
    auto checked = check_statement(sql, std::vector<Value>{Value(role)}, scope, scoped());
    ASSERT_TRUE(checked.ok()) << checked.error().message;
    EXPECT_EQ(checked->sql,
              "SELECT m.role FROM memberships m WHERE m.org_id = ? AND m.user_id = ? AND "
              "m.role <> ? -- repeated");
    ASSERT_EQ(checked->params.size(), 3u);
    EXPECT_EQ(checked->params[0], Value(scope.org_id));
    EXPECT_EQ(checked->params[1], Value(scope.user_id));
    EXPECT_EQ(checked->params[2], Value(role));
  }
  auto numbered = check_statement(sql, std::vector<Value>{Value("x")}, kOrgA,
                                  scoped(PlaceholderStyle::kDollarNumber));
  ASSERT_TRUE(numbered.ok());
  EXPECT_NE(numbered->sql.find("m.org_id = $1 AND m.user_id = $2 AND m.role <> $3"),
            std::string::npos);
  auto without_org =
      check_statement(sql, std::vector<Value>{Value("x")}, Scope::for_user("user-1"), scoped());
  ASSERT_FALSE(without_org.ok());
  EXPECT_EQ(without_org.error().kind, ErrorKind::kPermissionDenied);
  auto unscoped = check_statement(sql, std::vector<Value>{Value("x")}, Scope{},
                                  context(StatementContext::kUnscoped));
  ASSERT_FALSE(unscoped.ok());
  EXPECT_EQ(unscoped.error().kind, ErrorKind::kPermissionDenied);
  auto too_many = check_statement(sql, std::vector<Value>{Value("x"), Value("y")}, kOrgA, scoped());
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_NE(too_many.error().message.find("2 parameters given for 1 ? placeholders"),
            std::string::npos)
      << too_many.error().message;
}

TEST(SqlCheck, MalformedSqlIsAnErrorNotACrash) {
  for (const char* sql : {"SELECT 'unterminated", "SELECT \"open", "SELECT /* open", "", "   ",
                          "SELECT :name", "SELECT $1", "SELECT ?1", "SELECT :"}) {
    auto checked = check_statement(sql, {}, kOrgA, scoped());
    ASSERT_FALSE(checked.ok()) << sql;
    EXPECT_EQ(checked.error().kind, ErrorKind::kInvalidArgument) << sql;
  }
}

TEST(SqlCheck, PostgresCastsAndEscapedQuotesSurvive) {
  auto checked = check_statement("SELECT 'it''s'::text, \"a\"\"b\" FROM (SELECT 1 AS \"a\"\"b\") t",
                                 {}, kOrgA, scoped(PlaceholderStyle::kDollarNumber));
  ASSERT_TRUE(checked.ok()) << checked.error().message;
  EXPECT_EQ(checked->sql, "SELECT 'it''s'::text, \"a\"\"b\" FROM (SELECT 1 AS \"a\"\"b\") t");
}

TEST(SqlCheck, SkippingTableRulesStillExpandsMarkers) {
  CheckOptions options = scoped(PlaceholderStyle::kDollarNumber);
  options.skip_table_rules = true;
  auto checked =
      check_statement("SELECT * FROM org_settings WHERE org_id <> :org", {}, kOrgA, options);
  ASSERT_TRUE(checked.ok());
  EXPECT_EQ(checked->sql, "SELECT * FROM org_settings WHERE org_id <> $1");
}

// The checker reads SQL written by joey's own code, not by users; still, no input may
// crash it. A bounded random walk over SQL-ish bytes stands in for a fuzz target.
TEST(SqlCheck, RandomInputNeverCrashes) {
  std::mt19937 random(12345);
  const std::string alphabet = "SELECT FROM org_settings users ?:org:user'\"`[]-/*;$@\n\x01\xff";
  for (int round = 0; round < 5000; ++round) {
    std::string sql;
    size_t length = random() % 64;
    for (size_t index = 0; index < length; ++index)
      sql.push_back(alphabet[random() % alphabet.size()]);
    std::vector<Value> params(random() % 3, Value(1));
    (void)check_statement(sql, params, kOrgA, scoped(PlaceholderStyle::kDollarNumber));
    (void)check_statement(sql, params, Scope{}, context(StatementContext::kUnscoped));
  }
  SUCCEED();
}

TEST(Schema, MigrationsAreNumberedFromOneWithoutGaps) {
  int64_t expected = 1;
  for (const Migration& migration : migrations()) {
    EXPECT_EQ(migration.version, expected++);
    EXPECT_FALSE(migration.sqlite_sql.empty());
    EXPECT_FALSE(migration.postgres_sql.empty());
  }
  EXPECT_EQ(latest_schema_version(), expected - 1);
}

TEST(Schema, EveryTenantTableAcceptsAMarkerOrIsIdentityOnly) {
  for (const TableRule& rule : table_rules()) {
    EXPECT_TRUE(rule.accepts_org_marker || rule.accepts_user_marker || rule.unscoped ||
                rule.sqlite_internal || !rule.parent.empty())
        << rule.name;
  }
}

}  // namespace
}  // namespace joey::store
