// Implementation notes:
// - Spawning mirrors base/subprocess.cpp (posix_spawn, POSIX_SPAWN_SETPGROUP, default
//   signal dispositions, O_CLOEXEC pipes), but keeps the pipes open for the life of
//   the server instead of waiting for it to end.
// - The leader is never reaped before shutdown() (exits are observed with
//   waitid(WNOWAIT)), so kill(-pid) cannot reach a recycled process group.
// - Writes to stdin are non-blocking and polled up to the request deadline, so a server
//   that stops reading cannot hang joey; SIGPIPE is blocked on the writing thread.
#include "mcp/stdio_transport.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "base/json.h"
#include "base/log.h"
#include "base/spawn_support.h"

namespace joey::mcp {
namespace {

constexpr size_t kReadChunkBytes = 65536;
constexpr auto kCloseGrace = std::chrono::seconds(2);
constexpr auto kTermGrace = std::chrono::seconds(2);
constexpr auto kPollSlice = std::chrono::milliseconds(20);
// After stdout closes, stderr is still read this long for the server's last words.
constexpr auto kStderrDrain = std::chrono::milliseconds(300);

void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

bool has_nul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

// True once the child exited (it stays a zombie until reaped).
bool child_exited(int pid) {
  siginfo_t info{};
  if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    return errno != EINTR;
  }
  return info.si_pid == pid;
}

bool wait_for_exit(int pid, std::chrono::milliseconds budget) {
  const auto until = Clock::now() + budget;
  while (true) {
    if (child_exited(pid)) return true;
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(kPollSlice);
  }
}

}  // namespace

StdioTransport::StdioTransport(ServerConfig config) : config_(std::move(config)) {}

StdioTransport::~StdioTransport() { shutdown(); }

Status StdioTransport::start(TransportHandlers handlers) {
  handlers_ = std::move(handlers);
  const std::string& name = config_.name;
  if (config_.command.empty()) {
    return make_error(ErrorKind::kInvalidArgument, "the MCP server " + name + " has no command");
  }
  std::vector<std::string> argv_strings = {config_.command};
  argv_strings.insert(argv_strings.end(), config_.args.begin(), config_.args.end());
  for (const std::string& argument : argv_strings) {
    if (has_nul(argument)) {
      return make_error(ErrorKind::kInvalidArgument,
                        "the MCP server " + name + " has an argument with a NUL byte");
    }
  }
  for (const auto& [key, value] : config_.env) {
    if (key.empty() || key.find('=') != std::string::npos || has_nul(key) || has_nul(value)) {
      return make_error(
          ErrorKind::kInvalidArgument,
          "the MCP server " + name + " has an invalid environment variable '" + key + "'");
    }
  }
  if (!config_.cwd.empty()) {
    struct stat info {};
    if (stat(config_.cwd.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
      return make_error(ErrorKind::kNotFound, "the MCP server " + name + ": working directory " +
                                                  config_.cwd + " is not a directory");
    }
  }
  const std::string& program = config_.command;
  const bool search_path = program.find('/') == std::string::npos;
  std::string executable = program;
  const auto path_override = config_.env.find("PATH");
  if (search_path && path_override != config_.env.end()) {
    executable = find_on_path(program, path_override->second);
    if (executable.empty()) {
      return make_error(ErrorKind::kNotFound,
                        "the MCP server " + name + ": program '" + program + "' not found on PATH");
    }
  }

  int in_pipe[2] = {-1, -1};
  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  int wake_pipe[2] = {-1, -1};
  auto close_all = [&] {
    for (int* pair : {in_pipe, out_pipe, err_pipe, wake_pipe}) {
      close_fd(pair[0]);
      close_fd(pair[1]);
    }
  };
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0 ||
      pipe2(err_pipe, O_CLOEXEC) != 0 || pipe2(wake_pipe, O_CLOEXEC) != 0) {
    const int saved = errno;
    close_all();
    return make_error(ErrorKind::kIo,
                      "the MCP server " + name + ": creating pipes: " + std::strerror(saved));
  }

  SpawnSetup setup;
  posix_spawn_file_actions_adddup2(setup.actions(), in_pipe[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(setup.actions(), out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(setup.actions(), err_pipe[1], STDERR_FILENO);
  if (!config_.cwd.empty()) {
    posix_spawn_file_actions_addchdir_np(setup.actions(), config_.cwd.c_str());
  }
  sigset_t no_signals;
  sigemptyset(&no_signals);
  sigset_t default_signals;
  sigfillset(&default_signals);
  sigdelset(&default_signals, SIGKILL);
  sigdelset(&default_signals, SIGSTOP);
  posix_spawnattr_setflags(setup.attributes(),
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(setup.attributes(), 0);
  posix_spawnattr_setsigmask(setup.attributes(), &no_signals);
  posix_spawnattr_setsigdefault(setup.attributes(), &default_signals);

  std::vector<char*> argv = to_pointer_array(argv_strings);
  std::vector<std::string> env_strings = build_environment(config_.env, config_.unset_env);
  std::vector<char*> envp = to_pointer_array(env_strings);
  pid_t pid = -1;
  const bool use_spawnp = search_path && path_override == config_.env.end();
  const int spawn_error = use_spawnp ? posix_spawnp(&pid, executable.c_str(), setup.actions(),
                                                    setup.attributes(), argv.data(), envp.data())
                                     : posix_spawn(&pid, executable.c_str(), setup.actions(),
                                                   setup.attributes(), argv.data(), envp.data());
  if (spawn_error != 0) {
    close_all();
    if (spawn_error == ENOENT) {
      return make_error(ErrorKind::kNotFound, "the MCP server " + name + ": program '" + program +
                                                  "' not found" + (search_path ? " on PATH" : ""));
    }
    return make_error(ErrorKind::kIo, "the MCP server " + name + ": starting '" + program +
                                          "': " + std::strerror(spawn_error));
  }
  pid_ = pid;
  close_fd(in_pipe[0]);
  close_fd(out_pipe[1]);
  close_fd(err_pipe[1]);
  stdin_fd_ = std::exchange(in_pipe[1], -1);
  stdout_fd_ = std::exchange(out_pipe[0], -1);
  stderr_fd_ = std::exchange(err_pipe[0], -1);
  wake_read_fd_ = std::exchange(wake_pipe[0], -1);
  wake_write_fd_ = std::exchange(wake_pipe[1], -1);
  for (int fd : {stdin_fd_, stdout_fd_, stderr_fd_, wake_read_fd_}) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  alive_ = true;
  log::debug("mcp_server_started", {log::field("server", name), log::field("pid", pid)});
  reader_ = std::thread([this] { reader_loop(); });
  return ok_status();
}

Status StdioTransport::send(const std::string& text, const std::optional<RequestId>& /*awaited*/,
                            Clock::time_point deadline, const std::atomic<bool>* cancel) {
  std::lock_guard lock(write_mutex_);
  if (stdin_fd_ < 0 || !alive_) {
    return make_error(ErrorKind::kIo, "the MCP server " + config_.name + " is not running");
  }
  SigpipeBlocker sigpipe_blocker;
  const std::string line = text + "\n";
  size_t written = 0;
  while (written < line.size()) {
    const ssize_t count = write(stdin_fd_, line.data() + written, line.size() - written);
    if (count > 0) {
      written += static_cast<size_t>(count);
      continue;
    }
    if (count < 0 && errno == EINTR) continue;
    if (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      return make_error(ErrorKind::kIo, "the MCP server " + config_.name +
                                            " stopped reading its input: " + std::strerror(errno));
    }
    if (cancel && cancel->load()) {
      return make_error(ErrorKind::kCancelled,
                        "cancelled while writing to the MCP server " + config_.name);
    }
    if (Clock::now() >= deadline) {
      return make_error(ErrorKind::kTimeout,
                        "the MCP server " + config_.name + " did not read its input in time");
    }
    pollfd fd{stdin_fd_, POLLOUT, 0};
    poll(&fd, 1, static_cast<int>(kPollSlice.count()));
  }
  return ok_status();
}

void StdioTransport::reader_loop() {
  char chunk[kReadChunkBytes];
  std::optional<Clock::time_point> drain_until;
  while (true) {
    if (drain_until && Clock::now() >= *drain_until) break;
    pollfd fds[3];
    nfds_t count = 0;
    if (stdout_fd_ >= 0) fds[count++] = {stdout_fd_, POLLIN, 0};
    if (stderr_fd_ >= 0) fds[count++] = {stderr_fd_, POLLIN, 0};
    fds[count++] = {wake_read_fd_, POLLIN, 0};
    if (count == 1) break;  // both streams closed
    if (poll(fds, count, 100) < 0 && errno != EINTR) break;
    if (stopping_) break;
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0 || fds[i].fd == wake_read_fd_) continue;
      const bool is_stdout = fds[i].fd == stdout_fd_;
      for (int reads = 0; reads < 16; ++reads) {
        const ssize_t got = read(fds[i].fd, chunk, sizeof(chunk));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (got <= 0) {
          if (is_stdout) {
            close_fd(stdout_fd_);
            drain_until = Clock::now() + kStderrDrain;
          } else {
            close_fd(stderr_fd_);
          }
          break;
        }
        const std::string_view data(chunk, static_cast<size_t>(got));
        if (is_stdout) {
          feed_stdout(data);
        } else {
          append_stderr(data);
        }
      }
    }
  }
  if (!stopping_) {
    alive_ = false;
    const std::string reason = exit_description();
    log::info("mcp_server_exited", {log::field("server", config_.name), log::field("pid", pid_)});
    if (handlers_.on_closed) handlers_.on_closed(reason);
  }
}

std::string StdioTransport::exit_description() {
  // The exit usually follows the stdout EOF closely; look briefly without reaping.
  for (int i = 0; i < 10 && !child_exited(pid_); ++i) std::this_thread::sleep_for(kPollSlice);
  siginfo_t info{};
  if (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
      info.si_pid == pid_) {
    if (info.si_code == CLD_EXITED) {
      return "the MCP server " + config_.name + " exited with status " +
             std::to_string(info.si_status);
    }
    return "the MCP server " + config_.name + " was killed by signal " +
           std::to_string(info.si_status);
  }
  return "the MCP server " + config_.name + " closed its output";
}

void StdioTransport::feed_stdout(std::string_view chunk) {
  splitter_.feed(
      chunk, [this](std::string_view line) { handle_line(line); },
      [this] {
        log::warn("mcp_message_too_large", {log::field("server", config_.name),
                                            log::field("limit_bytes", kMaxMessageBytes)});
        std::lock_guard lock(state_mutex_);
        if (skipped_lines_++ == 0) first_skipped_line_ = "(a line larger than 16 MiB)";
      });
}

void StdioTransport::handle_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.remove_suffix(1);
  }
  if (line.find_first_not_of(" \t") == std::string_view::npos) return;
  Result<std::vector<Message>> messages = parse_frame(line);
  if (!messages.ok()) {
    {
      std::lock_guard lock(state_mutex_);
      if (skipped_lines_++ == 0) first_skipped_line_ = body_excerpt(line, 120);
    }
    log::info("mcp_stdout_line_skipped",
              {log::field("server", config_.name), log::field("reason", messages.error().message)});
    return;
  }
  for (Message& message : *messages) {
    if (handlers_.on_message) handlers_.on_message(std::move(message));
  }
}

void StdioTransport::append_stderr(std::string_view chunk) {
  std::lock_guard lock(state_mutex_);
  if (chunk.size() >= kStderrRingBytes) {
    stderr_ring_.assign(chunk.substr(chunk.size() - kStderrRingBytes));
    return;
  }
  stderr_ring_.append(chunk);
  if (stderr_ring_.size() > kStderrRingBytes) {
    stderr_ring_.erase(0, stderr_ring_.size() - kStderrRingBytes);
  }
}

std::string StdioTransport::stderr_tail() const {
  std::lock_guard lock(state_mutex_);
  return stderr_ring_;
}

size_t StdioTransport::skipped_lines() const {
  std::lock_guard lock(state_mutex_);
  return skipped_lines_;
}

std::string StdioTransport::first_skipped_line() const {
  std::lock_guard lock(state_mutex_);
  return first_skipped_line_;
}

void StdioTransport::shutdown() {
  if (pid_ <= 0 || reaped_) return;
  stopping_ = true;
  {
    std::lock_guard lock(write_mutex_);
    close_fd(stdin_fd_);
  }
  if (!wait_for_exit(pid_, kCloseGrace)) {
    kill(-pid_, SIGTERM);
    kill(-pid_, SIGCONT);
    if (!wait_for_exit(pid_, kTermGrace)) kill(-pid_, SIGKILL);
  }
  // Whatever else the server started in its group goes with it.
  kill(-pid_, SIGKILL);
  if (wake_write_fd_ >= 0) {
    const char byte = 1;
    [[maybe_unused]] const ssize_t ignored = write(wake_write_fd_, &byte, 1);
  }
  if (reader_.joinable()) reader_.join();
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  alive_ = false;
  close_fd(stdout_fd_);
  close_fd(stderr_fd_);
  close_fd(wake_read_fd_);
  close_fd(wake_write_fd_);
  log::debug("mcp_server_stopped", {log::field("server", config_.name)});
}

}  // namespace joey::mcp
