// Cancellation of the running task by Ctrl-C (SIGINT) or SIGTERM.
//
// The signal handler only sets an atomic flag and writes one byte to a pipe, both
// async-signal-safe. Code that waits (the HTTP transport, backoff sleeps) polls
// wake_fd() beside its own descriptors so it notices at once; code that loops polls
// requested(). A second signal while a cancellation is pending ends the process
// immediately with status 130.
#pragma once

#include <atomic>
#include <chrono>

namespace joey {

class Cancellation {
 public:
  // The process-wide instance the signal handlers use.
  static Cancellation& global();

  // Installs SIGINT and SIGTERM handlers that call request(). Idempotent.
  void install_signal_handlers();

  void request();
  // Clears a handled cancellation (the interactive session, once the cancelled task
  // has ended): the flag goes false and the wake pipe is drained.
  void reset();
  bool requested() const { return flag_.load(std::memory_order_relaxed); }
  const std::atomic<bool>* flag() const { return &flag_; }

  // Readable once cancellation was requested; -1 if the pipe could not be made.
  int wake_fd() const { return pipe_read_fd_; }

  // Sleeps up to `duration`; returns false early if cancellation is requested.
  bool sleep_for(std::chrono::milliseconds duration) const;

  Cancellation();
  Cancellation(const Cancellation&) = delete;
  Cancellation& operator=(const Cancellation&) = delete;

 private:
  std::atomic<bool> flag_{false};
  int pipe_read_fd_ = -1;
  int pipe_write_fd_ = -1;
};

}  // namespace joey
