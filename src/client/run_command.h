// `joey run TASK`: one task, headless, then exit with its status (DESIGN.md §3).
#pragma once

#include "client/agent_runtime.h"

namespace joey::client {

// Runs `flags.task` to its end; returns the exit status (exit_codes.h).
int run_task(RunFlags flags);

}  // namespace joey::client
