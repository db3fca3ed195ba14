// Full-text search over the local task history (client/history_store.h) against the
// same search run directly through the sqlite3 API.
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
// or a word prefix, in a fixed mix. Three ways to answer each, on the same connection:
//   fts5_search  HistoryStore::search(query, 10): the FTS5 index, bm25 ranking, the
//                best message per task and its snippet (what `joey history search` does)
//   fts5_direct  the reference: the very SQL HistoryStore::search runs (the ranking
//                query, then one snippet query per hit) with the same MATCH expression
//                (fts_query_from_user_input), prepared once and stepped through the
//                sqlite3 API, every column copied out. The ratio is what joey's layer
//                costs over SQLite doing the same work; both must find the same tasks
//   like_scan    for scale, no index: SELECT task_id, COUNT(*) FROM messages WHERE
//                text LIKE '%term%' [AND text LIKE '%term2%'] GROUP BY task_id ORDER BY
//                COUNT(*) DESC LIMIT 10: a ranking (by matching messages) that, like
//                bm25, must read every row; it shows what the index buys
// Each query is timed alone (wall time). fts5_search and fts5_direct answer each query
// one right after the other (alternating which goes first), so load from elsewhere falls
// on both alike; like_scan runs as a pass of its own. The summary prints p50 and p95 of
// each and the ratios. The page cache is warm (the database was just written) and every
// method runs the query set once untimed before its timed pass.
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
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

// The reference: HistoryStore::search's SQL (keep in step with src/client/history_store.cpp),
// statements prepared once, run straight through the sqlite3 API.
class DirectFts {
 public:
  static joey::Result<DirectFts> prepare(sqlite3* db) {
    DirectFts direct;
    direct.db_ = db;
    TRY(direct.prepare_one(
        "SELECT m.task_id, messages_fts.rowid, MIN(messages_fts.rank) AS score, COUNT(*) "
        "FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid "
        "WHERE messages_fts MATCH ?1 GROUP BY m.task_id ORDER BY score LIMIT ?2",
        &direct.best_));
    TRY(direct.prepare_one(
        "SELECT snippet(messages_fts, 0, '**', '**', '…', 16), m.seq, m.role, t.title, "
        "t.created_at, t.status FROM messages_fts JOIN messages m ON m.id = "
        "messages_fts.rowid JOIN tasks t ON t.id = m.task_id WHERE messages_fts MATCH ?1 AND "
        "messages_fts.rowid = ?2",
        &direct.detail_));
    return direct;
  }
  DirectFts() = default;
  DirectFts(DirectFts&& other) noexcept
      : db_(other.db_),
        best_(std::exchange(other.best_, nullptr)),
        detail_(std::exchange(other.detail_, nullptr)) {}
  DirectFts& operator=(DirectFts&&) = delete;
  ~DirectFts() {
    sqlite3_finalize(best_);
    sqlite3_finalize(detail_);
  }

  // The number of tasks found for `match` (an FTS5 expression), snippets read as well.
  joey::Result<size_t> search(const std::string& match) {
    struct Hit {
      std::string task_id, snippet, role, title, created_at, status;
      int64_t rowid = 0, seq = 0, matching = 0;
      double score = 0;
    };
    std::vector<Hit> hits;
    sqlite3_reset(best_);
    sqlite3_bind_text(best_, 1, match.c_str(), static_cast<int>(match.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int(best_, 2, kSearchLimit);
    int code;
    while ((code = sqlite3_step(best_)) == SQLITE_ROW) {
      Hit hit;
      hit.task_id = column_text(best_, 0);
      hit.rowid = sqlite3_column_int64(best_, 1);
      hit.score = sqlite3_column_double(best_, 2);
      hit.matching = sqlite3_column_int64(best_, 3);
      hits.push_back(std::move(hit));
    }
    if (code != SQLITE_DONE) return error();
    for (Hit& hit : hits) {
      sqlite3_reset(detail_);
      sqlite3_bind_text(detail_, 1, match.c_str(), static_cast<int>(match.size()),
                        SQLITE_TRANSIENT);
      sqlite3_bind_int64(detail_, 2, hit.rowid);
      code = sqlite3_step(detail_);
      if (code == SQLITE_DONE) continue;
      if (code != SQLITE_ROW) return error();
      hit.snippet = column_text(detail_, 0);
      hit.seq = sqlite3_column_int64(detail_, 1);
      hit.role = column_text(detail_, 2);
      hit.title = column_text(detail_, 3);
      hit.created_at = column_text(detail_, 4);
      hit.status = column_text(detail_, 5);
    }
    sqlite3_reset(detail_);
    sqlite3_reset(best_);
    return hits.size();
  }

 private:
  joey::Status prepare_one(const char* sql, sqlite3_stmt** statement) {
    if (sqlite3_prepare_v2(db_, sql, -1, statement, nullptr) != SQLITE_OK) return error();
    return joey::ok_status();
  }
  joey::Error error() const { return joey::make_error(joey::ErrorKind::kIo, sqlite3_errmsg(db_)); }
  static std::string column_text(sqlite3_stmt* statement, int column) {
    const unsigned char* text = sqlite3_column_text(statement, column);
    return text ? std::string(reinterpret_cast<const char*>(text),
                              static_cast<size_t>(sqlite3_column_bytes(statement, column)))
                : std::string();
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* best_ = nullptr;
  sqlite3_stmt* detail_ = nullptr;
};

// For scale: the same terms as substring scans, no index.
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
  std::vector<size_t> found;  // tasks found, per query in order
  double percentile(double fraction) const {
    if (milliseconds.empty()) return 0;
    std::vector<double> sorted = milliseconds;
    std::sort(sorted.begin(), sorted.end());
    size_t rank = static_cast<size_t>(fraction * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[rank];
  }
  size_t total_found() const {
    size_t total = 0;
    for (size_t count : found) total += count;
    return total;
  }
};

enum class Method { kJoey, kDirect, kLikeScan };

struct Searcher {
  History* history;
  DirectFts* direct;
  joey::Result<size_t> run(Method method, const std::vector<std::string>& terms) {
    switch (method) {
      case Method::kJoey: {
        auto hits = history->store->search(joined(terms), kSearchLimit);
        if (!hits.ok()) return hits.error();
        return hits->size();
      }
      case Method::kDirect:
        return direct->search(joey::client::fts_query_from_user_input(joined(terms)));
      case Method::kLikeScan:
        return like_scan(history->store->connection_for_testing(), terms);
    }
    return size_t{0};
  }
};

// Times each query alone and records it in `latencies`, after an untimed pass over the
// query set (the LIKE scan reads the whole table every time, so a few queries warm it
// as well as all of them would).
bool warm_up(benchmark::State& state, Searcher& searcher,
             const std::vector<std::vector<std::string>>& queries, Method method) {
  size_t count = method == Method::kLikeScan ? std::min<size_t>(4, queries.size()) : queries.size();
  for (size_t index = 0; index < count; ++index) {
    auto found = searcher.run(method, queries[index]);
    if (!found.ok()) {
      state.SkipWithError(found.error().message.c_str());
      return false;
    }
  }
  return true;
}

bool timed(benchmark::State& state, Searcher& searcher, const std::vector<std::string>& terms,
           Method method, Latencies& latencies) {
  Clock::time_point start = Clock::now();
  joey::Result<size_t> found = searcher.run(method, terms);
  double elapsed = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  if (!found.ok()) {
    state.SkipWithError(found.error().message.c_str());
    return false;
  }
  latencies.milliseconds.push_back(elapsed);
  latencies.found.push_back(*found);
  return true;
}

void set_counters(benchmark::State& state, const Latencies& latencies, const char* prefix) {
  if (latencies.milliseconds.empty()) return;
  const std::string name = prefix;
  state.counters[name + "p50_ms"] = latencies.percentile(0.50);
  state.counters[name + "p95_ms"] = latencies.percentile(0.95);
  state.counters[name + "found"] = static_cast<double>(latencies.total_found()) /
                                   static_cast<double>(latencies.milliseconds.size());
}

// One iteration per query. `second` (when set) answers the same query right after
// `first`, the order swapped on every other query, so that load from elsewhere falls on
// both alike.
void run_queries(benchmark::State& state, Searcher& searcher,
                 const std::vector<std::vector<std::string>>& queries, Method first,
                 Latencies& first_latencies, std::optional<Method> second,
                 Latencies* second_latencies) {
  first_latencies = Latencies();
  if (second_latencies) *second_latencies = Latencies();
  if (!warm_up(state, searcher, queries, first)) return;
  if (second && !warm_up(state, searcher, queries, *second)) return;
  size_t next = 0;
  for (auto _ : state) {
    const size_t index = next++;
    const std::vector<std::string>& terms = queries[index % queries.size()];
    const bool swapped = second && index % 2 == 1;
    if (swapped && !timed(state, searcher, terms, *second, *second_latencies)) return;
    if (!timed(state, searcher, terms, first, first_latencies)) return;
    if (second && !swapped && !timed(state, searcher, terms, *second, *second_latencies)) return;
  }
  set_counters(state, first_latencies, second ? "joey_" : "");
  if (second) set_counters(state, *second_latencies, "sqlite3_");
}

bool complete(const Latencies& latencies) {
  return latencies.milliseconds.size() == static_cast<size_t>(kQueries);
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
  if (history.text_bytes == 0) {
    std::printf("history: %d tasks, %d messages reused from %s; history.db %.1f MB\n", kTasks,
                kMessages, history.directory.c_str(), static_cast<double>(db_bytes) / 1e6);
  } else {
    std::printf(
        "history: %d tasks, %d messages (%.1f MB of text) written in %.1f s, one transaction "
        "each (%.0f messages/s); history.db %.1f MB + WAL %.1f MB\n",
        kTasks, kMessages, static_cast<double>(history.text_bytes) / 1e6, seconds,
        kMessages / seconds, static_cast<double>(db_bytes) / 1e6,
        error ? 0.0 : static_cast<double>(wal_bytes) / 1e6);
  }
  std::fflush(stdout);

  joey::Result<DirectFts> direct = DirectFts::prepare(history.store->connection_for_testing());
  if (!direct.ok()) {
    std::fprintf(stderr, "history_search_benchmark: %s\n", direct.error().message.c_str());
    return 1;
  }
  Searcher searcher{&history, &*direct};
  const std::vector<std::vector<std::string>> queries = make_queries();
  Latencies joey_search;
  Latencies direct_search;
  Latencies like;
  benchmark::RegisterBenchmark("fts5_search_vs_direct",
                               [&](benchmark::State& state) {
                                 run_queries(state, searcher, queries, Method::kJoey, joey_search,
                                             Method::kDirect, &direct_search);
                               })
      ->Iterations(kQueries)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("like_scan",
                               [&](benchmark::State& state) {
                                 run_queries(state, searcher, queries, Method::kLikeScan, like,
                                             std::nullopt, nullptr);
                               })
      ->Iterations(kQueries)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RunSpecifiedBenchmarks();

  std::printf("\n");
  int exit_code = 0;
  if (complete(joey_search) && complete(direct_search)) {
    if (joey_search.found != direct_search.found) {
      std::printf("no ratio: joey and the direct FTS5 query found different tasks\n");
      exit_code = 1;
    } else {
      std::printf(
          "history search over %d messages, %d queries (%.1f tasks found per query): joey p50 "
          "%.3f ms, p95 %.3f ms; same FTS5 SQL through sqlite3 p50 %.3f ms, p95 %.3f ms\n",
          kMessages, kQueries,
          static_cast<double>(joey_search.total_found()) / static_cast<double>(kQueries),
          joey_search.percentile(0.50), joey_search.percentile(0.95),
          direct_search.percentile(0.50), direct_search.percentile(0.95));
      std::printf(
          "  history search: joey / same FTS5 query through sqlite3 = %.2fx p50, %.2fx p95\n",
          joey_search.percentile(0.50) / direct_search.percentile(0.50),
          joey_search.percentile(0.95) / direct_search.percentile(0.95));
    }
  } else {
    std::printf("no ratio: a benchmark failed or was filtered out\n");
    exit_code = 1;
  }
  if (complete(joey_search) && complete(like)) {
    std::printf("unindexed LIKE scan p50 %.2f ms, p95 %.2f ms\n", like.percentile(0.50),
                like.percentile(0.95));
    std::printf("  history search: joey / unindexed LIKE scan = %.3fx p50, %.3fx p95\n",
                joey_search.percentile(0.50) / like.percentile(0.50),
                joey_search.percentile(0.95) / like.percentile(0.95));
  }
  benchmark::Shutdown();
  history.store.reset();
  if (!kept_directory) fs::remove_all(history.directory, error);
  return exit_code;
}
