#include "agent/task_loop.h"

#include <gtest/gtest.h>

#include <deque>

#include "agent/approvals.h"
#include "agent/control_tools.h"

namespace joey::agent {
namespace {

// Plays back scripted model replies and records every request it was sent.
class ScriptedModel final : public llm::ModelClient {
 public:
  std::deque<Result<llm::ChatResponse>> replies;
  std::vector<llm::ChatRequest> requests;

  Result<llm::ChatResponse> send(const llm::ChatRequest& request,
                                 const llm::StreamCallbacks& callbacks) override {
    requests.push_back(request);
    if (replies.empty()) return make_error(ErrorKind::kServer, "script exhausted");
    Result<llm::ChatResponse> reply = replies.front();
    replies.pop_front();
    if (reply.ok() && callbacks.on_text && !reply->text.empty()) callbacks.on_text(reply->text);
    return reply;
  }
};

// Records events for assertions.
class RecordingEvents final : public EventSink {
 public:
  std::vector<std::string> log;
  void task_started(const std::string&, const std::string& mode, const std::string&,
                    const std::string&) override {
    log.push_back("started " + mode);
  }
  void text(std::string_view piece) override { log.push_back("text " + std::string(piece)); }
  void tool_call(const std::string&, const std::string& name, const std::string&) override {
    log.push_back("call " + name);
  }
  void tool_result(const std::string&, const std::string& name, bool ok,
                   const std::string& summary) override {
    log.push_back("result " + name + (ok ? " ok " : " failed ") + summary);
  }
  void command_output(std::string_view) override {}
  void approval_required(const std::string& tool, const std::string& kind,
                         const std::string&) override {
    log.push_back("approval " + tool + " " + kind);
  }
  void usage(const UsageTotals& totals) override {
    log.push_back("usage " + std::to_string(totals.usage.input_tokens));
    last_totals = totals;
  }
  void notice(const std::string& message) override { log.push_back("notice " + message); }
  void condensed(int64_t before, int64_t after) override {
    log.push_back("condensed " + std::to_string(before) + " " + std::to_string(after));
  }
  void error(const std::string& kind, const std::string& message) override {
    log.push_back("error " + kind + " " + message);
  }
  void completion(const std::string& result) override { log.push_back("completion " + result); }
  UsageTotals last_totals;
};

llm::ChatResponse reply_with_call(const std::string& name, const std::string& arguments,
                                  int64_t input_tokens = 100) {
  llm::ChatResponse response;
  response.tool_calls.push_back({"call_" + name, name, arguments});
  response.usage.input_tokens = input_tokens;
  response.stop_reason = "tool_use";
  return response;
}

llm::ChatResponse reply_with_text(const std::string& text) {
  llm::ChatResponse response;
  response.text = text;
  response.stop_reason = "end_turn";
  return response;
}

struct Harness {
  ScriptedModel model;
  RecordingEvents events;
  std::atomic<bool> cancel{false};
  int echo_runs = 0;
  TaskOptions options;

  Harness() {
    options.task_id = "t1";
    options.provider_name = "test";
    options.model = "m";
    options.modes = built_in_modes();
    options.mode = find_mode(options.modes, "code").value();
    options.system_prompt_for = [](const Mode& mode) { return "system for " + mode.slug; };
  }

  TaskOutcome run(bool auto_approve = true) {
    options.auto_approve = auto_approve;
    HeadlessApprovalGate gate(auto_approve, events);
    ToolContext context;
    context.approvals = &gate;
    context.cancel = &cancel;
    std::vector<ToolDefinition> tools = control_tools();
    tools.push_back(
        {"echo", "echo", nlohmann::json{{"type", "object"}},
         [this](const nlohmann::json& args, ToolContext& tool_context) -> Result<ToolOutput> {
           ++echo_runs;
           if (!args.contains("text") || !args["text"].is_string()) {
             return make_error(ErrorKind::kInvalidArgument, "echo needs `text`");
           }
           if (args.value("write", false)) {
             TRY(tool_context.approvals->request({ActionKind::kWrite, "echo", "write"}));
           }
           return ToolOutput{"echo: " + args["text"].get<std::string>(), "echoed"};
         }});
    TaskLoop loop(options, model, events, context, tools);
    return loop.run("do the thing");
  }
};

TEST(TaskLoop, RunsToolsUntilAttemptCompletion) {
  Harness harness;
  harness.model.replies.push_back(reply_with_call("echo", R"({"text":"hi"})"));
  harness.model.replies.push_back(
      reply_with_call("attempt_completion", R"({"result":"all done"})"));
  TaskOutcome outcome = harness.run();
  EXPECT_EQ(outcome.status, TaskStatus::kCompleted);
  EXPECT_EQ(outcome.result, "all done");
  EXPECT_EQ(exit_code_for(outcome.status), 0);
  ASSERT_EQ(harness.model.requests.size(), 2u);
  // The second request carries the tool's result back to the model.
  const llm::Message& last = harness.model.requests[1].messages.back();
  ASSERT_EQ(last.tool_results.size(), 1u);
  EXPECT_EQ(last.tool_results[0].content, "echo: hi");
  EXPECT_FALSE(last.tool_results[0].is_error);
  EXPECT_EQ(harness.events.log.back(), "completion all done");
  EXPECT_EQ(outcome.totals.usage.input_tokens, 200);
}

TEST(TaskLoop, InvalidJsonArgumentsGoBackToTheModelAsAToolError) {
  Harness harness;
  harness.model.replies.push_back(reply_with_call("echo", R"({"text": "unterminated)"));
  harness.model.replies.push_back(reply_with_call("echo", R"({"nottext": 1})"));
  harness.model.replies.push_back(reply_with_call("attempt_completion", R"({"result":"ok"})"));
  TaskOutcome outcome = harness.run();
  EXPECT_EQ(outcome.status, TaskStatus::kCompleted);
  const llm::ToolResult& bad_json = harness.model.requests[1].messages.back().tool_results.at(0);
  EXPECT_TRUE(bad_json.is_error);
  EXPECT_NE(bad_json.content.find("not valid JSON"), std::string::npos);
  const llm::ToolResult& missing = harness.model.requests[2].messages.back().tool_results.at(0);
  EXPECT_TRUE(missing.is_error);
  EXPECT_NE(missing.content.find("`text`"), std::string::npos);
  EXPECT_EQ(harness.echo_runs, 1);  // never run with unparseable arguments
}

TEST(TaskLoop, UnknownToolIsReportedWithTheToolList) {
  Harness harness;
  harness.model.replies.push_back(reply_with_call("delete_everything", "{}"));
  harness.model.replies.push_back(reply_with_call("attempt_completion", R"({"result":"ok"})"));
  EXPECT_EQ(harness.run().status, TaskStatus::kCompleted);
  const llm::ToolResult& result = harness.model.requests[1].messages.back().tool_results.at(0);
  EXPECT_TRUE(result.is_error);
  EXPECT_NE(result.content.find("attempt_completion"), std::string::npos);
}

TEST(TaskLoop, OneReminderThenFailsWhenNoToolIsCalled) {
  Harness harness;
  harness.model.replies.push_back(reply_with_text("I think it is fine."));
  harness.model.replies.push_back(reply_with_text("Still fine."));
  TaskOutcome outcome = harness.run();
  EXPECT_EQ(outcome.status, TaskStatus::kFailed);
  ASSERT_EQ(harness.model.requests.size(), 2u);
  EXPECT_NE(harness.model.requests[1].messages.back().text.find("did not call a tool"),
            std::string::npos);
  EXPECT_NE(outcome.error.message.find("without calling a tool"), std::string::npos);
}

TEST(TaskLoop, ReminderThenRecovery) {
  Harness harness;
  harness.model.replies.push_back(reply_with_text("Thinking."));
  harness.model.replies.push_back(reply_with_call("attempt_completion", R"({"result":"ok"})"));
  EXPECT_EQ(harness.run().status, TaskStatus::kCompleted);
}

TEST(TaskLoop, MaxRequestsStopsTheTask) {
  Harness harness;
  harness.options.max_requests = 2;
  for (int i = 0; i < 5; ++i)
    harness.model.replies.push_back(reply_with_call("echo", R"({"text":"x"})"));
  TaskOutcome outcome = harness.run();
  EXPECT_EQ(outcome.status, TaskStatus::kFailed);
  EXPECT_EQ(outcome.error.kind, ErrorKind::kLimit);
  EXPECT_NE(outcome.error.message.find("--max-requests 2"), std::string::npos);
  EXPECT_EQ(harness.model.requests.size(), 2u);
}

TEST(TaskLoop, MaxCostStopsTheTaskBeforeTheNextRequest) {
  Harness harness;
  harness.options.price = llm::ModelPrice{1e-3, 0, 0, 0};  // $0.001 a token
  harness.options.max_cost_usd = 0.15;
  for (int i = 0; i < 5; ++i)
    harness.model.replies.push_back(reply_with_call("echo", R"({"text":"x"})"));
  TaskOutcome outcome = harness.run();  // each reply costs $0.10
  EXPECT_EQ(outcome.status, TaskStatus::kFailed);
  EXPECT_EQ(outcome.error.kind, ErrorKind::kLimit);
  EXPECT_NE(outcome.error.message.find("--max-cost"), std::string::npos);
  EXPECT_EQ(harness.model.requests.size(), 2u);
  ASSERT_TRUE(harness.events.last_totals.cost_usd.has_value());
  EXPECT_NEAR(*harness.events.last_totals.cost_usd, 0.2, 1e-9);
}

TEST(TaskLoop, UnknownPriceReportsNullCost) {
  Harness harness;
  harness.model.replies.push_back(reply_with_call("attempt_completion", R"({"result":"ok"})"));
  harness.run();
  EXPECT_FALSE(harness.events.last_totals.cost_usd.has_value());
}

TEST(TaskLoop, WriteWithoutApprovalStopsForADecision) {
  Harness harness;
  harness.model.replies.push_back(reply_with_call("echo", R"({"text":"x","write":true})"));
  TaskOutcome outcome = harness.run(/*auto_approve=*/false);
  EXPECT_EQ(outcome.status, TaskStatus::kNeedsDecision);
  EXPECT_EQ(exit_code_for(outcome.status), 3);
  EXPECT_NE(std::find(harness.events.log.begin(), harness.events.log.end(), "approval echo write"),
            harness.events.log.end());
}

TEST(TaskLoop, QuestionStopsHeadlessRunWithoutYes) {
  Harness harness;
  harness.model.replies.push_back(
      reply_with_call("ask_followup_question", R"({"question":"Which?"})"));
  EXPECT_EQ(harness.run(false).status, TaskStatus::kNeedsDecision);
}

TEST(TaskLoop, QuestionUnderYesIsAnsweredDecideYourself) {
  Harness harness;
  harness.model.replies.push_back(
      reply_with_call("ask_followup_question", R"({"question":"Which?"})"));
  harness.model.replies.push_back(reply_with_call("attempt_completion", R"({"result":"ok"})"));
  EXPECT_EQ(harness.run(true).status, TaskStatus::kCompleted);
  EXPECT_NE(harness.model.requests[1].messages.back().tool_results.at(0).content.find("unattended"),
            std::string::npos);
}

TEST(TaskLoop, ModelErrorFailsTheTaskWithItsMessage) {
  Harness harness;
  harness.model.replies.push_back(make_error(ErrorKind::kAuth, "rejected the API key"));
  TaskOutcome outcome = harness.run();
  EXPECT_EQ(outcome.status, TaskStatus::kFailed);
  EXPECT_EQ(harness.events.log.back(), "error auth rejected the API key");
}

TEST(TaskLoop, CancelledModelRequestEndsAsCancelled) {
  Harness harness;
  harness.model.replies.push_back(make_error(ErrorKind::kCancelled, "cancelled"));
  TaskOutcome outcome = harness.run();
  EXPECT_EQ(outcome.status, TaskStatus::kCancelled);
  EXPECT_EQ(exit_code_for(outcome.status), 130);
}

TEST(TaskLoop, TodoListIsCounted) {
  Harness harness;
  harness.model.replies.push_back(
      reply_with_call("update_todo_list", R"({"todos":"[x] one\n[ ] two\n[-] three"})"));
  harness.model.replies.push_back(reply_with_call("attempt_completion", R"({"result":"ok"})"));
  harness.run();
  EXPECT_NE(std::find(harness.events.log.begin(), harness.events.log.end(),
                      "result update_todo_list ok todo list: 1/3 done"),
            harness.events.log.end());
}

}  // namespace
}  // namespace joey::agent

namespace joey::agent {
namespace {

class RecordingRecorder final : public TaskRecorder {
 public:
  std::vector<std::string> log;
  std::vector<llm::Message> messages;
  void task_started(const TaskInfo& info) override { log.push_back("started " + info.task); }
  void message_added(const std::string&, const llm::Message& message) override {
    messages.push_back(message);
  }
  void usage_updated(const std::string&, const UsageTotals& totals, int requests) override {
    log.push_back("usage " + std::to_string(totals.usage.input_tokens) + " after " +
                  std::to_string(requests));
  }
  void task_finished(const std::string&, TaskStatus status, const std::string& detail) override {
    log.push_back(std::string("finished ") + task_status_name(status) + " " + detail);
  }
};

TEST(TaskLoop, RecorderSeesEveryMessageAndTheEnd) {
  Harness harness;
  RecordingRecorder recorder;
  harness.options.recorder = &recorder;
  harness.model.replies.push_back(reply_with_call("echo", R"({"text":"hi"})"));
  harness.model.replies.push_back(reply_with_call("attempt_completion", R"({"result":"done"})"));
  harness.run();
  // task, call, results, completion call, its result
  ASSERT_EQ(recorder.messages.size(), 5u);
  EXPECT_EQ(recorder.messages[0].text, "do the thing");
  EXPECT_EQ(recorder.messages[2].tool_results.at(0).content, "echo: hi");
  EXPECT_EQ(recorder.log.front(), "started do the thing");
  EXPECT_EQ(recorder.log.back(), "finished completed done");
  EXPECT_EQ(recorder.log[1], "usage 100 after 1");
}

TEST(TaskLoop, ResumedTaskCarriesEarlierMessagesAndAnswersDanglingCalls) {
  Harness harness;
  harness.options.prior_messages = {
      {llm::Role::kUser, "first request", {}, {}},
      {llm::Role::kAssistant, "", {{"call_old", "echo", R"({"text":"x"})"}}, {}},
  };
  harness.model.replies.push_back(reply_with_call("attempt_completion", R"({"result":"ok"})"));
  EXPECT_EQ(harness.run().status, TaskStatus::kCompleted);
  const std::vector<llm::Message>& sent = harness.model.requests.at(0).messages;
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent[0].text, "first request");
  ASSERT_EQ(sent[2].tool_results.size(), 1u);
  EXPECT_EQ(sent[2].tool_results[0].tool_call_id, "call_old");
  EXPECT_TRUE(sent[2].tool_results[0].is_error);
  EXPECT_EQ(sent[3].text, "do the thing");
}

}  // namespace
}  // namespace joey::agent

namespace joey::agent {
namespace {

TEST(TaskLoop, CondensesOlderTurnsNearTheContextWindow) {
  Harness harness;
  harness.options.context_window_tokens = 1000;
  harness.model.replies.push_back(
      reply_with_call("update_todo_list", R"({"todos":"[x] read\n[ ] fix"})"));
  harness.model.replies.push_back(
      reply_with_call("echo", R"({"text":"big"})", /*input_tokens=*/900));
  harness.model.replies.push_back(reply_with_text("SUMMARY: read the code, fix remains"));
  harness.model.replies.push_back(reply_with_call("attempt_completion", R"({"result":"ok"})"));
  EXPECT_EQ(harness.run().status, TaskStatus::kCompleted);
  ASSERT_EQ(harness.model.requests.size(), 4u);
  const llm::ChatRequest& summary_request = harness.model.requests[2];
  EXPECT_TRUE(summary_request.tools.empty());
  EXPECT_NE(summary_request.messages.back().text.find("context window"), std::string::npos);
  EXPECT_NE(summary_request.messages.back().text.find("[ ] fix"), std::string::npos);
  const std::vector<llm::Message>& after = harness.model.requests[3].messages;
  ASSERT_EQ(after.size(), 4u);  // task, summary, last call, its result
  EXPECT_EQ(after[0].text, "do the thing");
  EXPECT_NE(after[1].text.find("SUMMARY: read the code"), std::string::npos);
  EXPECT_NE(after[1].text.find("[ ] fix"), std::string::npos);
  EXPECT_EQ(after[2].tool_calls.at(0).name, "echo");
  EXPECT_EQ(after[3].tool_results.at(0).content, "echo: big");
  EXPECT_TRUE(
      std::any_of(harness.events.log.begin(), harness.events.log.end(),
                  [](const std::string& line) { return line.rfind("condensed ", 0) == 0; }));
}

TEST(TaskLoop, SmallConversationsAreNeverCondensed) {
  Harness harness;
  harness.model.replies.push_back(reply_with_call("echo", R"({"text":"hi"})", 100));
  harness.model.replies.push_back(reply_with_call("attempt_completion", R"({"result":"ok"})"));
  harness.run();
  for (const llm::ChatRequest& request : harness.model.requests)
    EXPECT_FALSE(request.tools.empty());
}

}  // namespace
}  // namespace joey::agent

namespace joey::agent {
namespace {

std::vector<std::string> offered_tools(const llm::ChatRequest& request) {
  std::vector<std::string> names;
  for (const llm::ToolSpec& tool : request.tools) names.push_back(tool.name);
  return names;
}

TEST(TaskLoop, SwitchModeChangesPromptAndTools) {
  Harness harness;
  harness.options.mode = find_mode(harness.options.modes, "ask").value();
  harness.model.replies.push_back(
      reply_with_call("switch_mode", R"({"mode_slug":"code","reason":"need to edit"})"));
  harness.model.replies.push_back(reply_with_call("attempt_completion", R"({"result":"ok"})"));
  EXPECT_EQ(harness.run(/*auto_approve=*/true).status, TaskStatus::kCompleted);
  EXPECT_EQ(harness.model.requests[0].system_prompt, "system for ask");
  EXPECT_EQ(harness.model.requests[1].system_prompt, "system for code");
  // No workspace tools in this harness; the modes group is what differs.
  std::vector<std::string> ask_tools = offered_tools(harness.model.requests[0]);
  EXPECT_EQ(std::count(ask_tools.begin(), ask_tools.end(), "switch_mode"), 1);
  EXPECT_EQ(std::count(ask_tools.begin(), ask_tools.end(), "new_task"), 0);
}

TEST(TaskLoop, SwitchModeWithoutApprovalStopsForADecision) {
  Harness harness;
  harness.options.modes = built_in_modes();
  Mode orchestrator = find_mode(harness.options.modes, "orchestrator").value();
  harness.options.mode = orchestrator;
  harness.model.replies.push_back(
      reply_with_call("switch_mode", R"({"mode_slug":"code","reason":"edit"})"));
  EXPECT_EQ(harness.run(/*auto_approve=*/false).status, TaskStatus::kNeedsDecision);
}

TEST(TaskLoop, ToolOutsideTheModeIsRefusedNamingTheMode) {
  Harness harness;
  harness.options.mode = find_mode(harness.options.modes, "ask").value();
  harness.model.replies.push_back(reply_with_call("new_task", R"({"mode":"code","message":"x"})"));
  harness.model.replies.push_back(reply_with_call("attempt_completion", R"({"result":"ok"})"));
  harness.run();
  const llm::ToolResult& refused = harness.model.requests[1].messages.back().tool_results.at(0);
  EXPECT_TRUE(refused.is_error);
  EXPECT_NE(refused.content.find("ask"), std::string::npos);
}

TEST(TaskLoop, OrchestratorSubtaskResultReturnsToTheParent) {
  Harness harness;
  harness.options.mode = find_mode(harness.options.modes, "orchestrator").value();
  harness.model.replies.push_back(
      reply_with_call("new_task", R"({"mode":"code","message":"write the parser"})", 10));
  harness.model.replies.push_back(
      reply_with_call("attempt_completion", R"({"result":"parser written"})", 20));
  harness.model.replies.push_back(
      reply_with_call("attempt_completion", R"({"result":"all done"})", 30));
  TaskOutcome outcome = harness.run(/*auto_approve=*/true);
  EXPECT_EQ(outcome.status, TaskStatus::kCompleted);
  EXPECT_EQ(outcome.result, "all done");
  ASSERT_EQ(harness.model.requests.size(), 3u);
  // The subtask ran in its own context: only its message, in code mode.
  EXPECT_EQ(harness.model.requests[1].messages.size(), 1u);
  EXPECT_EQ(harness.model.requests[1].messages[0].text, "write the parser");
  EXPECT_EQ(harness.model.requests[1].system_prompt, "system for code");
  const llm::ToolResult& returned = harness.model.requests[2].messages.back().tool_results.at(0);
  EXPECT_NE(returned.content.find("parser written"), std::string::npos);
  EXPECT_EQ(outcome.totals.usage.input_tokens, 60);  // the subtask's usage counts
  EXPECT_EQ(outcome.requests, 3);
  // Only the outer task completes.
  EXPECT_EQ(std::count_if(harness.events.log.begin(), harness.events.log.end(),
                          [](const std::string& line) { return line.rfind("completion", 0) == 0; }),
            1);
}

// A tool with no behaviour beyond its name, as an MCP server might add mid-task.
ToolDefinition plain_tool(const std::string& name) {
  return {name, name, nlohmann::json{{"type", "object"}},
          [name](const nlohmann::json&, ToolContext&) -> Result<ToolOutput> {
            return ToolOutput{"ran " + name, name};
          }};
}

TEST(TaskLoop, RefreshedToolsAreOfferedFromTheNextRequest) {
  Harness harness;
  int refreshes = 0;
  harness.options.refresh_tools = [&]() -> std::optional<std::vector<ToolDefinition>> {
    ++refreshes;
    if (harness.echo_runs == 0 || refreshes > 2) return std::nullopt;
    std::vector<ToolDefinition> tools = control_tools();  // echo is gone, added is new
    tools.push_back(plain_tool("added"));
    return tools;
  };
  harness.model.replies.push_back(reply_with_call("echo", R"({"text":"hi"})"));
  harness.model.replies.push_back(reply_with_call("added", "{}"));
  harness.model.replies.push_back(reply_with_call("attempt_completion", R"({"result":"ok"})"));
  EXPECT_EQ(harness.run().status, TaskStatus::kCompleted);
  ASSERT_EQ(harness.model.requests.size(), 3u);
  EXPECT_EQ(refreshes, 3);  // before every request
  std::vector<std::string> first = offered_tools(harness.model.requests[0]);
  std::vector<std::string> second = offered_tools(harness.model.requests[1]);
  EXPECT_EQ(std::count(first.begin(), first.end(), "echo"), 1);
  EXPECT_EQ(std::count(first.begin(), first.end(), "added"), 0);
  EXPECT_EQ(std::count(second.begin(), second.end(), "echo"), 0);
  EXPECT_EQ(std::count(second.begin(), second.end(), "added"), 1);
  const llm::ToolResult& ran = harness.model.requests[2].messages.back().tool_results.at(0);
  EXPECT_FALSE(ran.is_error) << ran.content;
  EXPECT_EQ(ran.content, "ran added");
}

TEST(TaskLoop, ToolsASubtaskRefreshedStayWithTheParent) {
  Harness harness;
  harness.options.mode = find_mode(harness.options.modes, "orchestrator").value();
  int refreshes = 0;
  harness.options.refresh_tools = [&]() -> std::optional<std::vector<ToolDefinition>> {
    // Only the second call — the subtask's first request — sees a change.
    if (++refreshes != 2) return std::nullopt;
    std::vector<ToolDefinition> tools = control_tools();
    tools.push_back(plain_tool("added"));
    return tools;
  };
  harness.model.replies.push_back(reply_with_call("new_task", R"({"mode":"code","message":"x"})"));
  harness.model.replies.push_back(reply_with_call("attempt_completion", R"({"result":"sub"})"));
  harness.model.replies.push_back(reply_with_call("attempt_completion", R"({"result":"ok"})"));
  EXPECT_EQ(harness.run().status, TaskStatus::kCompleted);
  ASSERT_EQ(harness.model.requests.size(), 3u);
  std::vector<std::string> first = offered_tools(harness.model.requests[0]);
  std::vector<std::string> last = offered_tools(harness.model.requests[2]);
  EXPECT_EQ(std::count(first.begin(), first.end(), "added"), 0);
  EXPECT_EQ(std::count(last.begin(), last.end(), "added"), 1);
}

}  // namespace
}  // namespace joey::agent
