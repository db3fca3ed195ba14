// The heart of the agent: send the conversation → stream the answer → run the tool
// calls → send their results … until the model calls attempt_completion, a limit is
// reached (--max-requests, --max-cost), an action needs a decision nobody can take,
// or the user cancels.
//
// Tool failures and malformed tool arguments never end the task: they go back to
// the model as tool errors naming the problem. A reply without any tool call gets
// one reminder; a second one in a row fails the task.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/events.h"
#include "agent/hooks.h"
#include "agent/modes.h"
#include "agent/system_prompt.h"
#include "agent/task_recorder.h"
#include "agent/tool.h"
#include "llm/model_client.h"
#include "llm/pricing.h"

namespace joey::agent {

struct TaskOptions {
  std::string task_id;
  Mode mode;                // the mode the task starts in
  std::vector<Mode> modes;  // every mode switch_mode and new_task may name
  // Builds the system prompt for a mode (called again after switch_mode).
  std::function<std::string(const Mode&)> system_prompt_for;
  std::string provider_name;
  std::string model;
  int max_requests = 100;
  std::optional<double> max_cost_usd;
  // Ask nobody: ask_followup_question is answered "decide yourself" instead of stopping.
  bool auto_approve = false;
  std::optional<llm::ModelPrice> price;  // nullopt: cost unknown
  std::string workspace;                 // recorded with the task
  // A resumed task's earlier conversation; the new request is appended to it.
  std::vector<llm::Message> prior_messages;
  TaskRecorder* recorder = nullptr;  // not owned; may be null
  // Called before every edit or command tool runs (to take a checkpoint); `label`
  // says what is about to happen. Failures are the callee's to report.
  std::function<void(const std::string& task_id, const std::string& label)> before_change;
  // Context management: when the next request would exceed condense_at of the window,
  // older turns are first replaced by a model-written summary.
  int64_t context_window_tokens = 128'000;
  double condense_at = 0.8;
  HookCommands hooks;  // the user's hook commands (agent/hooks.h)
  // Someone to answer ask_followup_question (the interactive session); empty: nobody,
  // and the task stops for a decision (or, with auto_approve, the model decides).
  // kCancelled from it stops the task.
  std::function<Result<std::string>(const std::string& question)> ask_user;
  // Called on the loop's thread before every model request: every tool again when the
  // tools on offer changed since the last call (an MCP server announced new tools or
  // was restarted), nullopt when they did not. Empty: the tools never change.
  std::function<std::optional<std::vector<ToolDefinition>>()> refresh_tools;
};

struct TaskOutcome {
  TaskStatus status = TaskStatus::kFailed;
  std::string result;  // attempt_completion's result when completed
  Error error;         // why it did not complete
  int requests = 0;
  UsageTotals totals;
};

// Exit status for `joey run`: 0 completed, 1 failed, 3 needs a decision, 130 cancelled.
int exit_code_for(TaskStatus status);

class TaskLoop {
 public:
  // `context` carries the workspace, approval gate and cancel flag the tools use;
  // `tools` are every tool offered to the model (workspace tools and control tools),
  // until options.refresh_tools gives others; a subtask's refreshed tools stay after it.
  TaskLoop(TaskOptions options, llm::ModelClient& model, EventSink& events, ToolContext context,
           std::vector<ToolDefinition> tools);

  TaskOutcome run(const std::string& task);

  // The conversation so far (after run(): everything, to continue it in another task).
  const std::vector<llm::Message>& messages() const { return messages_; }

 private:
  struct TurnResult;
  TurnResult run_tool_calls(const llm::ChatResponse& response);
  llm::ToolResult run_one_tool(const llm::ToolCall& call, TurnResult& turn);
  void add_usage(const llm::Usage& usage);
  TaskOutcome fail(ErrorKind kind, const std::string& message);
  void append(llm::Message message);
  llm::ToolResult switch_mode(const llm::ToolCall& call, const nlohmann::json& args,
                              TurnResult& turn);
  llm::ToolResult run_subtask(const llm::ToolCall& call, const nlohmann::json& args,
                              TurnResult& turn);
  Status check_edit_path(const nlohmann::json& args) const;
  void prepare_request(llm::ChatRequest& request) const;
  int64_t estimate_next_request_tokens(const llm::ChatRequest& request) const;
  Status condense(const llm::ChatRequest& request, int64_t tokens_before);
  TaskOutcome finish(TaskStatus status, Error error);
  // Runs a hook command; nullopt when `command` is empty.
  std::optional<Result<HookResult>> run_hook_command(const std::string& command,
                                                     std::string_view hook,
                                                     const llm::ToolCall* call,
                                                     const nlohmann::json& args,
                                                     std::string_view result);

  TaskOptions options_;
  llm::ModelClient& model_;
  EventSink& events_;
  ToolContext context_;
  std::vector<ToolDefinition> tools_;  // every tool; the mode decides which are offered
  int depth_ = 0;                      // nesting of new_task subtasks
  int subtasks_started_ = 0;
  std::vector<llm::Message> messages_;
  TaskOutcome outcome_;
  std::string todos_;
  // Tokens the last request and its answer took (from the provider's usage), and how
  // many messages existed then: the base for estimating the next request's size.
  int64_t last_request_tokens_ = 0;
  size_t messages_at_last_request_ = 0;
};

}  // namespace joey::agent
