// `joey auth`: provider API keys in joey's secret store (client/secret_store.h, P2).
//
//   joey auth set PROVIDER [--from-env VAR]   reads the key from stdin (echo off on a
//                                             terminal; the first line of a pipe,
//                                             trimmed) or from the variable VAR
//   joey auth list                            provider, …last four, backend per stored
//                                             key, and which environment variables
//                                             override a stored key
//   joey auth remove PROVIDER                 exit 1 when nothing was stored
//
// A key is never printed in full: not in output, not in an error message (an unknown
// provider name is not echoed either, in case a key was typed in its place). On a
// terminal the echo is turned back on on every path, Ctrl-C included (which exits 130).
// Exit status (through `exit_code`): 0 done, 1 failed (the store refused or could not be
// written, nothing to remove), 2 bad usage (unknown provider, a local provider that takes
// no key, an empty or malformed key, VAR unset), 130 interrupted. Errors go to `err` as
// "joey: error: …".
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <iosfwd>

#include "client/secret_store.h"

namespace joey::client {

// Adds the `auth` subcommand to `app`: stdin, std::cout, std::cerr, $JOEY_HOME.
void register_auth_command(CLI::App& app, int& exit_code);

// For tests: reads keys from `input_fd`, prints to `out` and `err` (which must outlive
// `app`), keeps secrets under `joey_home` (empty: $JOEY_HOME) with `backend`.
struct AuthCommandIo {
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  int input_fd = 0;
  std::filesystem::path joey_home;
  SecretStore::Backend backend = SecretStore::Backend::kAuto;
};
void register_auth_command(CLI::App& app, int& exit_code, const AuthCommandIo& io);

// Reads one line (the key) from `fd`, trimmed. When `fd` is a terminal, writes `prompt`
// to `prompt_out` and turns echo off while reading, restoring the terminal on every path
// (a SIGINT, SIGTERM, SIGHUP or SIGQUIT meanwhile restores it and yields kCancelled).
// kInvalidArgument for a line longer than any key.
Result<std::string> read_secret_line(int fd, std::ostream& prompt_out, const std::string& prompt);

}  // namespace joey::client
