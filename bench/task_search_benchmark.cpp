// Task search in joeyd over encrypted messages against a plaintext full-text index of the
// same messages, on the same database engine in the same run (issue 7, "Benchmarks").
//
//   BUILD_DIR/bench/task_search_benchmark [MESSAGES] [QUERIES]   (defaults 1000000, 200)
//
// Load: one user in one organization (one tenant, one data key); tasks of 50 generated
// agent messages (a seeded ~5,000-word vocabulary of English and code identifiers, Zipf
// distributed, 10-40 words a message), each task uploaded as one batch through
// TaskService::append_messages — the real path: sealing every message and blinding its
// terms into task_search. Loading stops at MESSAGES or after 15 minutes (the N reached is
// printed). The baseline holds the same text in the clear: on SQLite an FTS5 table
// (unicode61, detail=column) in a separate file opened with sqlite3; on PostgreSQL a
// table with a GIN-indexed to_tsvector('simple', text) in the same scratch database.
//
// Queries (1-word common, 1-word rare, 2-word, a 3-character prefix, in turn): each runs
// through TaskService::list(user, {q, limit 20}) and as the plaintext query (matches
// grouped by task, best first, 20 tasks); every query runs once untimed first. Prints p50
// and p95 of both and encrypted/plaintext ratios, per backend. PostgreSQL only when
// JOEY_BENCH_POSTGRES_URL names a superuser URL (scripts/test-postgres start DIR): a fresh
// database and login role, dropped at the end (kept with JOEY_BENCH_KEEP=1, e.g. to
// EXPLAIN a query plan afterwards). Everything else lives in a temporary
// directory that is removed.
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <libpq-fe.h>

#include "base/ids.h"
#include "cloud/identity.h"
#include "cloud/key_ring.h"
#include "cloud/org_service.h"
#include "cloud/task_service.h"
#include "crypto/key_encryption_key.h"
#include "store/database.h"

#include "bench_postgres.h"

namespace {

using namespace joey;
using joey::bench::pg_exec;
using joey::bench::with_user_and_database;
using Clock = std::chrono::steady_clock;

constexpr int kMessagesPerTask = 50;
constexpr double kLoadSeconds = 15 * 60;
constexpr size_t kVocabularySize = 5000;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A deterministic vocabulary: common English and agent words first (the most frequent
// under the Zipf draw), then generated words and code identifiers.
std::vector<std::string> make_vocabulary() {
  static const char* const kCommon[] = {
      "the",     "to",      "a",        "of",     "and",    "in",     "is",      "it",
      "for",     "that",    "this",     "with",   "on",     "file",   "test",    "function",
      "error",   "the",     "build",    "run",    "change", "fix",    "add",     "return",
      "value",   "string",  "config",   "should", "we",     "not",    "be",      "can",
      "use",     "code",    "line",     "now",    "check",  "output", "tests",   "failing",
      "compile", "update",  "new",      "type",   "class",  "method", "import",  "module",
      "path",    "read",    "write",    "let",    "me",     "look",   "at",      "see",
      "here",    "there",   "then",     "so",     "if",     "when",   "because", "null",
      "pointer", "memory",  "thread",   "lock",   "async",  "await",  "request", "response",
      "server",  "client",  "database", "query",  "index",  "search", "cache",   "token",
      "user",    "session", "commit",   "branch", "merge",  "diff",   "patch",   "review",
      "warning", "debug"};
  static const char* const kSyllables[] = {"ka",  "ro",  "mi",  "ten", "dor", "sel", "vu",  "par",
                                           "lin", "gra", "fo",  "ste", "qui", "bra", "nel", "op",
                                           "tri", "zen", "mar", "cul", "ex",  "pon", "ha",  "ri",
                                           "lo",  "dex", "mun", "sa",  "ver", "ti"};
  std::vector<std::string> words;
  std::set<std::string> seen;
  for (const char* word : kCommon) {
    if (seen.insert(word).second) words.push_back(word);
  }
  std::mt19937_64 rng(7);
  const size_t syllables = std::size(kSyllables);
  for (int attempts = 0; words.size() < kVocabularySize && attempts < 1'000'000; ++attempts) {
    std::string word;
    const int parts = 2 + static_cast<int>(rng() % 3);
    for (int part = 0; part < parts; ++part) word += kSyllables[rng() % syllables];
    switch (rng() % 5) {
      case 0:  // snake_case
        word += "_" + std::string(kSyllables[rng() % syllables]) + kSyllables[rng() % syllables];
        break;
      case 1:  // CamelCase
        word[0] = static_cast<char>(word[0] - 'a' + 'A');
        word += "Handler";
        break;
      case 2:  // with digits
        word += std::to_string(rng() % 100);
        break;
      default:
        break;
    }
    if (seen.insert(word).second) words.push_back(word);
  }
  return words;
}

// Draws word ranks with probability proportional to 1/(rank+1).
class Zipf {
 public:
  Zipf(size_t n, uint64_t seed) : rng_(seed) {
    double sum = 0;
    for (size_t rank = 0; rank < n; ++rank) cumulative_.push_back(sum += 1.0 / double(rank + 1));
  }
  size_t next() {
    const double draw = double(rng_() >> 11) * 0x1.0p-53 * cumulative_.back();
    return std::min(cumulative_.size() - 1,
                    size_t(std::lower_bound(cumulative_.begin(), cumulative_.end(), draw) -
                           cumulative_.begin()));
  }
  uint64_t raw() { return rng_(); }

 private:
  std::mt19937_64 rng_;
  std::vector<double> cumulative_;
};

std::string message_text(const std::vector<std::string>& vocabulary, Zipf& zipf) {
  const int words = 10 + static_cast<int>(zipf.raw() % 31);
  std::string text;
  for (int index = 0; index < words; ++index) {
    if (index > 0) text += (zipf.raw() % 12 == 0) ? ". " : " ";
    text += vocabulary[zipf.next()];
  }
  return text + ".";
}

std::string task_id(int64_t index) {
  char id[64];
  std::snprintf(id, sizeof id, "20261126T000000-%032llx", static_cast<unsigned long long>(index));
  return id;
}

struct Query {
  std::string kind;
  std::string words;  // what a user types (the prefix query: 3 characters)
  std::vector<std::string> terms;
  bool prefix = false;
};

std::vector<Query> make_queries(const std::vector<std::string>& vocabulary, int count) {
  std::mt19937_64 rng(11);
  auto pick = [&](size_t from, size_t to) { return vocabulary[from + rng() % (to - from)]; };
  std::vector<Query> queries;
  for (int index = 0; index < count; ++index) {
    Query query;
    switch (index % 4) {
      case 0:
        query.kind = "common";
        query.terms = {pick(0, 30)};
        break;
      case 1:
        query.kind = "rare";
        query.terms = {pick(2000, vocabulary.size())};
        break;
      case 2:
        query.kind = "two-word";
        query.terms = {pick(20, 300), pick(20, 300)};
        break;
      default: {
        query.kind = "prefix";
        std::string word = pick(90, 600);
        for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        query.terms = {word.substr(0, 3)};
        query.prefix = true;
        break;
      }
    }
    for (const std::string& term : query.terms) {
      query.words += (query.words.empty() ? "" : " ") + term;
    }
    queries.push_back(std::move(query));
  }
  return queries;
}

// The query's words as both full-text engines cut them (at every character that is not
// an ASCII letter or digit, lower-cased), so "parse_config" asks for both words, as the
// blind index does.
std::vector<std::string> words_of(const Query& query) {
  std::vector<std::string> words;
  for (const std::string& term : query.terms) {
    std::string word;
    for (const char c : term + " ") {
      if (std::isalnum(static_cast<unsigned char>(c))) {
        word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      } else if (!word.empty()) {
        words.push_back(std::move(word));
        word.clear();
      }
    }
  }
  return words;
}

// The plaintext side: loads the same messages and answers the same queries.
class Baseline {
 public:
  virtual ~Baseline() = default;
  virtual bool begin() = 0;
  virtual bool add(const std::string& task, int seq, const std::string& text) = 0;
  virtual bool commit() = 0;
  virtual bool finish_load() { return true; }
  // Returns the number of tasks found, or -1 on failure.
  virtual int search(const Query& query) = 0;
  virtual std::string error() const = 0;
};

class SqliteBaseline : public Baseline {
 public:
  explicit SqliteBaseline(const std::filesystem::path& file) {
    ok_ = sqlite3_open(file.c_str(), &db_) == SQLITE_OK &&
          exec(
              "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
              "CREATE VIRTUAL TABLE plain USING fts5(text, task_id UNINDEXED, seq UNINDEXED,"
              " tokenize = 'unicode61', detail = column);") &&
          sqlite3_prepare_v2(db_, "INSERT INTO plain (text, task_id, seq) VALUES (?, ?, ?)", -1,
                             &insert_, nullptr) == SQLITE_OK &&
          sqlite3_prepare_v2(db_,
                             "SELECT task_id, MIN(rank) AS score FROM plain WHERE plain MATCH ?"
                             " GROUP BY task_id ORDER BY score LIMIT 20",
                             -1, &search_, nullptr) == SQLITE_OK;
  }
  ~SqliteBaseline() override {
    sqlite3_finalize(insert_);
    sqlite3_finalize(search_);
    sqlite3_close(db_);
  }
  bool begin() override { return ok_ && exec("BEGIN"); }
  bool commit() override { return exec("COMMIT"); }
  bool add(const std::string& task, int seq, const std::string& text) override {
    sqlite3_bind_text(insert_, 1, text.c_str(), int(text.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(insert_, 2, task.c_str(), int(task.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int(insert_, 3, seq);
    const bool done = sqlite3_step(insert_) == SQLITE_DONE;
    sqlite3_reset(insert_);
    return done;
  }
  int search(const Query& query) override {
    std::string match;
    for (const std::string& word : words_of(query)) {
      match += (match.empty() ? "\"" : " AND \"") + word + "\"" + (query.prefix ? "*" : "");
    }
    sqlite3_bind_text(search_, 1, match.c_str(), int(match.size()), SQLITE_TRANSIENT);
    int rows = 0;
    int step = SQLITE_ROW;
    while ((step = sqlite3_step(search_)) == SQLITE_ROW) ++rows;
    sqlite3_reset(search_);
    return step == SQLITE_DONE ? rows : -1;
  }
  std::string error() const override { return db_ ? sqlite3_errmsg(db_) : "cannot open"; }

 private:
  bool exec(const char* sql) {
    return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* search_ = nullptr;
  bool ok_ = false;
};

class PostgresBaseline : public Baseline {
 public:
  explicit PostgresBaseline(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
    ok_ = PQstatus(conn_) == CONNECTION_OK &&
          command(
              "CREATE TABLE plain_messages (task_id TEXT NOT NULL, seq INTEGER NOT NULL,"
              " text TEXT NOT NULL, terms TSVECTOR GENERATED ALWAYS AS"
              " (to_tsvector('simple', text)) STORED, PRIMARY KEY (task_id, seq));"
              "CREATE INDEX plain_terms ON plain_messages USING GIN (terms)") &&
          prepare("insert", "INSERT INTO plain_messages (task_id, seq, text) VALUES ($1, $2, $3)",
                  3) &&
          prepare("search",
                  "SELECT task_id, MAX(ts_rank(terms, q)) AS score FROM plain_messages,"
                  " to_tsquery('simple', $1) q WHERE terms @@ q GROUP BY task_id"
                  " ORDER BY score DESC LIMIT 20",
                  1);
  }
  ~PostgresBaseline() override { PQfinish(conn_); }
  bool begin() override { return ok_ && command("BEGIN"); }
  bool commit() override { return command("COMMIT"); }
  bool finish_load() override { return command("ANALYZE plain_messages"); }
  bool add(const std::string& task, int seq, const std::string& text) override {
    const std::string number = std::to_string(seq);
    const char* values[] = {task.c_str(), number.c_str(), text.c_str()};
    return check(PQexecPrepared(conn_, "insert", 3, values, nullptr, nullptr, 0), PGRES_COMMAND_OK);
  }
  int search(const Query& query) override {
    std::string match;
    for (const std::string& word : words_of(query)) {
      match += (match.empty() ? "" : " & ") + word + (query.prefix ? ":*" : "");
    }
    const char* values[] = {match.c_str()};
    PGresult* result = PQexecPrepared(conn_, "search", 1, values, nullptr, nullptr, 0);
    const int rows = PQresultStatus(result) == PGRES_TUPLES_OK ? PQntuples(result) : -1;
    if (rows < 0) error_ = PQresultErrorMessage(result);
    PQclear(result);
    return rows;
  }
  std::string error() const override {
    return error_.empty() ? std::string(PQerrorMessage(conn_)) : error_;
  }

 private:
  bool check(PGresult* result, ExecStatusType expected) {
    const bool ok = PQresultStatus(result) == expected;
    if (!ok) error_ = PQresultErrorMessage(result);
    PQclear(result);
    return ok;
  }
  bool command(const char* sql) { return check(PQexec(conn_, sql), PGRES_COMMAND_OK); }
  bool prepare(const char* name, const char* sql, int params) {
    return check(PQprepare(conn_, name, sql, params, nullptr), PGRES_COMMAND_OK);
  }
  PGconn* conn_;
  std::string error_;
  bool ok_ = false;
};

struct Percentiles {
  double p50 = 0;
  double p95 = 0;
};

Percentiles percentiles(std::vector<double> samples) {
  if (samples.empty()) return {};
  std::sort(samples.begin(), samples.end());
  return {samples[samples.size() / 2],
          samples[std::min(samples.size() - 1, samples.size() * 95 / 100)]};
}

int run_case(const std::string& label, const std::string& location,
             const store::OpenOptions& open_options, Baseline& baseline, int64_t messages,
             int query_count) {
  Result<std::unique_ptr<store::Database>> database = store::Database::open(location, open_options);
  if (!database.ok()) {
    std::fprintf(stderr, "%s: %s\n", label.c_str(), database.error().message.c_str());
    return 1;
  }
  cloud::IdentityOptions identity_options;
  identity_options.password_cost = crypto::PasswordCost::kTesting;
  cloud::IdentityService identity(**database, identity_options);
  cloud::KeyRing keys(**database, crypto::KeyEncryptionKey::generate());
  cloud::OrgService orgs(**database, keys);
  cloud::TaskService tasks(**database, keys, orgs);
  Result<cloud::NewSession> session =
      identity.signup("bench@example.com", "a long passphrase", "Bench");
  if (!session.ok()) {
    std::fprintf(stderr, "%s: signup: %s\n", label.c_str(), session.error().message.c_str());
    return 1;
  }
  const cloud::User user = session->user;
  if (Result<cloud::OrgInfo> org = orgs.create_org(user, "Bench"); !org.ok()) {
    std::fprintf(stderr, "%s: organization: %s\n", label.c_str(), org.error().message.c_str());
    return 1;
  }

  const std::vector<std::string> vocabulary = make_vocabulary();
  // Encrypted load, then the plaintext load of the same text (regenerated from the seed).
  int64_t loaded = 0;
  const Clock::time_point load_start = Clock::now();
  {
    Zipf zipf(vocabulary.size(), 42);
    int64_t ts = 1'795'000'000'000;
    for (int64_t task = 0; loaded < messages && seconds_since(load_start) < kLoadSeconds; ++task) {
      cloud::MessageBatch batch;
      batch.batch_id = "batch-" + std::to_string(task);
      batch.mode = "code";
      batch.model = "gpt-4o";
      batch.title = "task " + std::to_string(task);
      for (int index = 0; index < kMessagesPerTask && loaded + index < messages; ++index) {
        batch.messages.push_back(
            {ts++, index % 2 == 0 ? "user" : "assistant", message_text(vocabulary, zipf)});
      }
      Result<cloud::UploadResult> stored = tasks.append_messages(user, task_id(task), batch);
      if (!stored.ok() || stored->outcome != cloud::UploadOutcome::kStored) {
        std::fprintf(stderr, "%s: upload: %s\n", label.c_str(),
                     stored.ok() ? "not stored" : stored.error().message.c_str());
        return 1;
      }
      const int64_t before = loaded;
      loaded += int64_t(batch.messages.size());
      if (loaded / 100'000 != before / 100'000) {
        std::printf("%-8s ... %lld messages uploaded in %.0f s\n", label.c_str(),
                    static_cast<long long>(loaded), seconds_since(load_start));
      }
    }
  }
  const double load_seconds = seconds_since(load_start);
  const Clock::time_point plain_start = Clock::now();
  {
    Zipf zipf(vocabulary.size(), 42);
    int64_t done = 0;
    for (int64_t task = 0; done < loaded; ++task) {
      bool ok = baseline.begin();
      for (int index = 0; ok && index < kMessagesPerTask && done < loaded; ++index, ++done) {
        ok = baseline.add(task_id(task), index, message_text(vocabulary, zipf));
      }
      if (!ok || !baseline.commit()) {
        std::fprintf(stderr, "%s: plaintext load: %s\n", label.c_str(), baseline.error().c_str());
        return 1;
      }
    }
    if (!baseline.finish_load()) {
      std::fprintf(stderr, "%s: plaintext load: %s\n", label.c_str(), baseline.error().c_str());
      return 1;
    }
  }
  const double plain_seconds = seconds_since(plain_start);
  std::printf("%-8s loaded %lld messages in %lld tasks%s\n", label.c_str(),
              static_cast<long long>(loaded),
              static_cast<long long>((loaded + kMessagesPerTask - 1) / kMessagesPerTask),
              loaded < messages ? " (stopped at the 15-minute load limit)" : "");
  std::printf("%-8s upload   encrypted %8.0f messages/s   plaintext %8.0f messages/s\n",
              label.c_str(), double(loaded) / load_seconds, double(loaded) / plain_seconds);

  // Queries: warm each once, then time each once.
  const std::vector<Query> queries = make_queries(vocabulary, query_count);
  std::vector<std::vector<double>> encrypted(5);  // by kind index, [4] = all
  std::vector<std::vector<double>> plain(5);
  int64_t encrypted_hits = 0;
  int64_t plain_hits = 0;
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t index = 0; index < queries.size(); ++index) {
      const Query& query = queries[index];
      cloud::TaskQuery task_query;
      task_query.q = query.words;
      task_query.limit = 20;
      Clock::time_point start = Clock::now();
      Result<cloud::TaskPage> page = tasks.list(user, task_query);
      const double encrypted_ms = seconds_since(start) * 1000;
      if (!page.ok()) {
        std::fprintf(stderr, "%s: search: %s\n", label.c_str(), page.error().message.c_str());
        return 1;
      }
      start = Clock::now();
      const int found = baseline.search(query);
      const double plain_ms = seconds_since(start) * 1000;
      if (found < 0) {
        std::fprintf(stderr, "%s: plaintext search: %s\n", label.c_str(), baseline.error().c_str());
        return 1;
      }
      if (pass == 0) continue;
      encrypted_hits += int64_t(page->tasks.size());
      plain_hits += found;
      for (size_t slot : {index % 4, size_t(4)}) {
        encrypted[slot].push_back(encrypted_ms);
        plain[slot].push_back(plain_ms);
      }
    }
  }
  static const char* const kKinds[] = {"common", "rare", "two-word", "prefix", "all"};
  for (size_t slot = 0; slot < 5; ++slot) {
    if (encrypted[slot].empty()) continue;
    const Percentiles e = percentiles(encrypted[slot]);
    const Percentiles p = percentiles(plain[slot]);
    std::printf(
        "%-8s %-8s encrypted p50 %7.3f ms p95 %7.3f ms   plaintext p50 %7.3f ms p95 %7.3f ms\n",
        label.c_str(), kKinds[slot], e.p50, e.p95, p.p50, p.p95);
    if (slot == 4) {
      std::printf(
          "%-8s search ratio encrypted/plaintext = %.2fx the p50, %.2fx the p95"
          " (%lld vs %lld tasks returned)\n\n",
          label.c_str(), e.p50 / std::max(p.p50, 1e-9), e.p95 / std::max(p.p95, 1e-9),
          static_cast<long long>(encrypted_hits), static_cast<long long>(plain_hits));
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const long long messages = argc > 1 ? std::atoll(argv[1]) : 1'000'000;
  const int query_count = argc > 2 ? std::atoi(argv[2]) : 200;
  if (messages < 1 || messages > 100'000'000 || query_count < 4 || query_count > 100'000) {
    std::fprintf(stderr,
                 "usage: task_search_benchmark [MESSAGES 1-100000000] [QUERIES 4-100000]\n");
    return 2;
  }
  // Line by line even into a pipe or a file, so a long load shows its progress.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::printf("joeyd task search: %lld messages (tasks of %d), %d queries, limit 20\n\n", messages,
              kMessagesPerTask, query_count);
  std::string pattern =
      (std::filesystem::temp_directory_path() / "joey-bench-task-search-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) return 1;
  const std::filesystem::path root = pattern;
  int status = 0;
  {
    SqliteBaseline baseline(root / "plain.db");
    status = run_case("sqlite", (root / "joey.db").string(), store::OpenOptions{}, baseline,
                      messages, query_count);
  }

  const char* admin = std::getenv("JOEY_BENCH_POSTGRES_URL");
  if (admin && *admin) {
    const std::string name = "joey_bench_" + random_hex(4);
    std::string error = pg_exec(admin, "CREATE DATABASE " + name);
    // The login role is a member of joey_app, the role migrations grant to.
    (void)pg_exec(admin, "CREATE ROLE joey_app NOLOGIN");  // may exist already
    if (error.empty())
      error = pg_exec(admin, "CREATE ROLE " + name + "_login LOGIN IN ROLE joey_app");
    if (!error.empty()) {
      std::fprintf(stderr, "postgres: %s\n", error.c_str());
      status = 1;
    } else {
      // Migrations as the cluster's superuser (the owner), serving as the login role; the
      // plaintext table belongs to the superuser, in the same database.
      const std::string owner = with_user_and_database(admin, "postgres", name);
      store::OpenOptions options;
      options.owner_location = owner;
      PostgresBaseline baseline(owner);
      status |= run_case("postgres", with_user_and_database(admin, name + "_login", name), options,
                         baseline, messages, query_count);
    }
    const char* keep = std::getenv("JOEY_BENCH_KEEP");
    if (keep && std::string(keep) == "1") {
      std::printf("postgres: kept database %s and role %s_login (JOEY_BENCH_KEEP=1)\n",
                  name.c_str(), name.c_str());
    } else {
      pg_exec(admin, "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
      pg_exec(admin, "DROP ROLE IF EXISTS " + name + "_login");
    }
  } else {
    std::printf(
        "postgres: skipped (set JOEY_BENCH_POSTGRES_URL to a superuser URL from "
        "scripts/test-postgres start DIR)\n");
  }
  std::filesystem::remove_all(root);
  return status;
}
