// peak_rss: runs a command and reports its peak resident set size, for the start-up and
// one-turn benchmarks (bench/startup.sh, bench/one_turn.mjs).
//
//   peak_rss [--output FILE] [--] COMMAND [ARGS...]
//
// The command inherits stdin, stdout and stderr. When it ends, its peak RSS in KiB
// (ru_maxrss from wait4, which covers the child and the descendants it waited for) is
// written as one decimal number and a newline to FILE, or as "peak_rss_kib N" on stderr
// when no FILE is given. The exit status is the command's own (128 + signal when it was
// killed by a signal), 127 when it could not be started, 2 for bad usage.
//
// Measuring ourselves instead of relying on /usr/bin/time keeps the figure the same on
// every machine. Linux counts the parent's resident pages at exec time into the child's
// peak, so this program stays small and the benchmarks report /bin/true under the same
// wrapper as the floor.
#include <spawn.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

extern char** environ;

namespace {

constexpr int kUsageExit = 2;
constexpr int kNotStartedExit = 127;

void print_usage() {
  std::fputs("usage: peak_rss [--output FILE] [--] COMMAND [ARGS...]\n", stderr);
}

bool write_result(const char* output_path, long peak_kib) {
  if (output_path == nullptr) {
    std::fprintf(stderr, "peak_rss_kib %ld\n", peak_kib);
    return true;
  }
  std::FILE* file = std::fopen(output_path, "w");
  if (file == nullptr) {
    std::fprintf(stderr, "peak_rss: cannot write %s: %s\n", output_path, std::strerror(errno));
    return false;
  }
  std::fprintf(file, "%ld\n", peak_kib);
  return std::fclose(file) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* output_path = nullptr;
  int first = 1;
  while (first < argc) {
    std::string_view arg = argv[first];
    if (arg == "--output" && first + 1 < argc) {
      output_path = argv[first + 1];
      first += 2;
    } else if (arg == "--") {
      ++first;
      break;
    } else if (arg == "-h" || arg == "--help") {
      print_usage();
      return 0;
    } else if (!arg.empty() && arg[0] == '-') {
      print_usage();
      return kUsageExit;
    } else {
      break;
    }
  }
  if (first >= argc) {
    print_usage();
    return kUsageExit;
  }

  pid_t child = 0;
  int spawn_error = posix_spawnp(&child, argv[first], nullptr, nullptr, argv + first, environ);
  if (spawn_error != 0) {
    std::fprintf(stderr, "peak_rss: cannot start %s: %s\n", argv[first],
                 std::strerror(spawn_error));
    return kNotStartedExit;
  }

  int status = 0;
  rusage usage{};
  pid_t waited = 0;
  do {
    waited = wait4(child, &status, 0, &usage);
  } while (waited < 0 && errno == EINTR);
  if (waited < 0) {
    std::fprintf(stderr, "peak_rss: wait4 failed: %s\n", std::strerror(errno));
    return kNotStartedExit;
  }

  if (!write_result(output_path, usage.ru_maxrss)) return kNotStartedExit;
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}
