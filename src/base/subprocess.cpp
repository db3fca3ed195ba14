// Implementation notes:
// - Spawning uses posix_spawn(p) with POSIX_SPAWN_SETPGROUP (pgid 0), so the child
//   leads a new process group that is killed as a whole. The working directory is set
//   with posix_spawn_file_actions_addchdir_np (glibc >= 2.29), which needs no wrapper
//   process; a relative argv[0] containing '/' is therefore resolved against the new
//   working directory. When options.env overrides PATH, argv[0] is looked up on that
//   PATH here, since posix_spawnp would search joey's own PATH.
// - The child's exit is noticed with waitid(WNOWAIT), which leaves it a zombie until
//   the end: while the leader is unreaped its pid cannot be reused, so kill(-pgid) can
//   never hit an unrelated process group.
// - The pipe ends joey keeps are O_CLOEXEC, so a process spawned concurrently by
//   another thread cannot inherit them and hold a stream open.
// - SIGPIPE is blocked on the calling thread while stdin_data is written; a child that
//   closes its stdin early yields EPIPE, and the pending signal is consumed.
// - Signal dispositions and the signal mask are reset to defaults in the child, so it
//   does not inherit joey's ignored SIGPIPE or blocked signals.
// - The inherited environment is read from `environ`, so no other thread may call
//   setenv() while a process is being started.
// - A child stopped by job control (reading the terminal from its own process group
//   gets SIGTTIN) gets SIGCONT after SIGTERM, or it would sit out the grace period.
#include "base/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "base/spawn_support.h"
#include "base/strings.h"

namespace joey {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kKillGracePeriod = std::chrono::seconds(2);
// How long output is still read after the direct child exited, for descendants that
// hold the pipes (a backgrounded server, say), before the group is killed.
constexpr auto kDrainAfterExit = std::chrono::milliseconds(500);
// The longest poll() wait, which bounds how late a cancel request is noticed.
constexpr auto kPollInterval = std::chrono::milliseconds(50);
constexpr size_t kReadChunkBytes = 65536;
// Reads per stream per loop turn, so a flood on one stream cannot delay a cancel.
constexpr int kMaxReadsPerTurn = 16;
// utf8_prefix() looks one byte past the cut, and a sequence is at most 4 bytes.
constexpr size_t kHeadSlackBytes = 3;

// Keeps the first and last bytes of a stream of unknown length within a fixed memory
// bound, and renders them like cap_head_tail() would render the whole text.
class HeadTailBuffer {
 public:
  explicit HeadTailBuffer(size_t cap) : head_cap_(cap / 2), tail_cap_(cap - cap / 2) {}

  void append(std::string_view chunk) {
    total_bytes_ += chunk.size();
    const size_t head_room =
        head_cap_ + kHeadSlackBytes - std::min(head_.size(), head_cap_ + kHeadSlackBytes);
    head_.append(chunk.substr(0, std::min(head_room, chunk.size())));
    if (chunk.size() >= tail_cap_) {
      tail_.assign(chunk.substr(chunk.size() - tail_cap_));
      return;
    }
    tail_.append(chunk);
    if (tail_.size() > 2 * tail_cap_ + kReadChunkBytes) tail_.erase(0, tail_.size() - tail_cap_);
  }

  size_t total_bytes() const { return total_bytes_; }

  std::string render() const {
    const std::string_view tail_window =
        std::string_view(tail_).substr(tail_.size() - std::min(tail_.size(), tail_cap_));
    if (total_bytes_ <= head_cap_ + tail_cap_) {
      // Nothing was dropped: the head's first bytes and the tail window tile the text.
      return head_.substr(0, total_bytes_ - tail_window.size()) + std::string(tail_window);
    }
    const std::string_view head = utf8_prefix(head_, head_cap_);
    const std::string_view tail = utf8_drop_partial_start(tail_window);
    const size_t omitted = total_bytes_ - head.size() - tail.size();
    std::string text;
    text.reserve(head.size() + tail.size() + 48);
    text.append(head);
    text.append("\n[... " + std::to_string(omitted) + " bytes omitted ...]\n");
    text.append(tail);
    return text;
  }

 private:
  size_t head_cap_;
  size_t tail_cap_;
  std::string head_;
  std::string tail_;
  size_t total_bytes_ = 0;
};

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;
};

Result<Pipe> make_pipe(bool parent_reads) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return make_error(ErrorKind::kIo, std::string("creating a pipe: ") + std::strerror(errno));
  }
  Pipe pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
  // Only joey's end is non-blocking; the child gets ordinary blocking descriptors.
  const int parent_fd = parent_reads ? fds[0] : fds[1];
  fcntl(parent_fd, F_SETFL, fcntl(parent_fd, F_GETFL) | O_NONBLOCK);
  return pipe;
}

bool has_nul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

Status validate(const ProcessOptions& options) {
  if (options.argv.empty() || options.argv[0].empty()) {
    return make_error(ErrorKind::kInvalidArgument, "no program to run: the command is empty");
  }
  for (const std::string& argument : options.argv) {
    if (has_nul(argument)) {
      return make_error(ErrorKind::kInvalidArgument,
                        "command argument contains a NUL byte: " + options.argv[0]);
    }
  }
  for (const auto& [name, value] : options.env) {
    if (name.empty() || name.find('=') != std::string::npos || has_nul(name) || has_nul(value)) {
      return make_error(ErrorKind::kInvalidArgument,
                        "invalid environment variable name '" + name + "'");
    }
  }
  if (options.timeout.count() < 0) {
    return make_error(ErrorKind::kInvalidArgument, "negative timeout");
  }
  if (!options.cwd.empty()) {
    struct stat info {};
    if (stat(options.cwd.c_str(), &info) != 0) {
      return make_error(ErrorKind::kNotFound,
                        "working directory " + options.cwd + ": " + std::strerror(errno));
    }
    if (!S_ISDIR(info.st_mode)) {
      return make_error(ErrorKind::kInvalidArgument,
                        "working directory " + options.cwd + " is not a directory");
    }
  }
  return ok_status();
}

Error not_found_error(const std::string& program) {
  const bool searched_path = program.find('/') == std::string::npos;
  return make_error(ErrorKind::kNotFound,
                    "program '" + program + "' not found" + (searched_path ? " on PATH" : ""));
}

struct SpawnedChild {
  pid_t pid = -1;
  UniqueFd stdin_write;  // invalid when stdin is /dev/null
  UniqueFd stdout_read;
  UniqueFd stderr_read;
};

Result<SpawnedChild> spawn_child(const ProcessOptions& options) {
  const std::string& program = options.argv[0];
  const bool search_path = program.find('/') == std::string::npos;
  std::string executable = program;
  const auto path_override = options.env.find("PATH");
  if (search_path && path_override != options.env.end()) {
    executable = find_on_path(program, path_override->second);
    if (executable.empty()) return not_found_error(program);
  }
  const bool use_spawnp = search_path && path_override == options.env.end();

  SpawnedChild child;
  std::optional<Pipe> stdin_pipe;
  if (options.stdin_data) stdin_pipe = TRY(make_pipe(/*parent_reads=*/false));
  Pipe stdout_pipe = TRY(make_pipe(/*parent_reads=*/true));
  Pipe stderr_pipe = TRY(make_pipe(/*parent_reads=*/true));

  SpawnSetup setup;
  if (stdin_pipe) {
    posix_spawn_file_actions_adddup2(setup.actions(), stdin_pipe->read_end.get(), STDIN_FILENO);
  } else {
    posix_spawn_file_actions_addopen(setup.actions(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(setup.actions(), stdout_pipe.write_end.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(setup.actions(), stderr_pipe.write_end.get(), STDERR_FILENO);
  if (!options.cwd.empty()) {
    posix_spawn_file_actions_addchdir_np(setup.actions(), options.cwd.c_str());
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

  std::vector<std::string> argv_strings = options.argv;
  std::vector<char*> argv = to_pointer_array(argv_strings);
  std::vector<std::string> env_strings = build_environment(options.env, options.unset_env);
  std::vector<char*> envp = to_pointer_array(env_strings);

  pid_t pid = -1;
  const int spawn_error = use_spawnp ? posix_spawnp(&pid, executable.c_str(), setup.actions(),
                                                    setup.attributes(), argv.data(), envp.data())
                                     : posix_spawn(&pid, executable.c_str(), setup.actions(),
                                                   setup.attributes(), argv.data(), envp.data());
  if (spawn_error == ENOENT) return not_found_error(program);
  if (spawn_error != 0) {
    return make_error(ErrorKind::kIo, "starting '" + program + "': " + std::strerror(spawn_error));
  }
  child.pid = pid;
  if (stdin_pipe) child.stdin_write = std::move(stdin_pipe->write_end);
  child.stdout_read = std::move(stdout_pipe.read_end);
  child.stderr_read = std::move(stderr_pipe.read_end);
  return child;
}

// Kills and reaps the child if run_process leaves early (for instance when an
// on_output callback throws), so no process outlives the call unsupervised.
class ChildReaper {
 public:
  explicit ChildReaper(pid_t pid) : pid_(pid) {}
  ~ChildReaper() {
    if (pid_ <= 0) return;
    kill(-pid_, SIGKILL);
    wait_status();
  }
  ChildReaper(const ChildReaper&) = delete;
  ChildReaper& operator=(const ChildReaper&) = delete;

  // Reaps the child; returns its wait status, or nullopt when it was reaped elsewhere
  // (SIGCHLD set to SIG_IGN reaps children automatically).
  std::optional<int> wait_status() {
    int status = 0;
    pid_t waited;
    do {
      waited = waitpid(pid_, &status, 0);
    } while (waited < 0 && errno == EINTR);
    pid_ = -1;
    if (waited < 0) return std::nullopt;
    return status;
  }

 private:
  pid_t pid_;
};

bool child_has_exited(pid_t pid) {
  siginfo_t info{};
  if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    return errno != EINTR;  // ECHILD: already reaped by someone else
  }
  return info.si_pid == pid;
}

struct OutputStream {
  UniqueFd fd;
  HeadTailBuffer buffer;
  bool is_stderr;
};

void read_available(OutputStream& stream, const ProcessOptions& options) {
  char chunk[kReadChunkBytes];
  for (int reads = 0; reads < kMaxReadsPerTurn && stream.fd.valid(); ++reads) {
    const ssize_t got = read(stream.fd.get(), chunk, sizeof(chunk));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (got <= 0) {
      stream.fd.reset();
      return;
    }
    const std::string_view data(chunk, static_cast<size_t>(got));
    stream.buffer.append(data);
    if (options.on_output) options.on_output(data, stream.is_stderr);
  }
}

void write_pending_stdin(UniqueFd& fd, std::string_view data, size_t& written) {
  while (fd.valid() && written < data.size()) {
    const size_t size = std::min(data.size() - written, kReadChunkBytes);
    const ssize_t count = write(fd.get(), data.data() + written, size);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (count < 0) break;  // EPIPE: the child closed its stdin; the rest is dropped
    written += static_cast<size_t>(count);
  }
  fd.reset();
}

int milliseconds_until(Clock::time_point now, std::optional<Clock::time_point> when,
                       int upper_bound) {
  if (!when) return upper_bound;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(*when - now).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, upper_bound));
}

}  // namespace

std::string cap_head_tail(std::string_view text, size_t cap) {
  if (text.size() <= cap) return std::string(text);
  HeadTailBuffer buffer(cap);
  buffer.append(text);
  return buffer.render();
}

Result<ProcessResult> run_process(const ProcessOptions& options) {
  TRY(validate(options));
  if (options.cancel && options.cancel->load()) {
    ProcessResult not_started;
    not_started.cancelled = true;
    return not_started;
  }
  std::optional<SigpipeBlocker> sigpipe_blocker;
  if (options.stdin_data) sigpipe_blocker.emplace();

  SpawnedChild child = TRY(spawn_child(options));
  ChildReaper reaper(child.pid);
  const pid_t group = child.pid;
  // Readable once the child exits, so the wait below wakes at once rather than at the
  // next poll interval when the pipes close before the exit is visible (-1 on kernels
  // without pidfd_open: then short sleeps stand in).
  UniqueFd exit_fd(static_cast<int>(syscall(SYS_pidfd_open, child.pid, 0)));

  OutputStream streams[2] = {
      {std::move(child.stdout_read), HeadTailBuffer(options.output_cap_bytes), false},
      {std::move(child.stderr_read), HeadTailBuffer(options.output_cap_bytes), true}};
  const std::string_view stdin_data =
      options.stdin_data ? std::string_view(*options.stdin_data) : std::string_view();
  size_t stdin_written = 0;
  if (child.stdin_write.valid() && stdin_data.empty()) child.stdin_write.reset();

  ProcessResult result;
  const Clock::time_point start = Clock::now();
  std::optional<Clock::time_point> timeout_at;
  if (options.timeout.count() > 0) timeout_at = start + options.timeout;
  std::optional<Clock::time_point> drain_until;  // set when the direct child exits
  std::optional<Clock::time_point> sigkill_at;   // set when SIGTERM was sent
  bool exited = false;

  while (true) {
    if (!exited && child_has_exited(child.pid)) {
      exited = true;
      drain_until = Clock::now() + kDrainAfterExit;
      child.stdin_write.reset();
    }
    const bool streams_open = streams[0].fd.valid() || streams[1].fd.valid();
    if (exited && !streams_open) break;

    const Clock::time_point now = Clock::now();
    if (!sigkill_at) {
      bool kill_now = false;
      if (options.cancel && options.cancel->load()) {
        result.cancelled = kill_now = true;
      } else if (options.stop && options.stop->load()) {
        result.stopped = kill_now = true;
      } else if (timeout_at && now >= *timeout_at) {
        result.timed_out = kill_now = true;
      } else if (drain_until && now >= *drain_until) {
        kill_now = true;
      }
      if (kill_now) {
        kill(-group, SIGTERM);
        kill(-group, SIGCONT);  // a stopped process handles SIGTERM only once continued
        sigkill_at = now + kKillGracePeriod;
      }
    } else if (now >= *sigkill_at) {
      kill(-group, SIGKILL);
      for (OutputStream& stream : streams) read_available(stream, options);
      break;
    }

    const int interval = static_cast<int>(kPollInterval.count());
    int wait_ms = milliseconds_until(now, timeout_at, interval);
    wait_ms = std::min(wait_ms, milliseconds_until(now, drain_until, interval));
    wait_ms = std::min(wait_ms, milliseconds_until(now, sigkill_at, interval));
    if (!exited && !streams_open && !exit_fd.valid()) wait_ms = std::min(wait_ms, 1);

    pollfd fds[4];
    nfds_t count = 0;
    if (!exited && exit_fd.valid()) fds[count++] = {exit_fd.get(), POLLIN, 0};
    for (OutputStream& stream : streams) {
      if (stream.fd.valid()) fds[count++] = {stream.fd.get(), POLLIN, 0};
    }
    if (child.stdin_write.valid()) fds[count++] = {child.stdin_write.get(), POLLOUT, 0};
    if (poll(fds, count, wait_ms) < 0 && errno != EINTR) {
      return make_error(ErrorKind::kIo,
                        std::string("waiting for process output: ") + std::strerror(errno));
    }
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0 || fds[i].fd == exit_fd.get()) continue;
      if (fds[i].fd == child.stdin_write.get()) {
        write_pending_stdin(child.stdin_write, stdin_data, stdin_written);
        continue;
      }
      for (OutputStream& stream : streams) {
        if (stream.fd.valid() && stream.fd.get() == fds[i].fd) read_available(stream, options);
      }
    }
  }

  // Members of a killed group that did not hold the pipes get no more time.
  if (sigkill_at) kill(-group, SIGKILL);
  const std::optional<int> status = reaper.wait_status();
  if (status && WIFEXITED(*status)) {
    result.exit_code = WEXITSTATUS(*status);
  } else if (status && WIFSIGNALED(*status)) {
    result.signaled = true;
    result.signal_number = WTERMSIG(*status);
  }
  result.stdout_text = streams[0].buffer.render();
  result.stderr_text = streams[1].buffer.render();
  result.stdout_total_bytes = streams[0].buffer.total_bytes();
  result.stderr_total_bytes = streams[1].buffer.total_bytes();
  return result;
}

}  // namespace joey
