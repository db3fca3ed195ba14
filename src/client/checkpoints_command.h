// `joey checkpoints`: the snapshots joey took of a workspace while a task ran
// (agent/checkpoints.h), listed, compared and restored.
//
//   joey checkpoints list TASK [--json]   N, time, files changed and label of each
//   joey checkpoints diff TASK N [M]      unified diff from checkpoint N to M, or to the
//                                         working tree as it is now
//   joey checkpoints restore TASK N       files back as they were at N (files only: the
//                                         conversation is not rewound); the state before
//                                         the restore becomes a new checkpoint
//
// `--cwd DIR` names the workspace (default: the current directory). Exit status
// (through `exit_code`): 0 done, 1 failed (unknown task or checkpoint, git failed),
// 2 bad usage (a malformed task id, N < 1). Errors go to `err` as "joey: error: …".
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <iosfwd>

namespace joey::client {

// Adds the `checkpoints` subcommand to `app`, printing to std::cout and std::cerr.
void register_checkpoints_command(CLI::App& app, int& exit_code);
// The same, printing to `out` and `err` (which must outlive `app`); `joey_home`, when
// not empty, replaces $JOEY_HOME.
void register_checkpoints_command(CLI::App& app, int& exit_code, std::ostream& out,
                                  std::ostream& err, std::filesystem::path joey_home = {});

}  // namespace joey::client
