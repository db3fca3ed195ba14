#include "base/cancel.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

namespace joey {
namespace {

void handle_signal(int) {
  Cancellation& cancellation = Cancellation::global();
  if (cancellation.requested()) _exit(130);
  cancellation.request();
}

}  // namespace

Cancellation& Cancellation::global() {
  static Cancellation instance;
  return instance;
}

Cancellation::Cancellation() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0) {
    pipe_read_fd_ = fds[0];
    pipe_write_fd_ = fds[1];
  }
}

void Cancellation::install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = handle_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

void Cancellation::request() {
  flag_.store(true, std::memory_order_relaxed);
  if (pipe_write_fd_ >= 0) {
    char byte = 1;
    [[maybe_unused]] ssize_t written = write(pipe_write_fd_, &byte, 1);
  }
}

void Cancellation::reset() {
  flag_.store(false, std::memory_order_relaxed);
  if (pipe_read_fd_ >= 0) {
    char buffer[64];
    while (read(pipe_read_fd_, buffer, sizeof buffer) > 0) {
    }
  }
}

bool Cancellation::sleep_for(std::chrono::milliseconds duration) const {
  auto deadline = std::chrono::steady_clock::now() + duration;
  while (!requested()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return true;
    if (pipe_read_fd_ < 0) {
      usleep(static_cast<useconds_t>(std::min<long>(left.count(), 50) * 1000));
      continue;
    }
    pollfd wake{pipe_read_fd_, POLLIN, 0};
    poll(&wake, 1, static_cast<int>(left.count()));
  }
  return false;
}

}  // namespace joey
