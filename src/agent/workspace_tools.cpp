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
    case ActionKind::kProtectedWrite:
      return "protected_write";
    case ActionKind::kModeSwitch:
      return "mode_switch";
    case ActionKind::kSubtask:
      return "subtask";
    case ActionKind::kMcp:
      return "mcp";
  }
  return "unknown";
}

const char* tool_group_name(ToolGroup group) {
  switch (group) {
    case ToolGroup::kRead:
      return "read";
    case ToolGroup::kEdit:
      return "edit";
    case ToolGroup::kCommand:
      return "command";
    case ToolGroup::kMcp:
      return "mcp";
    case ToolGroup::kModes:
      return "modes";
    case ToolGroup::kAlways:
      return "always";
  }
  return "unknown";
}

std::vector<ToolDefinition> workspace_tools() {
  auto in_group = [](ToolDefinition tool, ToolGroup group) {
    tool.group = group;
    return tool;
  };
  return {in_group(read_file_tool(), ToolGroup::kRead),
          in_group(write_to_file_tool(), ToolGroup::kEdit),
          in_group(apply_diff_tool(), ToolGroup::kEdit),
          in_group(insert_content_tool(), ToolGroup::kEdit),
          in_group(search_files_tool(), ToolGroup::kRead),
          in_group(list_files_tool(), ToolGroup::kRead),
          in_group(execute_command_tool(), ToolGroup::kCommand)};
}

}  // namespace joey::agent
