// search_files and list_files: ripgrep (`rg`, found on PATH) does the walking and the
// matching, so both honour .gitignore, .ignore and .rgignore (also outside a git
// repository) and skip the .git directory. Hidden files are included.
//
// Results are bounded (kMaxSearchMatches, kMaxListEntries) and say so when cut, so a
// huge tree costs the model a bounded number of tokens. ripgrep runs through
// run_process with a timeout and the context's cancel flag.
#pragma once

#include <cstddef>

#include "agent/tool.h"

namespace joey::agent {

inline constexpr size_t kMaxSearchMatches = 300;
inline constexpr size_t kMaxListEntries = 1000;

ToolDefinition search_files_tool();
ToolDefinition list_files_tool();

}  // namespace joey::agent
