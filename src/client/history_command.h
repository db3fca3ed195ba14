// `joey history`: list, show, search and delete the tasks kept in the local history
// ($JOEY_HOME/history.db, see client/history_store.h).
//
//   joey history list [--json] [--limit N]     most recent first
//   joey history show ID [--json]              the task, its totals and every message
//   joey history search QUERY... [--limit N] [--json]
//                                              best-matching tasks, with snippets and ids
//   joey history delete ID | --all             deletes without asking; says what it did
//
// With --cloud (`joey history --cloud list|search|show|delete`), the same commands read
// the joey Cloud's copy of the signed-in user's tasks (GET /api/tasks, GET and DELETE
// /api/tasks/{id}) through CloudClient instead of the local database; signed out, they
// say how to sign in. `delete --all` is local only.
//
// Errors print "joey: error: ..." on stderr; exit status 0 done, 1 failed (an unknown
// id, an unreadable database), 2 bad usage.
#pragma once

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>

#include "llm/http_transport.h"

namespace CLI {
class App;
}

namespace joey::client {

struct HistoryCommandOptions {
  std::FILE* out = stdout;
  std::FILE* err = stderr;
  // Empty: $JOEY_HOME/history.db.
  std::filesystem::path database;
  // --cloud: joey's home (empty: $JOEY_HOME) and the transport (default: libcurl).
  std::filesystem::path joey_home;
  std::function<std::unique_ptr<llm::HttpTransport>()> make_cloud_transport;
};

void register_history_command(CLI::App& app, int& exit_code);
void register_history_command(CLI::App& app, int& exit_code, const HistoryCommandOptions& options);

}  // namespace joey::client
