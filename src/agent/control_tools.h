// The tools the task loop handles itself because they steer the task rather than
// act on files: attempt_completion, ask_followup_question, update_todo_list.
// Their definitions have no `run`; the loop recognises them by name.
#pragma once

#include <vector>

#include "agent/tool.h"

namespace joey::agent {

inline constexpr const char* kAttemptCompletion = "attempt_completion";
inline constexpr const char* kAskFollowupQuestion = "ask_followup_question";
inline constexpr const char* kUpdateTodoList = "update_todo_list";

std::vector<ToolDefinition> control_tools();

}  // namespace joey::agent
