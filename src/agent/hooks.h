// Hooks: shell commands from settings (hooks.pre_tool, hooks.post_tool,
// hooks.on_complete) that joey runs at points of a task, giving them the event as JSON
// on stdin. A pre_tool hook that exits non-zero refuses the tool call, and its stderr
// is the reason the model sees; post_tool and on_complete hooks only observe (their
// exit status is reported but changes nothing).
//
// Hooks are the user's own commands from their own settings: they run unsandboxed and
// without approval, as `/bin/sh -c COMMAND` in the workspace, in their own process
// group (killed as a whole on timeout), with JOEY_HOOK set to the hook's name.
//
// Thread-safety: run_hook is reentrant.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace joey::agent {

inline constexpr size_t kHookReasonCap = 2 * 1024;
inline constexpr std::chrono::milliseconds kDefaultHookTimeout{30'000};

// The hook commands a task runs (the hooks.* settings); an empty command is no hook.
//   pre_tool     before every tool call the mode allows (attempt_completion included,
//                so a hook can refuse completion until the tests pass)
//   post_tool    after every workspace tool ran (read, edit, command), with its result
//   on_complete  when the task (not a subtask) completes, with the completion result
struct HookCommands {
  std::string pre_tool;
  std::string post_tool;
  std::string on_complete;
  std::chrono::milliseconds timeout = kDefaultHookTimeout;
};

struct HookResult {
  bool allowed = true;  // exit status 0
  // Empty when allowed; else the hook's stderr, trimmed and capped at kHookReasonCap
  // bytes (valid UTF-8), or a sentence giving the exit status when stderr was empty.
  std::string reason;
};

// The event a hook receives:
//   {"hook": HOOK, "tool": TOOL, "arguments": {...}, "task_id": ID, "workspace": PATH}
// `tool` and `arguments` are left out when empty/null (on_complete), and `result` (the
// completion text or the tool's result summary) is added when given.
nlohmann::json hook_event(std::string_view hook, std::string_view tool,
                          const nlohmann::json& arguments, std::string_view task_id,
                          const std::filesystem::path& workspace, std::string_view result = {});

// Runs `command` with `event` (serialised) on stdin and waits for it. The hook is named
// by event["hook"] in errors. Errors: kInvalidArgument for an empty command, kIo when it
// cannot be started, kTimeout when it runs longer than `timeout` (it is then killed),
// kCancelled when *cancel becomes true. A non-zero exit or a signal is not an error:
// the result says allowed = false.
Result<HookResult> run_hook(const std::string& command, const nlohmann::json& event,
                            const std::filesystem::path& workspace,
                            std::chrono::milliseconds timeout = kDefaultHookTimeout,
                            const std::atomic<bool>* cancel = nullptr);

}  // namespace joey::agent
