// The tools the task loop handles itself because they steer the task rather than
// act on files: attempt_completion, ask_followup_question, update_todo_list, and the
// modes group's switch_mode and new_task.
// Their definitions have no `run`; the loop recognises them by name.
#pragma once

#include <vector>

#include "agent/tool.h"

namespace joey::agent {

inline constexpr const char* kAttemptCompletion = "attempt_completion";
inline constexpr const char* kAskFollowupQuestion = "ask_followup_question";
inline constexpr const char* kUpdateTodoList = "update_todo_list";
inline constexpr const char* kSwitchMode = "switch_mode";
inline constexpr const char* kNewTask = "new_task";

std::vector<ToolDefinition> control_tools();

}  // namespace joey::agent
