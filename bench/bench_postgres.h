// Helpers the benchmarks share for PostgreSQL runs: a statement through libpq with no
// result rows, and a superuser URL rewritten to another user and database. Both take the
// JOEY_BENCH_POSTGRES_URL form (scripts/test-postgres start DIR prints one). Header-only;
// benchmarks only (no joey library uses it).
//
// Thread-safety: the functions hold no state; each call opens its own connection.
#pragma once

#include <string>

#include <libpq-fe.h>

namespace joey::bench {

// Runs `sql` (statements that return no rows) on a new connection to `url`; returns the
// error message, or "" when it succeeded.
inline std::string pg_exec(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PGresult* result = PQexec(conn, sql.c_str());
    if (PQresultStatus(result) != PGRES_COMMAND_OK) error = PQresultErrorMessage(result);
    PQclear(result);
  }
  PQfinish(conn);
  return error;
}

// `base` (postgres://user[:password]@host:port/database[?...]) with its user and database
// replaced by `user` and `database` (the password and any query are dropped).
inline std::string with_user_and_database(const std::string& base, const std::string& user,
                                          const std::string& database) {
  const size_t authority = base.find("://") + 3;
  const size_t at = base.find('@', authority);
  const size_t host = at == std::string::npos ? authority : at + 1;
  const size_t path = base.find('/', host);
  return base.substr(0, authority) + user + "@" + base.substr(host, path - host) + "/" + database;
}

}  // namespace joey::bench
