// search_files against plain ripgrep on a large synthetic tree.
//
// The tree (generated once per run in a temporary directory, removed at exit) holds
// kSourceFiles source files of 4-20 KiB (about 60 MB), a .gitignore that excludes a
// `generated/` subtree full of matches, and an empty `.git` directory so that plain
// `rg` applies the .gitignore just as joey does. Its content is deterministic, so every
// run searches the same bytes and the expected match counts are known in advance.
//
// Two searches, each measured twice, side by side:
//   rare_needle  a regex that matches one line in about one file in 53 (under the
//                300-match cap of search_files): the cost of walking and reading the tree
//   common_todo  a regex that matches thousands of lines: search_files stops showing
//                matches at the cap, plain rg prints them all
// `search_files/*` calls joey's search_files tool (the tool the model calls, with a
// workspace rooted at the tree); `rg/*` runs plain `rg -n REGEX` through the same
// run_process, the reference. Every iteration checks that both found what the tree
// holds, so the ratio never compares unequal work. Wall time is measured (the work is
// in a child process); the summary prints "search_files / rg = R x" from the medians.
//
// The page cache is warm (the tree was just written and is searched once before
// timing), so this measures CPU work, not the disk.
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "agent/search_tools.h"
#include "agent/tool.h"
#include "agent/workspace.h"
#include "base/result.h"
#include "base/subprocess.h"

namespace {

namespace fs = std::filesystem;
using joey::agent::ToolContext;
using joey::agent::Workspace;

constexpr int kSourceDirs = 50;
constexpr int kFilesPerDir = 100;
constexpr int kSourceFiles = kSourceDirs * kFilesPerDir;
constexpr int kIgnoredFiles = 500;
constexpr int kNeedleEvery = 53;  // one file in kNeedleEvery holds the rare needle
constexpr int kTodoEvery = 64;    // about one line in kTodoEvery is a TODO(bench) line
constexpr size_t kMinFileBytes = 4 * 1024;
constexpr size_t kFileBytesSpread = 16 * 1024;
constexpr double kMinSecondsPerRepetition = 1.0;
constexpr int kRepetitions = 3;
// Per iteration: CPU milliseconds of joey's process and of ripgrep together. Less
// disturbed than wall time when other work shares the cores.
constexpr char kCpuCounter[] = "cpu_ms_with_rg";

struct SearchCase {
  std::string name;
  std::string regex;
  size_t expected_matches = 0;  // lines that match outside the ignored subtree
};

struct Tree {
  fs::path root;
  uint64_t bytes = 0;  // searched bytes (the ignored subtree not counted)
  size_t needle_lines = 0;
  size_t todo_lines = 0;
};

// A small deterministic generator: the tree is the same on every run and machine.
class Lcg {
 public:
  explicit Lcg(uint64_t seed) : state_(seed) {}
  uint32_t next() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state_ >> 33);
  }

 private:
  uint64_t state_;
};

const char* const kExtensions[] = {".cpp", ".h", ".py", ".ts"};
const char* const kWords[] = {"parse", "the",    "buffer", "before", "reading", "next",
                              "token", "cache",  "result", "when",   "stream",  "ends",
                              "retry", "client", "value",  "across", "module",  "limit"};

// Appends lines to `text` until it reaches `size` bytes. Counts the TODO lines written.
void append_source_lines(Lcg& random, size_t size, std::string& text, size_t& todo_lines) {
  char line[160];
  while (text.size() < size) {
    uint32_t pick = random.next();
    uint32_t a = random.next() % 10000;
    uint32_t b = random.next() % 1000;
    if (pick % kTodoEvery == 0) {
      std::snprintf(line, sizeof line, "  // TODO(bench): revisit case %u\n", a);
      ++todo_lines;
    } else {
      switch (pick % 5) {
        case 0:
          std::snprintf(line, sizeof line, "  int value_%u = compute_%u(alpha, %u);\n", a, b,
                        a % 97);
          break;
        case 1:
          std::snprintf(line, sizeof line, "  if (state_%u > limit_%u) return error_%u;\n", a, b,
                        a % 13);
          break;
        case 2:
          std::snprintf(line, sizeof line, "  // %s %s %s %s\n", kWords[a % 18], kWords[b % 18],
                        kWords[(a + b) % 18], kWords[(a * 7) % 18]);
          break;
        case 3:
          std::snprintf(line, sizeof line, "void function_%u(const std::string& name, int n) {\n",
                        a);
          break;
        default:
          std::snprintf(line, sizeof line, "}\n");
          break;
      }
    }
    text += line;
  }
}

joey::Status write_file(const fs::path& path, const std::string& text) {
  std::error_code error;
  fs::create_directories(path.parent_path(), error);
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) return joey::make_error(joey::ErrorKind::kIo, "cannot write " + path.string());
  return joey::ok_status();
}

// Writes one file; `ignored` files count toward nothing (they must never match).
joey::Status write_source_file(Lcg& random, const fs::path& path, int index, bool ignored,
                               Tree& tree) {
  size_t size = kMinFileBytes + random.next() % kFileBytesSpread;
  size_t todo_lines = 0;
  std::string text;
  text.reserve(size + 200);
  append_source_lines(random, size / 2, text, todo_lines);
  if (ignored || index % kNeedleEvery == 7) {
    text += "  const char* kMarker = \"joey_bench_needle_" + std::to_string(index) + "\";\n";
    if (!ignored) ++tree.needle_lines;
  }
  append_source_lines(random, size, text, todo_lines);
  if (!ignored) {
    tree.todo_lines += todo_lines;
    tree.bytes += text.size();
  }
  return write_file(path, text);
}

joey::Result<Tree> generate_tree() {
  std::string pattern = (fs::temp_directory_path() / "joey-bench-search-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return joey::make_error(joey::ErrorKind::kIo, "cannot create a temporary directory");
  }
  Tree tree;
  std::error_code error;
  tree.root = fs::canonical(pattern, error);
  if (error) return joey::make_error(joey::ErrorKind::kIo, "cannot resolve " + pattern);
  fs::create_directory(tree.root / ".git", error);
  TRY(write_file(tree.root / ".gitignore", "generated/\n"));

  Lcg random(20261125);
  for (int index = 0; index < kSourceFiles; ++index) {
    char relative[64];
    std::snprintf(relative, sizeof relative, "src/module_%02d/file_%04d%s", index / kFilesPerDir,
                  index, kExtensions[index % 4]);
    TRY(write_source_file(random, tree.root / relative, index, false, tree));
  }
  for (int index = 0; index < kIgnoredFiles; ++index) {
    char relative[64];
    std::snprintf(relative, sizeof relative, "generated/gen_%04d.cpp", index);
    TRY(write_source_file(random, tree.root / relative, index, true, tree));
  }
  return tree;
}

class AllowEverything final : public joey::agent::ApprovalGate {
 public:
  joey::Status request(const joey::agent::ApprovalRequest&) override { return joey::ok_status(); }
};

// The number in search_files' "Found N matches ..." header (0 for "No matches found.").
joey::Result<size_t> search_files_matches(const Tree& tree, const SearchCase& search) {
  Workspace workspace(tree.root);
  AllowEverything gate;
  ToolContext context;
  context.workspace = &workspace;
  context.approvals = &gate;
  static const joey::agent::ToolDefinition tool = joey::agent::search_files_tool();
  nlohmann::json args = {{"path", "."}, {"regex", search.regex}};
  joey::agent::ToolOutput output = TRY(tool.run(args, context));
  if (output.content.rfind("No matches", 0) == 0) return size_t{0};
  size_t count = 0;
  if (std::sscanf(output.content.c_str(), "Found %zu", &count) != 1) {
    return joey::make_error(joey::ErrorKind::kProtocol,
                            "unexpected search_files output: " + output.content.substr(0, 200));
  }
  return count;
}

// Lines printed by plain `rg -n REGEX` run in the tree.
joey::Result<size_t> ripgrep_matches(const Tree& tree, const SearchCase& search) {
  size_t lines = 0;
  joey::ProcessOptions options;
  options.argv = {"rg", "-n", search.regex};
  options.cwd = tree.root.string();
  options.timeout = std::chrono::seconds(60);
  options.on_output = [&lines](std::string_view chunk, bool is_stderr) {
    if (is_stderr) return;
    for (char c : chunk) lines += c == '\n';
  };
  joey::ProcessResult result = TRY(joey::run_process(options));
  if (result.exit_code > 1 || result.signaled || result.timed_out) {
    return joey::make_error(joey::ErrorKind::kIo, "rg failed: " + result.stderr_text);
  }
  return lines;
}

// What each side must report for `search`: search_files caps at kMaxSearchMatches.
size_t expected_search_files(const SearchCase& search) {
  return std::min(search.expected_matches, joey::agent::kMaxSearchMatches);
}

// CPU seconds used so far by this process and the children it has waited for (ripgrep).
double cpu_seconds_with_children() {
  double total = 0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    rusage usage{};
    getrusage(who, &usage);
    total += static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
             static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  }
  return total;
}

void run_search(benchmark::State& state, const Tree& tree, const SearchCase& search,
                bool reference) {
  size_t expected = reference ? search.expected_matches : expected_search_files(search);
  double cpu_start = cpu_seconds_with_children();
  for (auto _ : state) {
    auto found = reference ? ripgrep_matches(tree, search) : search_files_matches(tree, search);
    if (!found.ok()) {
      state.SkipWithError(found.error().message.c_str());
      return;
    }
    if (*found != expected) {
      std::string message =
          "found " + std::to_string(*found) + " matches, expected " + std::to_string(expected);
      state.SkipWithError(message.c_str());
      return;
    }
  }
  double cpu_seconds = cpu_seconds_with_children() - cpu_start;
  state.counters[kCpuCounter] = 1000 * cpu_seconds / static_cast<double>(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * tree.bytes));
  state.counters["matches"] = static_cast<double>(expected);
}

// The console output, plus the median wall time of each benchmark for the summary.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  RatioReporter() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_Defaults : OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      bool single = run.run_type == Run::RT_Iteration && run.repetitions <= 1;
      if (!median && !single) continue;
      Median& entry = medians_[run.run_name.function_name];
      entry.wall_ms = run.GetAdjustedRealTime();
      auto cpu = run.counters.find(kCpuCounter);
      if (cpu != run.counters.end()) entry.cpu_ms = cpu->second.value;
    }
  }

  // Prints one ratio line per case measured on both sides; false when none was.
  bool print_ratios(const std::vector<SearchCase>& cases) const {
    bool any = false;
    for (const SearchCase& search : cases) {
      auto joey = medians_.find("search_files/" + search.name);
      auto rg = medians_.find("rg/" + search.name);
      if (joey == medians_.end() || rg == medians_.end() || rg->second.wall_ms <= 0 ||
          rg->second.cpu_ms <= 0) {
        continue;
      }
      std::printf(
          "%-12s search_files / rg = %.2fx wall (median %.1f ms vs %.1f ms), %.2fx CPU "
          "(%.1f ms vs %.1f ms)\n",
          search.name.c_str(), joey->second.wall_ms / rg->second.wall_ms, joey->second.wall_ms,
          rg->second.wall_ms, joey->second.cpu_ms / rg->second.cpu_ms, joey->second.cpu_ms,
          rg->second.cpu_ms);
      any = true;
    }
    return any;
  }

 private:
  struct Median {
    double wall_ms = 0;
    double cpu_ms = 0;
  };
  std::map<std::string, Median> medians_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;

  auto generated = generate_tree();
  if (!generated.ok()) {
    std::fprintf(stderr, "search_files_benchmark: %s\n", generated.error().message.c_str());
    return 1;
  }
  const Tree tree = std::move(generated).value();
  std::printf("tree: %s, %d files searched (%.1f MB), %d more ignored by .gitignore\n",
              tree.root.c_str(), kSourceFiles, static_cast<double>(tree.bytes) / 1e6,
              kIgnoredFiles);
  std::fflush(stdout);

  const std::vector<SearchCase> cases = {
      {"rare_needle", "joey_bench_needle_[0-9]+", tree.needle_lines},
      {"common_todo", "TODO\\(bench\\)", tree.todo_lines},
  };

  // One untimed pass of each: warms the page cache and fails early on a wrong count.
  int exit_code = 0;
  for (const SearchCase& search : cases) {
    auto joey_found = search_files_matches(tree, search);
    auto rg_found = ripgrep_matches(tree, search);
    if (!joey_found.ok() || !rg_found.ok() || *joey_found != expected_search_files(search) ||
        *rg_found != search.expected_matches) {
      std::fprintf(stderr, "search_files_benchmark: %s: the two searches disagree with the tree\n",
                   search.name.c_str());
      exit_code = 1;
    }
  }

  if (exit_code == 0) {
    for (const SearchCase& search : cases) {
      for (bool reference : {false, true}) {
        std::string name = (reference ? "rg/" : "search_files/") + search.name;
        benchmark::RegisterBenchmark(name.c_str(),
                                     [&tree, search, reference](benchmark::State& state) {
                                       run_search(state, tree, search, reference);
                                     })
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime()
            ->MinTime(kMinSecondsPerRepetition)
            ->Repetitions(kRepetitions)
            ->ReportAggregatesOnly(true);
      }
    }
    RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    std::printf("\n");
    if (!reporter.print_ratios(cases)) {
      std::printf("no ratio: a benchmark failed or was filtered out\n");
    }
  }
  benchmark::Shutdown();

  std::error_code error;
  fs::remove_all(tree.root, error);
  return exit_code;
}
