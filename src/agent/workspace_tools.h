// The tools that act on the user's workspace: files, search and the shell.
#pragma once

#include <vector>

#include "agent/tool.h"

namespace joey::agent {

// read_file, write_to_file, apply_diff, insert_content, search_files, list_files and
// execute_command, in that order.
std::vector<ToolDefinition> workspace_tools();

}  // namespace joey::agent
