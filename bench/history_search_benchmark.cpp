// Full-text search over the local task history (client/history_store.h) against the
// same search done without an index.
//
// A history of kMessages messages (kTasks tasks of kMessagesPerTask each) is generated
// with a fixed seed and written through HistoryStore::append_message, one transaction
// per message exactly as a running task writes it, into a temporary directory (removed
// at exit; HISTORY_BENCH_DIR=DIR keeps it there and reuses it on later runs). The text
// imitates a coding session: user requests, assistant prose, tool calls with JSON
// arguments naming files, tool results holding source lines; words follow a Zipf-like
// distribution over a small English and code vocabulary, plus many rare identifiers
// (value_1234, src/module_07/file_0345.cpp).
//
// Then kQueries queries (same seed): one common word, one rare identifier, two words,
// or a word prefix, in a fixed mix. Two ways to answer each:
//   fts5_search  HistoryStore::search(query, 10): the FTS5 index, bm25 ranking, the
//                best message per task and its snippet (what `joey history search` does)
//   like_scan    the reference, no index: SELECT task_id, COUNT(*) FROM messages WHERE
//                text LIKE '%term%' [AND text LIKE '%term2%'] GROUP BY task_id ORDER BY
//                COUNT(*) DESC LIMIT 10 over the same table, on the same connection: a
//                ranking (by matching messages) that, like bm25, must read every row
// Each query is timed alone (wall time); the summary prints p50 and p95 of both and
// their ratio. The page cache is warm (the database was just written).
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "client/history_store.h"

namespace {

namespace fs = std::filesystem;
using joey::client::HistoryStore;
using Clock = std::chrono::steady_clock;

constexpr int kTasks = 2000;
constexpr int kMessagesPerTask = 50;
constexpr int kMessages = kTasks * kMessagesPerTask;
constexpr int kQueries = 200;
constexpr int kSearchLimit = 10;

class Lcg {
 public:
  explicit Lcg(uint64_t seed) : state_(seed) {}
  uint32_t next() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state_ >> 33);
  }
  uint32_t below(uint32_t bound) { return next() % bound; }
  // Small indices much more often than large ones (roughly Zipf).
  uint32_t skewed(uint32_t bound) {
    double unit = static_cast<double>(next()) / 2147483648.0;
    return static_cast<uint32_t>(static_cast<double>(bound) * unit * unit * unit) % bound;
  }

 private:
  uint64_t state_;
};

const char* const kWords[] = {
    "the",        "to",         "a",        "in",        "and",       "is",          "of",
    "it",         "this",       "that",     "file",      "test",      "function",    "error",
    "fix",        "add",        "update",   "return",    "value",     "when",        "should",
    "check",      "build",      "parser",   "config",    "request",   "response",    "cache",
    "handler",    "module",     "string",   "buffer",    "read",      "write",       "missing",
    "null",       "pointer",    "memory",   "leak",      "thread",    "lock",        "timeout",
    "retry",      "logging",    "message",  "header",    "token",     "stream",      "client",
    "server",     "database",   "schema",   "migration", "index",     "query",       "result",
    "refactor",   "rename",     "variable", "constant",  "loop",      "branch",      "merge",
    "commit",     "diff",       "patch",    "line",      "column",    "unicode",     "encoding",
    "json",       "yaml",       "toml",     "compile",   "linker",    "warning",     "flag",
    "option",     "argument",   "command",  "shell",     "path",      "directory",   "permission",
    "sandbox",    "network",    "socket",   "latency",   "benchmark", "profile",     "optimise",
    "allocation", "vector",     "map",      "iterator",  "template",  "lambda",      "closure",
    "async",      "await",      "promise",  "callback",  "event",     "queue",       "scheduler",
    "deadlock",   "race",       "mutex",    "atomic",    "signal",    "process",     "fork",
    "pipe",       "descriptor", "checksum", "hash",      "crypto",    "certificate", "tls",
    "proxy",      "gateway",    "tenant",   "quota",     "billing",   "invoice",     "customer",
    "dashboard",  "widget",     "layout",   "render",    "component", "property",    "state",
    "reducer",    "selector",   "fixture",  "mock",      "assertion", "coverage",    "regression",
};
constexpr uint32_t kWordCount = sizeof kWords / sizeof kWords[0];

std::string words(Lcg& random, int count) {
  std::string text;
  for (int index = 0; index < count; ++index) {
    if (index > 0) text += ' ';
    if (random.below(23) == 0) {
      text += "value_" + std::to_string(random.below(20000));
    } else {
      text += kWords[random.skewed(kWordCount)];
    }
  }
  return text;
}

std::string file_path(Lcg& random) {
  char path[64];
  std::snprintf(path, sizeof path, "src/module_%02u/file_%04u.cpp", random.below(40),
                random.below(4000));
  return path;
}

std::string source_lines(Lcg& random, int lines) {
  std::string text;
  char line[160];
  for (int index = 0; index < lines; ++index) {
    uint32_t a = random.below(20000);
    switch (random.below(4)) {
      case 0:
        std::snprintf(line, sizeof line, "%d | int value_%u = compute(%s, %u);\n", index + 1, a,
                      kWords[random.skewed(kWordCount)], a % 97);
        break;
      case 1:
        std::snprintf(line, sizeof line, "%d | if (%s_%u > limit) return error;\n", index + 1,
                      kWords[random.skewed(kWordCount)], a % 50);
        break;
      case 2:
        std::snprintf(line, sizeof line, "%d | // %s\n", index + 1, words(random, 8).c_str());
        break;
      default:
        std::snprintf(line, sizeof line, "%d | }\n", index + 1);
        break;
    }
    text += line;
  }
  return text;
}

// Message `index` of a task: a request, then assistant turns with tool calls and the
// tool results that answer them.
joey::llm::Message make_message(Lcg& random, int index) {
  joey::llm::Message message;
  if (index == 0) {
    message.role = joey::llm::Role::kUser;
    message.text = "Please " + words(random, 12 + static_cast<int>(random.below(30))) + " in " +
                   file_path(random);
  } else if (index % 2 == 1) {
    message.role = joey::llm::Role::kAssistant;
    message.text = words(random, 10 + static_cast<int>(random.below(50)));
    std::string path = file_path(random);
    message.tool_calls.push_back(
        {"call_" + std::to_string(index), random.below(2) ? "read_file" : "search_files",
         "{\"path\":\"" + path + "\",\"regex\":\"" + kWords[random.skewed(kWordCount)] + "\"}"});
  } else {
    message.role = joey::llm::Role::kUser;
    message.tool_results.push_back({"call_" + std::to_string(index - 1), "read_file",
                                    source_lines(random, 3 + static_cast<int>(random.below(12))),
                                    false});
  }
  return message;
}

struct History {
  fs::path directory;
  std::unique_ptr<HistoryStore> store;
  uint64_t text_bytes = 0;
};

joey::Result<History> generate_history(const char* kept_directory) {
  History history;
  if (kept_directory) {
    history.directory = kept_directory;
    bool exists = fs::exists(history.directory / "history.db");
    history.store = TRY(HistoryStore::open(history.directory / "history.db"));
    if (exists) return history;  // generated by an earlier run with the same seed
  } else {
    std::string pattern = (fs::temp_directory_path() / "joey-bench-history-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return joey::make_error(joey::ErrorKind::kIo, "cannot create a temporary directory");
    }
    history.directory = pattern;
    history.store = TRY(HistoryStore::open(history.directory / "history.db"));
  }
  Lcg random(20261125);
  for (int task = 0; task < kTasks; ++task) {
    char id[40];
    std::snprintf(id, sizeof id, "20261125T%06d-%08x", task, task * 2654435761u);
    joey::agent::TaskInfo info;
    info.task_id = id;
    info.workspace = "/home/dev/project";
    info.mode = "code";
    info.provider = "anthropic";
    info.model = "claude-sonnet-4-5";
    for (int index = 0; index < kMessagesPerTask; ++index) {
      joey::llm::Message message = make_message(random, index);
      if (index == 0) {
        info.task = message.text;
        TRY(history.store->create_task(info));
      }
      history.text_bytes += message.text.size();
      for (const auto& call : message.tool_calls) history.text_bytes += call.arguments.size();
      for (const auto& result : message.tool_results) history.text_bytes += result.content.size();
      TRY(history.store->append_message(id, message));
    }
  }
  return history;
}

std::vector<std::vector<std::string>> make_queries() {
  Lcg random(7);
  std::vector<std::vector<std::string>> queries;
  for (int index = 0; index < kQueries; ++index) {
    switch (index % 4) {
      case 0:  // a common word
        queries.push_back({kWords[random.skewed(kWordCount)]});
        break;
      case 1:  // a rare identifier
        queries.push_back({"value_" + std::to_string(random.below(20000))});
        break;
      case 2:  // two words
        queries.push_back({kWords[random.below(kWordCount)], kWords[random.below(kWordCount)]});
        break;
      default: {  // a prefix
        std::string word = kWords[random.below(kWordCount)];
        queries.push_back({word.substr(0, std::max<size_t>(3, word.size() / 2))});
        break;
      }
    }
  }
  return queries;
}

std::string joined(const std::vector<std::string>& terms) {
  std::string text;
  for (const std::string& term : terms) text += (text.empty() ? "" : " ") + term;
  return text;
}

// The reference: the same terms as substring scans, no index.
joey::Result<size_t> like_scan(sqlite3* db, const std::vector<std::string>& terms) {
  std::string sql = "SELECT task_id, COUNT(*) FROM messages WHERE text LIKE ?1";
  if (terms.size() > 1) sql += " AND text LIKE ?2";
  // Ranked by how many messages match: like bm25, every row must be looked at.
  sql += " GROUP BY task_id ORDER BY COUNT(*) DESC, task_id LIMIT " + std::to_string(kSearchLimit);
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
    return joey::make_error(joey::ErrorKind::kIo, sqlite3_errmsg(db));
  }
  for (size_t index = 0; index < terms.size() && index < 2; ++index) {
    std::string pattern = "%" + terms[index] + "%";
    sqlite3_bind_text(statement, static_cast<int>(index + 1), pattern.c_str(), -1,
                      SQLITE_TRANSIENT);
  }
  size_t rows = 0;
  int code;
  while ((code = sqlite3_step(statement)) == SQLITE_ROW) ++rows;
  sqlite3_finalize(statement);
  if (code != SQLITE_DONE) return joey::make_error(joey::ErrorKind::kIo, sqlite3_errmsg(db));
  return rows;
}

struct Latencies {
  std::vector<double> milliseconds;
  size_t hits = 0;
  double percentile(double fraction) const {
    if (milliseconds.empty()) return 0;
    std::vector<double> sorted = milliseconds;
    std::sort(sorted.begin(), sorted.end());
    size_t rank = static_cast<size_t>(fraction * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[rank];
  }
};

void run_queries(benchmark::State& state, History& history,
                 const std::vector<std::vector<std::string>>& queries, bool reference,
                 Latencies& latencies) {
  latencies = Latencies();
  size_t next = 0;
  for (auto _ : state) {
    const std::vector<std::string>& terms = queries[next++ % queries.size()];
    Clock::time_point start = Clock::now();
    size_t found = 0;
    if (reference) {
      auto rows = like_scan(history.store->connection_for_testing(), terms);
      if (!rows.ok()) {
        state.SkipWithError(rows.error().message.c_str());
        return;
      }
      found = *rows;
    } else {
      auto hits = history.store->search(joined(terms), kSearchLimit);
      if (!hits.ok()) {
        state.SkipWithError(hits.error().message.c_str());
        return;
      }
      found = hits->size();
    }
    latencies.milliseconds.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    latencies.hits += found;
  }
  state.counters["p50_ms"] = latencies.percentile(0.50);
  state.counters["p95_ms"] = latencies.percentile(0.95);
  state.counters["tasks_found_per_query"] =
      static_cast<double>(latencies.hits) / static_cast<double>(latencies.milliseconds.size());
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;

  // HISTORY_BENCH_DIR: keep the generated history there and reuse it on later runs
  // (to iterate on search without writing 100k messages each time).
  const char* kept_directory = std::getenv("HISTORY_BENCH_DIR");
  Clock::time_point start = Clock::now();
  joey::Result<History> generated = generate_history(kept_directory);
  if (!generated.ok()) {
    std::fprintf(stderr, "history_search_benchmark: %s\n", generated.error().message.c_str());
    return 1;
  }
  History history = std::move(generated).value();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::error_code error;
  uintmax_t db_bytes = fs::file_size(history.directory / "history.db", error);
  uintmax_t wal_bytes = fs::file_size(history.directory / "history.db-wal", error);
  std::printf(
      "history: %d tasks, %d messages (%.1f MB of text) written in %.1f s, one transaction "
      "each (%.0f messages/s); history.db %.1f MB + WAL %.1f MB\n",
      kTasks, kMessages, static_cast<double>(history.text_bytes) / 1e6, seconds,
      kMessages / seconds, static_cast<double>(db_bytes) / 1e6,
      error ? 0.0 : static_cast<double>(wal_bytes) / 1e6);
  std::fflush(stdout);

  const std::vector<std::vector<std::string>> queries = make_queries();
  Latencies fts;
  Latencies like;
  benchmark::RegisterBenchmark(
      "fts5_search",
      [&](benchmark::State& state) { run_queries(state, history, queries, false, fts); })
      ->Iterations(kQueries)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark(
      "like_scan",
      [&](benchmark::State& state) { run_queries(state, history, queries, true, like); })
      ->Iterations(kQueries)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RunSpecifiedBenchmarks();

  std::printf("\n");
  int exit_code = 0;
  if (fts.milliseconds.size() == static_cast<size_t>(kQueries) &&
      like.milliseconds.size() == static_cast<size_t>(kQueries)) {
    double fts_p50 = fts.percentile(0.50);
    double fts_p95 = fts.percentile(0.95);
    double like_p50 = like.percentile(0.50);
    double like_p95 = like.percentile(0.95);
    std::printf(
        "history search over %d messages, %d queries: fts5 p50 %.2f ms, p95 %.2f ms; "
        "LIKE scan p50 %.2f ms, p95 %.2f ms\n",
        kMessages, kQueries, fts_p50, fts_p95, like_p50, like_p95);
    std::printf("history_search fts5 / LIKE scan = %.3fx p50, %.3fx p95\n", fts_p50 / like_p50,
                fts_p95 / like_p95);
  } else {
    std::printf("no ratio: a benchmark failed or was filtered out\n");
    exit_code = 1;
  }
  benchmark::Shutdown();
  history.store.reset();
  if (!kept_directory) fs::remove_all(history.directory, error);
  return exit_code;
}
