#include "agent/task_loop.h"

#include <algorithm>
#include <cstdio>

#include "agent/control_tools.h"
#include "agent/workspace.h"
#include "base/json.h"

namespace joey::agent {
namespace {

// The part of a tool's result a post_tool hook is given.
constexpr size_t kHookResultCap = 16 * 1024;

constexpr const char* kNoToolReminder =
    "[ERROR] Your reply did not call a tool. Every reply must call one: attempt_completion when "
    "the task is done, ask_followup_question if you need the user's decision, or another tool "
    "to make progress.";

std::string first_line(const std::string& text, size_t max_length = 200) {
  std::string line = text.substr(0, text.find('\n'));
  if (line.size() > max_length) line = line.substr(0, max_length - 3) + "...";
  return line;
}

size_t count_checked(const std::string& todos, size_t* total) {
  size_t done = 0;
  *total = 0;
  size_t start = 0;
  while (start <= todos.size()) {
    size_t end = todos.find('\n', start);
    std::string line =
        todos.substr(start, end == std::string::npos ? std::string::npos : end - start);
    size_t open = line.find('[');
    if (open != std::string::npos && open + 2 < line.size() && line[open + 2] == ']') {
      ++*total;
      if (line[open + 1] == 'x' || line[open + 1] == 'X') ++done;
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return done;
}

constexpr const char* kCondenseSystemPrompt =
    "You summarise a coding agent's conversation so the work can continue in a fresh, "
    "shorter context. Be precise and complete; omit pleasantries.";

constexpr const char* kCondenseRequest =
    "The conversation is nearing the model's context window. Write a summary that replaces "
    "everything above. Include: 1) the user's task and every requirement or decision since; "
    "2) what has been done, file by file, with the latest state of each file touched (exact "
    "names, and the key code as it now stands); 3) commands run and what they showed; 4) what "
    "remains, as a checklist. Do not call tools.";

size_t message_bytes(const llm::Message& message) {
  size_t bytes = message.text.size();
  for (const llm::ToolCall& call : message.tool_calls)
    bytes += call.name.size() + call.arguments.size();
  for (const llm::ToolResult& result : message.tool_results) bytes += result.content.size();
  return bytes;
}

constexpr int kMaxSubtaskDepth = 2;

// What a subtask shows: its tool calls and text go to the user as the parent's do,
// but its start, usage and completion are the parent's to report (the parent's
// running totals include the subtask, and only the outer task completes).
class SubtaskEvents final : public EventSink {
 public:
  explicit SubtaskEvents(EventSink& parent) : parent_(parent) {}
  void task_started(const std::string&, const std::string& mode, const std::string&,
                    const std::string&) override {
    parent_.notice("subtask started in mode '" + mode + "'");
  }
  void text(std::string_view piece) override { parent_.text(piece); }
  void tool_call(const std::string& id, const std::string& name,
                 const std::string& arguments) override {
    parent_.tool_call(id, name, arguments);
  }
  void tool_result(const std::string& id, const std::string& name, bool ok,
                   const std::string& summary) override {
    parent_.tool_result(id, name, ok, summary);
  }
  void command_output(std::string_view chunk) override { parent_.command_output(chunk); }
  void approval_required(const std::string& tool, const std::string& kind,
                         const std::string& description) override {
    parent_.approval_required(tool, kind, description);
  }
  void usage(const UsageTotals&) override {}
  void condensed(int64_t before, int64_t after) override { parent_.condensed(before, after); }
  void notice(const std::string& message) override { parent_.notice(message); }
  void error(const std::string&, const std::string& message) override {
    parent_.notice("subtask ended: " + message);
  }
  void completion(const std::string&) override {}

 private:
  EventSink& parent_;
};

const std::string* string_argument(const nlohmann::json& args, const char* key) {
  auto found = args.find(key);
  return found != args.end() && found->is_string() ? &found->get_ref<const std::string&>()
                                                   : nullptr;
}

}  // namespace

struct TaskLoop::TurnResult {
  std::vector<llm::ToolResult> results;
  bool completed = false;
  std::string completion_result;
  std::optional<Error> stop;  // kNeedsDecision or kCancelled: end the task
};

const char* task_status_name(TaskStatus status) {
  switch (status) {
    case TaskStatus::kRunning:
      return "running";
    case TaskStatus::kCompleted:
      return "completed";
    case TaskStatus::kFailed:
      return "failed";
    case TaskStatus::kNeedsDecision:
      return "needs_decision";
    case TaskStatus::kCancelled:
      return "cancelled";
  }
  return "failed";
}

int exit_code_for(TaskStatus status) {
  switch (status) {
    case TaskStatus::kRunning:
      return 1;
    case TaskStatus::kCompleted:
      return 0;
    case TaskStatus::kFailed:
      return 1;
    case TaskStatus::kNeedsDecision:
      return 3;
    case TaskStatus::kCancelled:
      return 130;
  }
  return 1;
}

TaskLoop::TaskLoop(TaskOptions options, llm::ModelClient& model, EventSink& events,
                   ToolContext context, std::vector<ToolDefinition> tools)
    : options_(std::move(options)),
      model_(model),
      events_(events),
      context_(std::move(context)),
      tools_(std::move(tools)) {}

// The system prompt and tools of the current mode; both change on switch_mode.
void TaskLoop::prepare_request(llm::ChatRequest& request) const {
  request.system_prompt =
      options_.system_prompt_for ? options_.system_prompt_for(options_.mode) : std::string();
  request.tools.clear();
  for (const ToolDefinition& tool : tools_for_mode(options_.mode, tools_)) {
    request.tools.push_back({tool.name, tool.description, tool.input_schema});
  }
}

void TaskLoop::append(llm::Message message) {
  if (options_.recorder) options_.recorder->message_added(options_.task_id, message);
  messages_.push_back(std::move(message));
}

void TaskLoop::add_usage(const llm::Usage& usage) {
  outcome_.totals.usage += usage;
  if (options_.price) {
    outcome_.totals.cost_usd = llm::cost_usd(outcome_.totals.usage, *options_.price);
  }
  events_.usage(outcome_.totals);
  if (options_.recorder) {
    options_.recorder->usage_updated(options_.task_id, outcome_.totals, outcome_.requests);
  }
}

int64_t TaskLoop::estimate_next_request_tokens(const llm::ChatRequest& request) const {
  size_t first_new = messages_at_last_request_;
  int64_t tokens = last_request_tokens_;
  if (last_request_tokens_ == 0) {  // no usage reported yet: estimate everything
    first_new = 0;
    size_t bytes = request.system_prompt.size();
    for (const llm::ToolSpec& tool : request.tools) {
      bytes += tool.name.size() + tool.description.size() + tool.input_schema.dump().size();
    }
    tokens = static_cast<int64_t>(estimate_tokens(std::string(bytes, ' ')));
  }
  size_t bytes = 0;
  for (size_t index = first_new; index < messages_.size(); ++index) {
    bytes += message_bytes(messages_[index]);
  }
  return tokens + static_cast<int64_t>((bytes + 3) / 4);
}

Status TaskLoop::condense(const llm::ChatRequest& request, int64_t tokens_before) {
  llm::ChatRequest summary_request;
  summary_request.model = request.model;
  summary_request.system_prompt = kCondenseSystemPrompt;
  summary_request.messages = messages_;
  std::string instruction = kCondenseRequest;
  if (!todos_.empty()) instruction += "\n\nThe current todo list:\n" + todos_;
  summary_request.messages.push_back({llm::Role::kUser, instruction, {}, {}});
  ++outcome_.requests;
  llm::ChatResponse summary = TRY(model_.send(summary_request, {}));
  add_usage(summary.usage);
  if (summary.text.empty()) {
    return make_error(ErrorKind::kProtocol, "the model returned an empty summary");
  }

  // Keep the task, the summary, and the latest exchange (an assistant turn and the
  // results of its calls) so the model sees where it stands.
  std::vector<llm::Message> kept;
  kept.push_back(messages_.front());
  std::string summary_text =
      "[joey condensed the earlier conversation to stay within the context window; this "
      "summary replaces it]\n\n" +
      summary.text;
  if (!todos_.empty()) summary_text += "\n\nTodo list:\n" + todos_;
  kept.push_back({llm::Role::kUser, summary_text, {}, {}});
  size_t tail =
      messages_.size() >= 2 && messages_[messages_.size() - 2].role == llm::Role::kAssistant
          ? messages_.size() - 2
          : messages_.size();
  for (size_t index = std::max<size_t>(tail, 1); index < messages_.size(); ++index) {
    kept.push_back(messages_[index]);
  }
  messages_ = std::move(kept);
  last_request_tokens_ = 0;
  messages_at_last_request_ = 0;
  llm::ChatRequest after = request;
  after.messages = messages_;
  events_.condensed(tokens_before, estimate_next_request_tokens(after));
  return ok_status();
}

TaskOutcome TaskLoop::finish(TaskStatus status, Error error) {
  outcome_.status = status;
  outcome_.error = std::move(error);
  if (status == TaskStatus::kCompleted) {
    if (depth_ == 0) {
      auto hook = run_hook_command(options_.hooks.on_complete, "on_complete", nullptr, nullptr,
                                   outcome_.result);
      if (hook && !hook->ok()) {
        events_.notice("the on_complete hook failed: " + hook->error().message);
      } else if (hook && !(*hook)->allowed) {
        events_.notice("the on_complete hook: " + (*hook)->reason);
      }
    }
    events_.completion(outcome_.result);
  } else {
    events_.error(error_kind_name(outcome_.error.kind), outcome_.error.message);
  }
  if (options_.recorder) {
    options_.recorder->task_finished(
        options_.task_id, status,
        status == TaskStatus::kCompleted ? outcome_.result : outcome_.error.message);
  }
  return outcome_;
}

TaskOutcome TaskLoop::fail(ErrorKind kind, const std::string& message) {
  return finish(TaskStatus::kFailed, make_error(kind, message));
}

TaskOutcome TaskLoop::run(const std::string& task) {
  events_.task_started(options_.task_id, options_.mode.slug, options_.provider_name,
                       options_.model);
  if (options_.price) outcome_.totals.cost_usd = 0.0;

  llm::ChatRequest request;
  request.model = options_.model;
  prepare_request(request);
  if (options_.recorder) {
    options_.recorder->task_started({options_.task_id, options_.workspace, options_.mode.slug,
                                     options_.provider_name, options_.model, task});
  }
  messages_ = std::move(options_.prior_messages);
  if (!messages_.empty() && !messages_.back().tool_calls.empty()) {
    // The earlier run ended before this turn's calls ran; every call needs an answer.
    llm::Message results{llm::Role::kUser, "", {}, {}};
    for (const llm::ToolCall& call : messages_.back().tool_calls) {
      results.tool_results.push_back(
          {call.id, call.name, "Not run: the task stopped before this call ran.", true});
    }
    append(std::move(results));
  }
  append({llm::Role::kUser, task, {}, {}});

  int replies_without_tools = 0;
  while (true) {
    if (context_.cancel && context_.cancel->load()) {
      return finish(TaskStatus::kCancelled, make_error(ErrorKind::kCancelled, "cancelled"));
    }
    if (outcome_.requests >= options_.max_requests) {
      return fail(ErrorKind::kLimit, "stopped after " + std::to_string(outcome_.requests) +
                                         " requests to the model (--max-requests " +
                                         std::to_string(options_.max_requests) + ")");
    }
    if (options_.max_cost_usd && outcome_.totals.cost_usd &&
        *outcome_.totals.cost_usd >= *options_.max_cost_usd) {
      char text[160];
      std::snprintf(text, sizeof text,
                    "stopped: the task has cost $%.4f, reaching --max-cost $%.4f",
                    *outcome_.totals.cost_usd, *options_.max_cost_usd);
      return fail(ErrorKind::kLimit, text);
    }

    if (options_.refresh_tools) {
      if (std::optional<std::vector<ToolDefinition>> refreshed = options_.refresh_tools()) {
        tools_ = std::move(*refreshed);
      }
    }
    prepare_request(request);
    const int64_t next_tokens = estimate_next_request_tokens(request);
    const auto condense_threshold = static_cast<int64_t>(
        static_cast<double>(options_.context_window_tokens) * options_.condense_at);
    if (messages_.size() > 2 && next_tokens > condense_threshold) {
      Status condensed = condense(request, next_tokens);
      if (!condensed.ok()) {
        if (condensed.error().kind == ErrorKind::kCancelled) {
          return finish(TaskStatus::kCancelled, condensed.error());
        }
        events_.notice("could not condense the conversation (" + condensed.error().message +
                       "); going on without");
      }
    }

    request.messages = messages_;
    ++outcome_.requests;
    llm::StreamCallbacks callbacks;
    callbacks.on_text = [this](std::string_view piece) { events_.text(piece); };
    Result<llm::ChatResponse> response = model_.send(request, callbacks);
    if (!response.ok()) {
      Error error = std::move(response).error();
      TaskStatus status =
          error.kind == ErrorKind::kCancelled ? TaskStatus::kCancelled : TaskStatus::kFailed;
      return finish(status, std::move(error));
    }
    add_usage(response->usage);
    append({llm::Role::kAssistant, response->text, response->tool_calls, {}});
    last_request_tokens_ = response->usage.input_tokens + response->usage.cache_read_tokens +
                           response->usage.cache_write_tokens + response->usage.output_tokens;
    messages_at_last_request_ = messages_.size();

    if (response->tool_calls.empty()) {
      if (++replies_without_tools >= 2) {
        return fail(ErrorKind::kProtocol,
                    "the model replied twice in a row without calling a tool, even after a "
                    "reminder; try a model that supports tool calling, or rephrase the task");
      }
      append({llm::Role::kUser, kNoToolReminder, {}, {}});
      continue;
    }
    replies_without_tools = 0;

    TurnResult turn = run_tool_calls(*response);
    // Kept even when the task ends here, so a resumed task has an answer to every call.
    append({llm::Role::kUser, "", {}, std::move(turn.results)});
    if (turn.completed) {
      outcome_.result = turn.completion_result;
      return finish(TaskStatus::kCompleted, Error());
    }
    if (turn.stop) {
      TaskStatus status = turn.stop->kind == ErrorKind::kCancelled ? TaskStatus::kCancelled
                                                                   : TaskStatus::kNeedsDecision;
      return finish(status, *turn.stop);
    }
  }
}

TaskLoop::TurnResult TaskLoop::run_tool_calls(const llm::ChatResponse& response) {
  TurnResult turn;
  for (const llm::ToolCall& call : response.tool_calls) {
    if (turn.completed || turn.stop) {
      // Calls after the task ended still need an answer to keep the conversation valid.
      turn.results.push_back({call.id, call.name, "Not run: the task already ended.", true});
      continue;
    }
    events_.tool_call(call.id, call.name, call.arguments);
    turn.results.push_back(run_one_tool(call, turn));
  }
  return turn;
}

llm::ToolResult TaskLoop::run_one_tool(const llm::ToolCall& call, TurnResult& turn) {
  auto tool_error = [&](const std::string& message) {
    events_.tool_result(call.id, call.name, false, first_line(message));
    return llm::ToolResult{call.id, call.name, "Error: " + message, true};
  };

  nlohmann::json args = parse_json(call.arguments.empty() ? "{}" : call.arguments);
  if (args.is_discarded()) {
    return tool_error("the arguments of " + call.name +
                      " are not valid JSON; send them again as one JSON object matching the "
                      "tool's schema");
  }
  if (!args.is_object()) {
    return tool_error("the arguments of " + call.name + " must be a JSON object, not " +
                      std::string(args.type_name()));
  }
  auto tool = std::find_if(tools_.begin(), tools_.end(), [&](const ToolDefinition& definition) {
    return definition.name == call.name;
  });
  if (tool == tools_.end()) {
    std::string names;
    for (const ToolDefinition& definition : tools_for_mode(options_.mode, tools_)) {
      names += (names.empty() ? "" : ", ") + definition.name;
    }
    return tool_error("there is no tool named '" + call.name + "'; the tools are: " + names);
  }
  if (!mode_allows_tool(options_.mode, *tool)) {
    return tool_error(tool_not_allowed_error(options_.mode, call.name).message);
  }
  if (tool->group == ToolGroup::kEdit) {
    if (Status allowed = check_edit_path(args); !allowed.ok())
      return tool_error(allowed.error().message);
  }
  if (auto hook = run_hook_command(options_.hooks.pre_tool, "pre_tool", &call, args, {})) {
    if (!hook->ok()) {
      if (hook->error().kind == ErrorKind::kCancelled) {
        turn.stop = hook->error();
        return tool_error(hook->error().message);
      }
      return tool_error("refused: the pre_tool hook could not run (" + hook->error().message + ")");
    }
    if (!(*hook)->allowed)
      return tool_error("refused by the user's pre_tool hook: " + (*hook)->reason);
  }
  if (call.name == kSwitchMode) return switch_mode(call, args, turn);
  if (call.name == kNewTask) return run_subtask(call, args, turn);

  if (call.name == kAttemptCompletion) {
    auto result = args.find("result");
    if (result == args.end() || !result->is_string()) {
      return tool_error("attempt_completion needs `result`, a string saying what was done");
    }
    turn.completed = true;
    turn.completion_result = result->get<std::string>();
    events_.tool_result(call.id, call.name, true, "task complete");
    return {call.id, call.name, "The task is complete.", false};
  }
  if (call.name == kUpdateTodoList) {
    auto todos = args.find("todos");
    if (todos == args.end() || !todos->is_string()) {
      return tool_error("update_todo_list needs `todos`, a Markdown checklist string");
    }
    todos_ = todos->get<std::string>();
    size_t total = 0;
    size_t done = count_checked(todos_, &total);
    events_.tool_result(
        call.id, call.name, true,
        "todo list: " + std::to_string(done) + "/" + std::to_string(total) + " done");
    return {call.id, call.name, "Todo list updated.", false};
  }
  if (call.name == kAskFollowupQuestion) {
    auto question = args.find("question");
    if (question == args.end() || !question->is_string()) {
      return tool_error("ask_followup_question needs `question`, a string");
    }
    if (options_.ask_user) {
      Result<std::string> answer = options_.ask_user(question->get<std::string>());
      if (!answer.ok()) {
        if (answer.error().kind == ErrorKind::kCancelled) turn.stop = answer.error();
        return tool_error(answer.error().message);
      }
      events_.tool_result(call.id, call.name, true, "the user answered");
      return {call.id, call.name, "The user answered: " + *answer, false};
    }
    if (options_.auto_approve) {
      events_.tool_result(call.id, call.name, true, "no user to answer; the model decides");
      return {call.id, call.name,
              "Nobody can answer: this task runs unattended. Make the most reasonable choice, "
              "state the assumption in your completion result, and continue.",
              false};
    }
    events_.approval_required(call.name, "question", question->get<std::string>());
    turn.stop =
        make_error(ErrorKind::kNeedsDecision, "the model asked a question that needs an answer: " +
                                                  question->get<std::string>());
    return {call.id, call.name, "Not answered.", true};
  }

  if (options_.before_change &&
      (tool->group == ToolGroup::kEdit || tool->group == ToolGroup::kCommand)) {
    const std::string* target =
        string_argument(args, tool->group == ToolGroup::kEdit ? "path" : "command");
    options_.before_change(options_.task_id,
                           call.name + (target ? " " + first_line(*target, 100) : ""));
  }
  Result<ToolOutput> output = tool->run(args, context_);
  if (!output.ok()) {
    const Error& error = output.error();
    if (error.kind == ErrorKind::kNeedsDecision || error.kind == ErrorKind::kCancelled) {
      turn.stop = error;
      events_.tool_result(call.id, call.name, false, first_line(error.message));
      return {call.id, call.name, "Error: " + error.message, true};
    }
    return tool_error(error.message);
  }
  events_.tool_result(call.id, call.name, true, output->summary);
  if (auto hook = run_hook_command(options_.hooks.post_tool, "post_tool", &call, args,
                                   output->content.substr(0, kHookResultCap))) {
    if (!hook->ok()) {
      events_.notice("the post_tool hook failed: " + hook->error().message);
    } else if (!(*hook)->allowed) {
      events_.notice("the post_tool hook: " + (*hook)->reason);
    }
  }
  return {call.id, call.name, std::move(output->content), false};
}

std::optional<Result<HookResult>> TaskLoop::run_hook_command(const std::string& command,
                                                             std::string_view hook,
                                                             const llm::ToolCall* call,
                                                             const nlohmann::json& args,
                                                             std::string_view result) {
  if (command.empty()) return std::nullopt;
  nlohmann::json event = hook_event(hook, call ? std::string_view(call->name) : std::string_view(),
                                    args, options_.task_id, options_.workspace, result);
  return run_hook(command, event, options_.workspace, options_.hooks.timeout, context_.cancel);
}

Status TaskLoop::check_edit_path(const nlohmann::json& args) const {
  const std::string* path = string_argument(args, "path");
  if (!path) return ok_status();  // the tool itself reports the missing field
  std::string relative = *path;
  if (context_.workspace) {
    Result<ResolvedPath> resolved = context_.workspace->resolve(*path);
    if (resolved.ok()) relative = context_.workspace->display(resolved->absolute);
  }
  return check_edit_allowed(options_.mode, relative);
}

llm::ToolResult TaskLoop::switch_mode(const llm::ToolCall& call, const nlohmann::json& args,
                                      TurnResult& turn) {
  auto failure = [&](const std::string& message) {
    events_.tool_result(call.id, call.name, false, first_line(message));
    return llm::ToolResult{call.id, call.name, "Error: " + message, true};
  };
  const std::string* slug = string_argument(args, "mode_slug");
  if (!slug) return failure("switch_mode needs `mode_slug`, a string");
  const std::string* reason = string_argument(args, "reason");
  Result<Mode> target = find_mode(options_.modes, *slug);
  if (!target.ok()) return failure(target.error().message);
  if (target->slug == options_.mode.slug) {
    events_.tool_result(call.id, call.name, true, "already in mode " + *slug);
    return {call.id, call.name, "Already in mode '" + *slug + "'.", false};
  }
  Status approved = context_.approvals
                        ? context_.approvals->request(
                              {ActionKind::kModeSwitch, call.name,
                               "switch from mode '" + options_.mode.slug + "' to '" + *slug + "'" +
                                   (reason ? ": " + *reason : std::string())})
                        : ok_status();
  if (!approved.ok()) {
    if (approved.error().kind == ErrorKind::kNeedsDecision) turn.stop = approved.error();
    return failure(approved.error().message);
  }
  options_.mode = std::move(target).value();
  events_.tool_result(call.id, call.name, true, "switched to mode " + options_.mode.slug);
  return {call.id, call.name,
          "Switched to mode '" + options_.mode.slug + "' (" + describe_groups(options_.mode) +
              "). Its instructions and tools apply from now on.",
          false};
}

llm::ToolResult TaskLoop::run_subtask(const llm::ToolCall& call, const nlohmann::json& args,
                                      TurnResult& turn) {
  auto failure = [&](const std::string& message) {
    events_.tool_result(call.id, call.name, false, first_line(message));
    return llm::ToolResult{call.id, call.name, "Error: " + message, true};
  };
  const std::string* slug = string_argument(args, "mode");
  const std::string* message = string_argument(args, "message");
  if (!slug || !message) return failure("new_task needs `mode` and `message`, both strings");
  if (depth_ >= kMaxSubtaskDepth) {
    return failure("subtasks may not nest more than " + std::to_string(kMaxSubtaskDepth) +
                   " deep; do this part yourself");
  }
  Result<Mode> target = find_mode(options_.modes, *slug);
  if (!target.ok()) return failure(target.error().message);
  Status approved = context_.approvals
                        ? context_.approvals->request({ActionKind::kSubtask, call.name,
                                                       "start a subtask in mode '" + *slug +
                                                           "': " + first_line(*message, 120)})
                        : ok_status();
  if (!approved.ok()) {
    if (approved.error().kind == ErrorKind::kNeedsDecision) turn.stop = approved.error();
    return failure(approved.error().message);
  }

  ++subtasks_started_;
  TaskOptions child = options_;
  child.task_id = options_.task_id + ".sub" + std::to_string(subtasks_started_);
  child.mode = std::move(target).value();
  child.prior_messages.clear();
  child.max_requests = std::max(1, options_.max_requests - outcome_.requests);
  if (options_.max_cost_usd && outcome_.totals.cost_usd) {
    child.max_cost_usd = std::max(0.0, *options_.max_cost_usd - *outcome_.totals.cost_usd);
  }
  SubtaskEvents child_events(events_);
  TaskLoop subtask(std::move(child), model_, child_events, context_, tools_);
  subtask.depth_ = depth_ + 1;
  TaskOutcome result = subtask.run(*message);
  tools_ = std::move(subtask.tools_);  // a change the subtask picked up is not announced again
  outcome_.requests += result.requests;
  add_usage(result.totals.usage);

  switch (result.status) {
    case TaskStatus::kCompleted:
      events_.tool_result(call.id, call.name, true, "subtask in mode " + *slug + " completed");
      return {call.id, call.name, "The subtask completed. Its result:\n" + result.result, false};
    case TaskStatus::kNeedsDecision:
    case TaskStatus::kCancelled:
      turn.stop = result.error;
      return failure("the subtask stopped: " + result.error.message);
    default:
      return failure("the subtask failed: " + result.error.message);
  }
}

}  // namespace joey::agent
