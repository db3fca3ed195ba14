// `joey modes list [--cwd DIR] [--json]` and `joey modes show SLUG [--cwd DIR] [--json]`:
// the modes a task in DIR can use (built-in, $JOEY_HOME/modes.yaml, DIR/.roomodes,
// DIR/.joey/modes.yaml; see agent/modes.h), and everything about one of them.
//
// Output goes to stdout; errors to stderr as "joey: error: ...". Exit codes: 0 ok,
// 1 a modes file is broken or unreadable, 2 bad usage (unknown slug, --cwd not a
// directory).
#pragma once

#include <CLI/CLI.hpp>

namespace joey::client {

// Adds the `modes` subcommand (with `list` and `show`) to `app`. When one of them runs
// (during app.parse), its callback stores the exit code in `exit_code`, which must
// outlive `app`.
void register_modes_command(CLI::App& app, int& exit_code);

}  // namespace joey::client
