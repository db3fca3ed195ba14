// What starting a child process with posix_spawn needs around it, shared by
// base/subprocess.cpp (commands) and mcp/stdio_transport.cpp (MCP servers): the spawn
// attribute objects, owned for one spawn; SIGPIPE blocked on the writing thread; the
// child's environment and argument arrays; a program looked up on a PATH of its own.
//
// Thread-safety: each object belongs to the thread that made it (SigpipeBlocker changes
// that thread's signal mask). build_environment() reads `environ`: no other thread may
// call setenv() meanwhile.
#pragma once

#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <time.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace joey {

// joey's own environment, less the names in `unset` and those `overrides` sets, then
// `overrides`: "NAME=value" entries for a child.
std::vector<std::string> build_environment(const std::map<std::string, std::string>& overrides,
                                           const std::vector<std::string>& unset);

// Pointers to `strings`' characters, then a null: argv or envp for posix_spawn. Valid while
// `strings` is neither changed nor destroyed.
std::vector<char*> to_pointer_array(std::vector<std::string>& strings);

// Looks `program` up on `path_value` (a PATH string; an empty entry is the current
// directory): the first regular, executable file, or "" when there is none.
std::string find_on_path(const std::string& program, std::string_view path_value);

// Owns the posix_spawn attribute objects for one spawn.
class SpawnSetup {
 public:
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions_);
    posix_spawnattr_init(&attributes_);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attributes_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  posix_spawn_file_actions_t* actions() { return &actions_; }
  posix_spawnattr_t* attributes() { return &attributes_; }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attributes_;
};

// Blocks SIGPIPE on this thread for its lifetime and discards a SIGPIPE that our own
// writes raised meanwhile (a child that closed its stdin makes a write fail with EPIPE
// instead of killing joey).
class SigpipeBlocker {
 public:
  SigpipeBlocker() {
    sigemptyset(&sigpipe_);
    sigaddset(&sigpipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigpipe_, &previous_mask_);
    was_pending_ = is_pending();
  }
  ~SigpipeBlocker() {
    if (!was_pending_ && is_pending()) {
      const timespec no_wait{0, 0};
      sigtimedwait(&sigpipe_, nullptr, &no_wait);
    }
    pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
  }
  SigpipeBlocker(const SigpipeBlocker&) = delete;
  SigpipeBlocker& operator=(const SigpipeBlocker&) = delete;

 private:
  bool is_pending() const {
    sigset_t pending;
    sigemptyset(&pending);
    return sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
  }

  sigset_t sigpipe_;
  sigset_t previous_mask_;
  bool was_pending_ = false;
};

}  // namespace joey
