// The contract between the task loop and the tools the model can call.
//
// A tool receives its arguments already parsed as a JSON value (the loop reports
// invalid JSON to the model itself), validates every field it reads (a missing or
// mistyped field is an ErrorKind::kInvalidArgument naming the field), asks the
// ApprovalGate before anything that needs approval, and returns the text the model
// sees plus a one-line summary for the user.
//
// Errors: kInvalidArgument, kNotFound, kPermissionDenied, kIo and the like go back to
// the model as a tool error and the task goes on. kNeedsDecision (nobody can approve
// headlessly) and kCancelled (Ctrl-C) end the task.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace joey::agent {

class Workspace;
struct SandboxOptions;

enum class ActionKind {
  kRead,              // reading a file inside the workspace
  kWrite,             // creating or changing a file inside the workspace
  kCommand,           // running a shell command
  kOutsideWorkspace,  // any access to a path outside the workspace
  kProtectedWrite,    // changing joey's own configuration files (.joey/**, AGENTS.md, ...):
                      // always asks a person; never approved automatically
  kModeSwitch,        // switch_mode: the model changes its own mode
  kSubtask,           // new_task: the model starts a subtask in another mode
  kMcp,               // calling a tool of an MCP server (the server decides what it does)
};

// The groups modes grant tools by (a mode lists the groups it may use).
enum class ToolGroup {
  kRead,     // read_file, search_files, list_files, list_code_definition_names
  kEdit,     // write_to_file, apply_diff, insert_content
  kCommand,  // execute_command
  kMcp,      // mcp--SERVER--TOOL
  kModes,    // new_task
  kAlways,   // attempt_completion, ask_followup_question, update_todo_list, switch_mode
};

const char* tool_group_name(ToolGroup group);

const char* action_kind_name(ActionKind kind);

struct ApprovalRequest {
  ActionKind kind = ActionKind::kRead;
  std::string tool;         // e.g. "write_to_file"
  std::string description;  // what will happen, for the user: "write src/main.cpp (120 lines)"
};

// Decides whether an action may go ahead.
// Returns ok to proceed; kPermissionDenied when refused (the tool reports this to
// the model); kNeedsDecision when the user would have to be asked and cannot be.
class ApprovalGate {
 public:
  virtual ~ApprovalGate() = default;
  virtual Status request(const ApprovalRequest& request) = 0;
};

struct ToolContext {
  const Workspace* workspace = nullptr;
  ApprovalGate* approvals = nullptr;
  // Live output of execute_command, for the user (never sent anywhere else).
  std::function<void(std::string_view chunk)> on_command_output;
  const std::atomic<bool>* cancel = nullptr;
  // When set, execute_command runs under bubblewrap with these options (the workspace
  // and hidden paths; the command's cwd is filled in per call). Not owned.
  const SandboxOptions* sandbox = nullptr;
};

struct ToolOutput {
  std::string content;  // what the model sees
  std::string summary;  // one line for the user, e.g. "read src/a.cpp (lines 1-80)"
};

using ToolFunction =
    std::function<Result<ToolOutput>(const nlohmann::json& args, ToolContext& context)>;

struct ToolDefinition {
  std::string name;
  std::string description;
  nlohmann::json input_schema;  // JSON Schema object
  ToolFunction run;             // empty for tools the task loop handles itself
  ToolGroup group = ToolGroup::kAlways;
};

}  // namespace joey::agent
