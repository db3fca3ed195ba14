#include "agent/control_tools.h"

namespace joey::agent {

std::vector<ToolDefinition> control_tools() {
  using nlohmann::json;
  return {
      {kAttemptCompletion,
       "Finish the task. Call this once the work is done and verified; `result` tells the user "
       "what you did. Do not end the result with a question.",
       json{{"type", "object"},
            {"properties", {{"result", {{"type", "string"}, {"description", "What was done."}}}}},
            {"required", {"result"}}},
       nullptr},
      {kAskFollowupQuestion,
       "Ask the user a question when you cannot proceed without their decision. Offer 2-4 "
       "suggested answers in `follow_up` when you can.",
       json{{"type", "object"},
            {"properties",
             {{"question", {{"type", "string"}}},
              {"follow_up",
               {{"type", "array"},
                {"items", {{"type", "string"}}},
                {"description", "Suggested answers."}}}}},
            {"required", {"question"}}},
       nullptr},
      {kUpdateTodoList,
       "Replace the task's todo list. `todos` is a Markdown checklist, one item a line: "
       "\"[ ] pending\", \"[-] in progress\", \"[x] done\".",
       json{{"type", "object"},
            {"properties", {{"todos", {{"type", "string"}}}}},
            {"required", {"todos"}}},
       nullptr},
      {kSwitchMode,
       "Switch to another mode when the work calls for its tools or focus; `reason` says why.",
       json{{"type", "object"},
            {"properties",
             {{"mode_slug", {{"type", "string"}}}, {"reason", {{"type", "string"}}}}},
            {"required", {"mode_slug", "reason"}}},
       nullptr, ToolGroup::kAlways},  // any mode may ask to hand over to a better-suited one
      {kNewTask,
       "Delegate a self-contained piece of work to a subtask in the given mode. The subtask "
       "starts with only `message` as context (say everything it needs) and its completion "
       "result comes back to you as this tool's result.",
       json{{"type", "object"},
            {"properties", {{"mode", {{"type", "string"}}}, {"message", {{"type", "string"}}}}},
            {"required", {"mode", "message"}}},
       nullptr, ToolGroup::kModes},
  };
}

}  // namespace joey::agent
