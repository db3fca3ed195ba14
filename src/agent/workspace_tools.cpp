#include "agent/workspace_tools.h"

#include "agent/command_tool.h"
#include "agent/file_tools.h"
#include "agent/search_tools.h"

namespace joey::agent {

const char* action_kind_name(ActionKind kind) {
  switch (kind) {
    case ActionKind::kRead:
      return "read";
    case ActionKind::kWrite:
      return "write";
    case ActionKind::kCommand:
      return "command";
    case ActionKind::kOutsideWorkspace:
      return "outside_workspace";
  }
  return "unknown";
}

std::vector<ToolDefinition> workspace_tools() {
  return {read_file_tool(),    write_to_file_tool(), apply_diff_tool(),     insert_content_tool(),
          search_files_tool(), list_files_tool(),    execute_command_tool()};
}

}  // namespace joey::agent
