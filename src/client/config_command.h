// `joey config`: reads and edits joey's layered settings (client/settings.h).
//
//   joey config get KEY                  the effective value (exit 1 when unset)
//   joey config set KEY VALUE [--workspace]
//   joey config unset KEY [--workspace]
//   joey config list [--show-origin]     every key with a value, as TOML lines
//   joey config path                     the global and workspace file paths
//
// `--cwd DIR` names the workspace (default: the current directory); set and unset
// edit $JOEY_HOME/config.toml, or <workspace>/.joey/config.toml with --workspace.
// Exit status (through `exit_code`): 0 done, 1 failed (a config file that does not
// parse, a write that failed, get of an unset key), 2 bad usage (unknown key, bad
// value, a key the workspace file may not set). Errors go to `err` as
// "joey: error: …".
#pragma once

#include <CLI/CLI.hpp>

#include <iosfwd>

namespace joey::client {

// Adds the `config` subcommand to `app`, printing to std::cout and std::cerr.
void register_config_command(CLI::App& app, int& exit_code);
// The same, printing to `out` and `err` (which must outlive `app`).
void register_config_command(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err);

}  // namespace joey::client
