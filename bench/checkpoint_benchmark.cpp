// Checkpoint time on a generated 10,000-file workspace: the first snapshot (every file
// hashed into the shadow repository) and an incremental one after 10 files changed,
// against the reference measured in the same run on a copy of the same tree:
// `git add -A && git commit` in a plain repository.
//
//   checkpoint_benchmark [ROUNDS=3] [FILES=10000]
//
// Each round builds fresh trees in a temporary directory (removed at the end) and
// times both sides alternately, so load from elsewhere falls on both alike; the
// figures printed are medians over the rounds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "agent/checkpoints.h"
#include "base/ids.h"
#include "base/subprocess.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kChangedFiles = 10;

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

void plain_git(const fs::path& repo, const std::vector<std::string>& args) {
  joey::ProcessOptions process;
  process.argv = {"git", "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgSign=false"};
  process.argv.insert(process.argv.end(), args.begin(), args.end());
  process.cwd = repo.string();
  process.env = {{"GIT_CONFIG_NOSYSTEM", "1"},    {"GIT_CONFIG_GLOBAL", "/dev/null"},
                 {"GIT_AUTHOR_NAME", "bench"},    {"GIT_AUTHOR_EMAIL", "bench@localhost"},
                 {"GIT_COMMITTER_NAME", "bench"}, {"GIT_COMMITTER_EMAIL", "bench@localhost"}};
  joey::Result<joey::ProcessResult> result = joey::run_process(process);
  if (!result.ok() || result->exit_code != 0) {
    die("git " + args.front() + " failed: " + (result.ok() ? result->stderr_text : ""));
  }
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double time_plain_commit(const fs::path& repo) {
  const Clock::time_point start = Clock::now();
  plain_git(repo, {"add", "-A"});
  plain_git(repo, {"commit", "-q", "-m", "snapshot"});
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

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  const int files = argc > 2 ? std::max(kChangedFiles, std::atoi(argv[2])) : 10000;
  const fs::path base =
      fs::temp_directory_path() / ("joey-checkpoint-bench-" + joey::random_hex(6));

  std::vector<double> joey_first, joey_incremental, git_first, git_incremental;
  for (int round = 0; round < rounds; ++round) {
    const fs::path workspace = base / ("workspace" + std::to_string(round));
    const fs::path plain = base / ("plain" + std::to_string(round));
    generate_tree(workspace, files);
    generate_tree(plain, files);
    plain_git(plain, {"init", "-q"});

    joey::agent::CheckpointOptions options;
    options.joey_home = base / ("home" + std::to_string(round));
    joey::Result<joey::agent::Checkpoints> checkpoints =
        joey::agent::Checkpoints::open(workspace, options);
    if (!checkpoints.ok()) die(checkpoints.error().message);

    joey_first.push_back(time_checkpoint(*checkpoints, "first"));
    git_first.push_back(time_plain_commit(plain));
    change_files(workspace, files, round);
    change_files(plain, files, round);
    joey_incremental.push_back(time_checkpoint(*checkpoints, "incremental"));
    git_incremental.push_back(time_plain_commit(plain));
  }
  std::error_code ignored;
  fs::remove_all(base, ignored);

  std::printf("checkpoint of a %d-file workspace, median of %d rounds\n", files, rounds);
  std::printf("%-34s %10s %16s %8s\n", "", "joey", "git add+commit", "ratio");
  const auto row = [](const char* name, double ours, double reference) {
    std::printf("%-34s %8.1fms %14.1fms %7.2fx\n", name, ours * 1000, reference * 1000,
                ours / reference);
  };
  row("first snapshot", median(joey_first), median(git_first));
  row("incremental (10 files changed)", median(joey_incremental), median(git_incremental));
  return 0;
}
