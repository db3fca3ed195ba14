// execute_command: runs a shell command the model asks for, after approval.
//
// The command runs as `$SHELL -c COMMAND` ($SHELL when set, else /bin/bash when it
// exists, else /bin/sh) in the workspace root or in `cwd`, with stdin from /dev/null,
// in its own process group (run_process), so a timeout or Ctrl-C stops it and
// everything it started. Its output streams to ToolContext::on_command_output as it
// arrives; the model gets the exit status and the combined output in arrival order,
// capped at kCommandOutputCap bytes keeping the head and the tail.
//
// The command never inherits the provider key variables joey reads (P2). With
// ToolContext::sandbox set it runs under bubblewrap (agent/sandbox.h): the workspace
// writable, the rest read-only, credentials hidden, no network unless allowed.
//
// A non-zero exit, a signal or a timeout is a successful tool call whose content says
// so: the model needs to see failures. A cancelled command is kCancelled.
#pragma once

#include <cstddef>
#include <string>

#include "agent/tool.h"

namespace joey::agent {

inline constexpr size_t kCommandOutputCap = 32 * 1024;
inline constexpr int kDefaultCommandTimeoutSeconds = 120;
inline constexpr int kMaxCommandTimeoutSeconds = 1800;

ToolDefinition execute_command_tool();

// The shell commands run with: $SHELL if set (and absolute), else /bin/bash if it
// exists, else /bin/sh.
std::string command_shell();

}  // namespace joey::agent
