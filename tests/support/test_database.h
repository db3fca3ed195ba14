// A fresh database for one test, on either backend: "sqlite" (a file in a new temporary
// directory) or "postgres" (a new database and roles in the cluster at
// $JOEY_TEST_POSTGRES_URL, the superuser URL scripts/test-postgres prints). Without that
// variable a postgres test skips — unless JOEY_REQUIRE_POSTGRES=1, when it fails — so
// scripts/test always runs both. Header-only: test suites include it directly.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "base/ids.h"
#include "store/database.h"

namespace joey::testing {

// The URL `base` (postgresql://user@host:port/db...) with another user and database.
inline std::string with_user_and_database(const std::string& base, const std::string& user,
                                          const std::string& database) {
  size_t authority = base.find("://") + 3;
  size_t at = base.find('@', authority);
  size_t host = at == std::string::npos ? authority : at + 1;
  size_t path = base.find('/', host);
  return base.substr(0, authority) + user + "@" + base.substr(host, path - host) + "/" + database;
}

// Runs `sql` on a fresh libpq connection (the test's own administrative access) and
// returns the first column of the first row, if any.
inline std::string pg_admin(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  std::string error;
  std::string value;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PGresult* result = PQexec(conn, sql.c_str());
    ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      error = PQresultErrorMessage(result);
    } else if (status == PGRES_TUPLES_OK && PQntuples(result) > 0) {
      value = PQgetvalue(result, 0, 0);
    }
    PQclear(result);
  }
  PQfinish(conn);
  EXPECT_EQ(error, "") << sql;
  return value;
}

// Call from SetUp(); check ready() (a postgres test without a cluster has skipped or
// failed). The server-side login role is a member of a fresh app role; migrations run
// as the cluster's superuser, like an operator's owner URL.
class TestDatabase {
 public:
  explicit TestDatabase(const std::string& backend) {
    if (backend != "postgres") {
      std::string pattern =
          (std::filesystem::temp_directory_path() / "joey-test-db-XXXXXX").string();
      if (mkdtemp(pattern.data()) == nullptr) {
        ADD_FAILURE() << "mkdtemp failed";
        return;
      }
      directory_ = pattern;
      location_ = directory_ + "/joey.db";
      return;
    }
    const char* url = std::getenv("JOEY_TEST_POSTGRES_URL");
    if (url == nullptr || *url == '\0') {
      const char* require = std::getenv("JOEY_REQUIRE_POSTGRES");
      if (require != nullptr && std::string(require) == "1") {
        ADD_FAILURE() << "JOEY_REQUIRE_POSTGRES=1 but JOEY_TEST_POSTGRES_URL is unset; start "
                         "one with scripts/test-postgres start DIR";
      }
      return;
    }
    admin_url_ = url;
    database_ = "joey_test_" + random_hex(6);
    app_role_ = database_ + "_app";
    login_role_ = database_ + "_login";
    pg_admin(admin_url_, "CREATE DATABASE " + database_);
    pg_admin(admin_url_, "CREATE ROLE " + app_role_ + " NOLOGIN");
    pg_admin(admin_url_, "CREATE ROLE " + login_role_ + " LOGIN IN ROLE " + app_role_);
    owner_url_ = with_user_and_database(admin_url_, "postgres", database_);
    location_ = with_user_and_database(admin_url_, login_role_, database_);
  }

  ~TestDatabase() {
    if (!directory_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(directory_, ignored);
    }
    if (!database_.empty()) {
      pg_admin(admin_url_, "DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)");
      pg_admin(admin_url_, "DROP ROLE IF EXISTS " + login_role_);
      pg_admin(admin_url_, "DROP ROLE IF EXISTS " + app_role_);
    }
  }
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  bool ready() const { return !location_.empty(); }
  bool postgres() const { return !database_.empty(); }
  const std::string& location() const { return location_; }
  // The directory a SQLite database lives in (its file, WAL and journal), or "".
  const std::string& directory() const { return directory_; }

  // Every byte the database keeps on disk, for scans that prove a plaintext is not
  // there. SQLite: the files in directory() (database, WAL, journal). PostgreSQL: after
  // a CHECKPOINT, the files of this test's database under the cluster's base/ and the
  // WAL segments written since the test started (the cluster is shared by every test).
  // Needs read access to the cluster's files (the test runs as root, or as the owner).
  std::string stored_bytes() const {
    std::string bytes;
    auto read_into = [&bytes](const std::filesystem::path& path) {
      std::FILE* file = std::fopen(path.c_str(), "rb");
      if (file == nullptr) {
        ADD_FAILURE() << "cannot read " << path;
        return;
      }
      char buffer[1 << 16];
      size_t n = 0;
      while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) bytes.append(buffer, n);
      std::fclose(file);
    };
    std::error_code error;
    if (!postgres()) {
      for (const auto& entry : std::filesystem::directory_iterator(directory_, error)) {
        if (entry.is_regular_file()) read_into(entry.path());
      }
      return bytes;
    }
    pg_admin(admin_url_, "CHECKPOINT");
    const std::filesystem::path data = pg_admin(admin_url_, "SHOW data_directory");
    const std::string oid =
        pg_admin(admin_url_, "SELECT oid FROM pg_database WHERE datname = '" + database_ + "'");
    size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(data / "base" / oid, error)) {
      if (entry.is_regular_file()) read_into(entry.path()), ++files;
    }
    EXPECT_GT(files, 0u) << "no files under " << (data / "base" / oid);
    for (const auto& entry : std::filesystem::directory_iterator(data / "pg_wal", error)) {
      if (entry.is_regular_file() && entry.last_write_time() >= started_) read_into(entry.path());
    }
    return bytes;
  }

  store::OpenOptions options() const {
    store::OpenOptions options;
    options.owner_location = owner_url_;
    if (!app_role_.empty()) options.app_role = app_role_;
    options.pool_size = 4;
    return options;
  }

  std::unique_ptr<store::Database> open() const {
    Result<std::unique_ptr<store::Database>> database = store::Database::open(location_, options());
    EXPECT_TRUE(database.ok()) << database.error().message;
    return database.ok() ? std::move(database).value() : nullptr;
  }

 private:
  std::string directory_;
  std::string location_;
  std::string admin_url_;
  std::string owner_url_;
  std::string database_;
  std::string app_role_;
  std::string login_role_;
  std::filesystem::file_time_type started_ =
      std::filesystem::file_time_type::clock::now() - std::chrono::seconds(2);
};

// A value-parameterised fixture ("sqlite", "postgres") with a fresh, migrated database in
// store_. Subclasses call BackendTest::SetUp() first and return when it skipped or failed
// (IsSkipped() || HasFatalFailure()), and reset what uses store_ before
// BackendTest::TearDown().
class BackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    database_ = std::make_unique<TestDatabase>(GetParam());
    if (!database_->ready()) GTEST_SKIP() << "no PostgreSQL (scripts/test-postgres)";
    store_ = database_->open();
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    store_.reset();
    database_.reset();
  }
  bool stopped() const { return IsSkipped() || HasFatalFailure(); }

  std::unique_ptr<TestDatabase> database_;
  std::unique_ptr<store::Database> store_;
};

}  // namespace joey::testing
