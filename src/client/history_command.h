// `joey history`: list, show, search and delete the tasks kept in the local history
// ($JOEY_HOME/history.db, see client/history_store.h).
//
//   joey history list [--json] [--limit N]     most recent first
//   joey history show ID [--json]              the task, its totals and every message
//   joey history search QUERY... [--limit N] [--json]
//                                              best-matching tasks, with snippets and ids
//   joey history delete ID | --all             deletes without asking; says what it did
//
// Errors print "joey: error: ..." on stderr; exit status 0 done, 1 failed (an unknown
// id, an unreadable database), 2 bad usage.
#pragma once

#include <cstdio>
#include <filesystem>

namespace CLI {
class App;
}

namespace joey::client {

struct HistoryCommandOptions {
  std::FILE* out = stdout;
  std::FILE* err = stderr;
  // Empty: $JOEY_HOME/history.db.
  std::filesystem::path database;
};

void register_history_command(CLI::App& app, int& exit_code);
void register_history_command(CLI::App& app, int& exit_code, const HistoryCommandOptions& options);

}  // namespace joey::client
