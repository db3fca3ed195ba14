#include "agent/hooks.h"

#include "agent/file_tools.h"
#include "base/json.h"
#include "base/strings.h"
#include "base/subprocess.h"

namespace joey::agent {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr size_t kShownCommandBytes = 80;

std::string hook_name(const json& event) {
  const std::string* name = string_field(event, "hook");
  return name != nullptr && !name->empty() ? *name : "hook";
}

std::string describe(const std::string& name, const std::string& command) {
  std::string_view shown = utf8_prefix(command, kShownCommandBytes);
  return "the " + name + " hook `" + std::string(shown) +
         (shown.size() < command.size() ? "…" : "") + "`";
}

std::string refusal_reason(const std::string& label, const ProcessResult& result) {
  std::string_view stderr_text = trim(result.stderr_text);
  if (!stderr_text.empty()) {
    std::string_view capped = utf8_prefix(stderr_text, kHookReasonCap);
    return to_valid_utf8(trim(capped));
  }
  if (result.signaled) {
    return label + " was killed by signal " + std::to_string(result.signal_number);
  }
  return label + " exited with status " + std::to_string(result.exit_code);
}

}  // namespace

json hook_event(std::string_view hook, std::string_view tool, const json& arguments,
                std::string_view task_id, const fs::path& workspace, std::string_view result) {
  json event = {{"hook", hook}};
  if (!tool.empty()) event["tool"] = tool;
  if (!arguments.is_null()) event["arguments"] = arguments;
  event["task_id"] = task_id;
  event["workspace"] = workspace.string();
  if (!result.empty()) event["result"] = to_valid_utf8(result);
  return event;
}

Result<HookResult> run_hook(const std::string& command, const json& event,
                            const fs::path& workspace, std::chrono::milliseconds timeout,
                            const std::atomic<bool>* cancel) {
  std::string name = hook_name(event);
  std::string label = describe(name, command);
  if (trim(command).empty()) {
    return make_error(ErrorKind::kInvalidArgument, "the " + name + " hook command is empty");
  }
  ProcessOptions options;
  options.argv = {"/bin/sh", "-c", command};
  options.cwd = workspace.string();
  options.env = {{"JOEY_HOOK", name}};
  // Invalid UTF-8 in a tool argument must not stop the hook from running.
  options.stdin_data = event.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  options.timeout = timeout;
  options.output_cap_bytes = 4 * kHookReasonCap;
  options.cancel = cancel;
  auto result = run_process(options);
  if (!result.ok()) return result.error().with_context("starting " + label);
  if (result->cancelled) return make_error(ErrorKind::kCancelled, label + " was cancelled");
  if (result->timed_out) {
    return make_error(ErrorKind::kTimeout, label + " did not finish within " +
                                               std::to_string(timeout.count()) +
                                               " ms and was stopped");
  }
  HookResult hook_result;
  hook_result.allowed = !result->signaled && result->exit_code == 0;
  if (!hook_result.allowed) hook_result.reason = refusal_reason(label, *result);
  return hook_result;
}

}  // namespace joey::agent
