// Running a child process: the one way joey spawns anything (commands the model asks
// for, ripgrep, git). The child gets its own process group so a timeout or Ctrl-C
// kills it and everything it started. Output is captured up to a cap that keeps the
// head and the tail, since the end of a long build log is usually what matters.
//
// Thread-safety: run_process is reentrant; callbacks run on the calling thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace joey {

struct ProcessOptions {
  std::vector<std::string> argv;  // argv[0] is looked up on PATH when it has no '/'
  std::string cwd;                // empty: inherit
  // Extra or overriding environment variables; the rest of the environment is inherited.
  std::map<std::string, std::string> env;
  // Inherited variables left out of the child's environment (e.g. provider keys).
  std::vector<std::string> unset_env;
  std::optional<std::string> stdin_data;  // nullopt: stdin is /dev/null
  std::chrono::milliseconds timeout{0};   // 0: no timeout
  size_t output_cap_bytes = 1 << 20;      // per stream; head and tail are kept
  // Called with each chunk as it arrives (before capping), for streaming to the user.
  std::function<void(std::string_view chunk, bool is_stderr)> on_output;
  // Polled while the child runs; when it becomes true the process group is killed.
  const std::atomic<bool>* cancel = nullptr;
  // Polled like `cancel`, but for a caller that has read all it wants (e.g. a search
  // that reached its match limit): the group is killed and the result says `stopped`.
  const std::atomic<bool>* stop = nullptr;
};

struct ProcessResult {
  int exit_code = -1;     // valid when !signaled
  bool signaled = false;  // ended by a signal
  int signal_number = 0;
  bool timed_out = false;   // killed because the timeout passed
  bool cancelled = false;   // killed because *cancel became true
  bool stopped = false;     // killed because *stop became true
  std::string stdout_text;  // capped: head + "\n[... N bytes omitted ...]\n" + tail
  std::string stderr_text;
  size_t stdout_total_bytes = 0;  // before capping
  size_t stderr_total_bytes = 0;
};

// Spawns with posix_spawn in a new process group, waits for it, and kills the whole
// group (SIGTERM, then SIGKILL after a grace period) on timeout or cancel.
// An Error means the process could not be started (e.g. kNotFound for a missing
// program); a non-zero exit is not an error.
Result<ProcessResult> run_process(const ProcessOptions& options);

// Keeps at most `cap` bytes of `text`: the first half and the last half, with a
// marker saying how many bytes were omitted in between.
std::string cap_head_tail(std::string_view text, size_t cap);

}  // namespace joey
