// Checkpoint time on a generated 10,000-file workspace: the first snapshot (every file
// hashed into the shadow repository) and an incremental one after 10 files changed,
// against the reference measured in the same run on the same tree: `git init` (first
// only), `git add -A`, `git commit` in a plain repository in the workspace itself (its
// `.git`, which checkpoints never read, as in a user's repository), each git started
// with posix_spawnp and reaped with waitpid (not through joey's run_process, so the
// reference carries none of joey's process handling).
//
//   checkpoint_benchmark [ROUNDS=3] [FILES=10000]
//
// Each round builds a fresh tree in a temporary directory (removed at the end) and
// times both sides alternately, joey first in even rounds and git first in odd ones, so
// load from elsewhere and the page cache favour neither; the figures printed are
// medians over the rounds.
//
// Two diagnostics follow, to say where the time goes: how many git processes one
// snapshot starts (counted once, untimed, through a counting wrapper given as
// CheckpointOptions::git_program), and what joey::run_process adds to one short
// process (`git --version`) over posix_spawnp + waitpid, median of kSpawnRuns each,
// interleaved.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "agent/checkpoints.h"
#include "base/ids.h"
#include "base/subprocess.h"

extern char** environ;

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kChangedFiles = 10;
constexpr int kSpawnRuns = 40;

void die(const std::string& message) {
  std::fprintf(stderr, "checkpoint_benchmark: %s\n", message.c_str());
  std::exit(1);
}

// Without fsync (unlike joey::write_file_atomically): generating the tree is not what
// is measured.
void write_plain(const fs::path& file, const std::string& content) {
  std::error_code error;
  fs::create_directories(file.parent_path(), error);
  std::ofstream stream(file, std::ios::binary | std::ios::trunc);
  stream << content;
  if (!stream) die("cannot write " + file.string());
}

// FILES small source-like files, 50 per directory, three levels deep.
void generate_tree(const fs::path& root, int files) {
  for (int index = 0; index < files; ++index) {
    const fs::path file = root / ("pkg" + std::to_string(index / 1000)) /
                          ("mod" + std::to_string(index / 50)) /
                          ("file" + std::to_string(index) + ".c");
    std::string content;
    for (int line = 0; line < 20; ++line) {
      content += "int function_" + std::to_string(index) + "_" + std::to_string(line) +
                 "(int x) { return x * " + std::to_string(line) + "; }\n";
    }
    write_plain(file, content);
  }
}

void change_files(const fs::path& root, int files, int round) {
  for (int change = 0; change < kChangedFiles; ++change) {
    const int index = (change * 997) % files;
    const fs::path file = root / ("pkg" + std::to_string(index / 1000)) /
                          ("mod" + std::to_string(index / 50)) /
                          ("file" + std::to_string(index) + ".c");
    write_plain(file, "// changed in round " + std::to_string(round) + "\n");
  }
}

// The environment of the reference's git: the inherited one with a neutral config and
// a fixed identity, built once.
class GitEnvironment {
 public:
  GitEnvironment() {
    const std::map<std::string, std::string> overrides = {
        {"GIT_CONFIG_NOSYSTEM", "1"},    {"GIT_CONFIG_GLOBAL", "/dev/null"},
        {"GIT_AUTHOR_NAME", "bench"},    {"GIT_AUTHOR_EMAIL", "bench@localhost"},
        {"GIT_COMMITTER_NAME", "bench"}, {"GIT_COMMITTER_EMAIL", "bench@localhost"}};
    for (char** entry = environ; *entry != nullptr; ++entry) {
      const std::string variable = *entry;
      if (!overrides.contains(variable.substr(0, variable.find('=')))) strings_.push_back(variable);
    }
    for (const auto& [name, value] : overrides) strings_.push_back(name + "=" + value);
    for (std::string& variable : strings_) pointers_.push_back(variable.data());
    pointers_.push_back(nullptr);
  }
  char* const* envp() const { return const_cast<char* const*>(pointers_.data()); }

 private:
  std::vector<std::string> strings_;
  std::vector<char*> pointers_;
};

// Runs `argv` to completion with posix_spawnp and waitpid, stdin and output on
// /dev/null; returns its exit code (-1 when it did not exit normally).
int spawn_and_wait(const std::vector<std::string>& argv, char* const* envp) {
  std::vector<char*> arguments;
  for (const std::string& argument : argv) arguments.push_back(const_cast<char*>(argument.c_str()));
  arguments.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, arguments[0], &actions, nullptr, arguments.data(), envp);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) die("cannot start " + argv.front() + ": " + std::strerror(spawned));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) die(std::string("waitpid: ") + std::strerror(errno));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void plain_git(const GitEnvironment& environment, const fs::path& repo,
               const std::vector<std::string>& args) {
  std::vector<std::string> argv = {
      "git", "-C", repo.string(), "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgSign=false"};
  argv.insert(argv.end(), args.begin(), args.end());
  if (spawn_and_wait(argv, environment.envp()) != 0) die("git " + args.front() + " failed");
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double time_plain_commit(const GitEnvironment& environment, const fs::path& repo, bool first) {
  const Clock::time_point start = Clock::now();
  if (first) plain_git(environment, repo, {"init", "-q"});
  plain_git(environment, repo, {"add", "-A"});
  plain_git(environment, repo, {"commit", "-q", "-m", "snapshot"});
  return seconds_since(start);
}

double time_checkpoint(joey::agent::Checkpoints& checkpoints, const std::string& label) {
  const Clock::time_point start = Clock::now();
  joey::Result<joey::agent::Snapshot> snapshot = checkpoints.snapshot("bench", label);
  const double elapsed = seconds_since(start);
  if (!snapshot.ok()) die("snapshot failed: " + snapshot.error().message);
  return elapsed;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// How many git processes the first and an incremental snapshot start, counted on a
// small tree through a wrapper script that logs each call and execs git.
std::pair<int, int> count_git_calls(const fs::path& base) {
  const fs::path workspace = base / "count-workspace";
  const fs::path log = base / "count.log";
  const fs::path wrapper = base / "counting-git";
  generate_tree(workspace, 100);
  write_plain(wrapper, "#!/bin/sh\necho \"$*\" >> '" + log.string() + "'\nexec git \"$@\"\n");
  fs::permissions(wrapper, fs::perms::owner_all);
  const auto lines = [&log] {
    std::ifstream stream(log);
    int count = 0;
    for (std::string line; std::getline(stream, line);) ++count;
    return count;
  };
  joey::agent::CheckpointOptions options;
  options.joey_home = base / "count-home";
  options.git_program = wrapper.string();
  joey::Result<joey::agent::Checkpoints> checkpoints =
      joey::agent::Checkpoints::open(workspace, options);
  if (!checkpoints.ok()) die(checkpoints.error().message);
  const int before = lines();
  time_checkpoint(*checkpoints, "first");
  const int first = lines() - before;
  change_files(workspace, 100, 0);
  time_checkpoint(*checkpoints, "incremental");
  return {first, lines() - before - first};
}

// Median wall time of `git --version` through joey::run_process and through
// posix_spawnp + waitpid, interleaved.
std::pair<double, double> time_short_process(const GitEnvironment& environment) {
  std::vector<double> through_joey, direct;
  joey::ProcessOptions process;
  process.argv = {"git", "--version"};
  for (int run = 0; run < kSpawnRuns; ++run) {
    Clock::time_point start = Clock::now();
    joey::Result<joey::ProcessResult> result = joey::run_process(process);
    through_joey.push_back(seconds_since(start));
    if (!result.ok() || result->exit_code != 0) die("git --version failed");
    start = Clock::now();
    if (spawn_and_wait({"git", "--version"}, environment.envp()) != 0) {
      die("git --version failed");
    }
    direct.push_back(seconds_since(start));
  }
  return {median(through_joey), median(direct)};
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  const int files = argc > 2 ? std::max(kChangedFiles, std::atoi(argv[2])) : 10000;
  const fs::path base =
      fs::temp_directory_path() / ("joey-checkpoint-bench-" + joey::random_hex(6));

  const GitEnvironment environment;
  std::vector<double> joey_first, joey_incremental, git_first, git_incremental;
  double generating_seconds = 0;
  for (int round = 0; round < rounds; ++round) {
    const fs::path workspace = base / ("workspace" + std::to_string(round));
    const Clock::time_point generating = Clock::now();
    generate_tree(workspace, files);
    generating_seconds += seconds_since(generating);

    joey::agent::CheckpointOptions options;
    options.joey_home = base / ("home" + std::to_string(round));
    joey::Result<joey::agent::Checkpoints> checkpoints =
        joey::agent::Checkpoints::open(workspace, options);
    if (!checkpoints.ok()) die(checkpoints.error().message);

    const bool joey_first_in_round = round % 2 == 0;
    for (const bool first : {true, false}) {
      if (!first) change_files(workspace, files, round);
      std::vector<double>& ours = first ? joey_first : joey_incremental;
      std::vector<double>& reference = first ? git_first : git_incremental;
      if (joey_first_in_round) ours.push_back(time_checkpoint(*checkpoints, "bench"));
      reference.push_back(time_plain_commit(environment, workspace, first));
      if (!joey_first_in_round) ours.push_back(time_checkpoint(*checkpoints, "bench"));
    }
  }
  const auto [first_calls, incremental_calls] = count_git_calls(base);
  const auto [run_process_seconds, spawn_seconds] = time_short_process(environment);
  std::error_code ignored;
  fs::remove_all(base, ignored);

  std::printf(
      "checkpoint of a %d-file workspace, median of %d rounds (trees generated in %.1f s)\n", files,
      rounds, generating_seconds);
  std::printf("%-36s %10s %16s %8s\n", "", "joey", "git add+commit", "ratio");
  const auto row = [](const char* name, double ours, double reference) {
    std::printf("%-36s %8.1fms %14.1fms %7.2fx\n", name, ours * 1000, reference * 1000,
                ours / reference);
  };
  row("first snapshot (reference: + init)", median(joey_first), median(git_first));
  row("incremental (10 files changed)", median(joey_incremental), median(git_incremental));
  std::printf("  checkpoint, first: joey / git init+add+commit = %.2fx\n",
              median(joey_first) / median(git_first));
  std::printf("  checkpoint, 10 files changed: joey / git add+commit = %.2fx\n",
              median(joey_incremental) / median(git_incremental));
  std::printf("\ngit processes per snapshot: first %d, incremental %d (the reference: 3 and 2)\n",
              first_calls, incremental_calls);
  std::printf(
      "`git --version`, median of %d: run_process %.2f ms, posix_spawnp + waitpid %.2f ms "
      "(%.2f ms more per process, x%d processes = %.0f ms of an incremental checkpoint)\n",
      kSpawnRuns, run_process_seconds * 1000, spawn_seconds * 1000,
      (run_process_seconds - spawn_seconds) * 1000, incremental_calls,
      (run_process_seconds - spawn_seconds) * 1000 * incremental_calls);
  return 0;
}
