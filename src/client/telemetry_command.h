// `joey telemetry status`: whether anonymous telemetry is on and why (which setting or
// environment variable decided), where it goes, the machine id, how many events wait
// in the on-disk queue, and the last event sent, in full (pretty JSON). Read only: it
// creates no machine id and sends nothing.
//
// `--cwd DIR` names the workspace whose settings apply (default: the current
// directory). Exit status (through `exit_code`): 0 shown, 1 failed (settings that do
// not parse, no home directory). Errors go to `err` as "joey: error: …".
#pragma once

#include <CLI/CLI.hpp>

#include <iosfwd>

namespace joey::client {

// Adds the `telemetry` subcommand to `app`, printing to std::cout and std::cerr.
void register_telemetry_command(CLI::App& app, int& exit_code);
// The same, printing to `out` and `err` (which must outlive `app`).
void register_telemetry_command(CLI::App& app, int& exit_code, std::ostream& out,
                                std::ostream& err);

}  // namespace joey::client
