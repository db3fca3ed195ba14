#include "client/run_command.h"

#include <cstdio>

#include "client/exit_codes.h"

namespace joey::client {

int run_task(RunFlags flags) {
  if (flags.task.empty()) {
    std::fprintf(stderr, "joey: joey run needs a task, e.g. joey run \"fix the failing test\"\n");
    return kExitUsage;
  }
  std::string task = flags.task;
  Result<std::unique_ptr<AgentRuntime>> runtime =
      AgentRuntime::open(std::move(flags), [](const RunFlags& resolved) {
        return resolved.output == "json" ? agent::make_json_lines_events(stdout, stderr)
                                         : agent::make_text_events(stdout, stderr);
      });
  if (!runtime.ok()) return error_exit(runtime.error());
  AgentRuntime& agent = **runtime;
  Result<agent::TaskOptions> options = agent.task_options();
  if (!options.ok()) return error_exit(options.error());
  agent::HeadlessApprovalGate approvals(agent.approval_policy(), agent.events());
  agent::TaskLoop loop(std::move(options).value(), agent.model(), agent.events(),
                       agent.tool_context(approvals), agent.tools());
  agent::TaskOutcome outcome = loop.run(task);
  return agent::exit_code_for(outcome.status);
}

}  // namespace joey::client
