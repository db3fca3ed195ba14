// The local task history: the stored message format, the store's writes, reads,
// search and deletes, and the properties of the file itself (mode, schema version,
// deleted text really gone).
#include "client/history_store.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "client/message_codec.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "joey-history-test-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code error;
    fs::remove_all(path_, error);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

llm::Message user_text(const std::string& text) {
  llm::Message message;
  message.role = llm::Role::kUser;
  message.text = text;
  return message;
}

llm::Message assistant_call(const std::string& text, const std::string& tool,
                            const std::string& arguments) {
  llm::Message message;
  message.role = llm::Role::kAssistant;
  message.text = text;
  message.tool_calls.push_back({"call_1", tool, arguments});
  return message;
}

llm::Message tool_results(const std::string& content, bool is_error) {
  llm::Message message;
  message.role = llm::Role::kUser;
  message.tool_results.push_back({"call_1", "read_file", content, is_error});
  return message;
}

void expect_same_message(const llm::Message& expected, const llm::Message& actual) {
  EXPECT_EQ(expected.role, actual.role);
  EXPECT_EQ(expected.text, actual.text);
  ASSERT_EQ(expected.tool_calls.size(), actual.tool_calls.size());
  for (size_t index = 0; index < expected.tool_calls.size(); ++index) {
    EXPECT_EQ(expected.tool_calls[index].id, actual.tool_calls[index].id);
    EXPECT_EQ(expected.tool_calls[index].name, actual.tool_calls[index].name);
    EXPECT_EQ(expected.tool_calls[index].arguments, actual.tool_calls[index].arguments);
  }
  ASSERT_EQ(expected.tool_results.size(), actual.tool_results.size());
  for (size_t index = 0; index < expected.tool_results.size(); ++index) {
    const llm::ToolResult& want = expected.tool_results[index];
    const llm::ToolResult& got = actual.tool_results[index];
    EXPECT_EQ(want.tool_call_id, got.tool_call_id);
    EXPECT_EQ(want.tool_name, got.tool_name);
    EXPECT_EQ(want.content, got.content);
    EXPECT_EQ(want.is_error, got.is_error);
  }
}

agent::TaskInfo task_info(const std::string& id, const std::string& task) {
  agent::TaskInfo info;
  info.task_id = id;
  info.workspace = "/home/someone/project";
  info.mode = "code";
  info.provider = "anthropic";
  info.model = "claude-sonnet-4-5";
  info.task = task;
  return info;
}

// ---- message codec ----

TEST(MessageCodec, RoundTripsEveryField) {
  llm::Message calls = assistant_call("Let me look.", "read_file", R"({"path":"a.txt"})");
  calls.tool_calls.push_back({"call_2", "list_files", "{not json"});
  llm::Message results = tool_results("line 1\nline 2", true);
  results.text = "and a note";
  for (const llm::Message& message : {user_text("héllo \"quoted\""), calls, results}) {
    Result<llm::Message> back = message_from_json_text(message_to_json_text(message));
    ASSERT_TRUE(back.ok()) << back.error().message;
    expect_same_message(message, *back);
  }
}

TEST(MessageCodec, InvalidUtf8BecomesReplacementCharacterInsteadOfThrowing) {
  llm::Message message = user_text(std::string("bad \xff\xfe bytes"));
  std::string text = message_to_json_text(message);
  Result<llm::Message> back = message_from_json_text(text);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->text, "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes");
}

TEST(MessageCodec, RejectsMalformedStoredMessagesWithInvalidArgument) {
  const char* const bad_inputs[] = {
      "",
      "not json",
      "[]",
      "42",
      "{}",
      R"({"role": "system", "text": "x"})",
      R"({"role": 3})",
      R"({"role": "user", "text": 5})",
      R"({"role": "user", "tool_calls": {}})",
      R"({"role": "assistant", "tool_calls": [5]})",
      R"({"role": "assistant", "tool_calls": [{"id": "x"}]})",
      R"({"role": "assistant", "tool_calls": [{"name": ["x"]}]})",
      R"({"role": "user", "tool_results": [{"content": 1}]})",
      R"({"role": "user", "tool_results": [{"is_error": "yes"}]})",
      "{\"role\": \"user\", \"text\": \"\xff\"}",
  };
  for (const char* input : bad_inputs) {
    Result<llm::Message> message = message_from_json_text(input);
    ASSERT_FALSE(message.ok()) << input;
    EXPECT_EQ(message.error().kind, ErrorKind::kInvalidArgument) << input;
  }
}

TEST(MessageCodec, AcceptsAbsentOptionalFieldsAndIgnoresUnknownOnes) {
  Result<llm::Message> message = message_from_json_text(
      R"({"role": "assistant", "future_field": {"x": 1}, "tool_calls": [{"name": "ls"}]})");
  ASSERT_TRUE(message.ok()) << message.error().message;
  EXPECT_EQ(message->role, llm::Role::kAssistant);
  EXPECT_EQ(message->text, "");
  ASSERT_EQ(message->tool_calls.size(), 1u);
  EXPECT_EQ(message->tool_calls[0].name, "ls");
}

TEST(MessageCodec, SearchTextHoldsTextArgumentsAndResults) {
  llm::Message calls = assistant_call("Reading it", "read_file", R"({"path":"src/zebra.cpp"})");
  std::string text = message_search_text(calls);
  EXPECT_NE(text.find("Reading it"), std::string::npos);
  EXPECT_NE(text.find("src/zebra.cpp"), std::string::npos);
  EXPECT_NE(message_search_text(tool_results("giraffe output", false)).find("giraffe"),
            std::string::npos);
}

// ---- titles and queries ----

TEST(TaskTitle, IsTheFirstNonEmptyLineTrimmed) {
  EXPECT_EQ(task_title("\n  \n  Fix the failing test  \nmore detail"), "Fix the failing test");
  EXPECT_EQ(task_title(""), "");
}

TEST(TaskTitle, CutsLongTitlesAtACharacterBoundary) {
  std::string long_task;
  for (int index = 0; index < 200; ++index) long_task += "é";
  std::string title = task_title(long_task);
  // 119 two-byte characters and the three-byte ellipsis.
  EXPECT_EQ(title.size(), 119u * 2 + 3);
  EXPECT_EQ(title.substr(title.size() - 3), "…");
  EXPECT_EQ(task_title(std::string(120, 'a')), std::string(120, 'a'));
}

TEST(FtsQuery, QuotesTermsAndMakesTheLastAPrefix) {
  EXPECT_EQ(fts_query_from_user_input("failing test"), R"("failing" AND "test"*)");
  EXPECT_EQ(fts_query_from_user_input(R"(say "hi")"), R"("say" AND """hi"""*)");
  EXPECT_EQ(fts_query_from_user_input("  * ( ) \" "), "");
  EXPECT_EQ(fts_query_from_user_input(""), "");
  EXPECT_EQ(fts_query_from_user_input(std::string("a\0b\x01", 4)), R"("a" AND "b"*)");
}

// ---- the store ----

class HistoryStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = temp_.path() / "home" / "history.db";
    Result<std::unique_ptr<HistoryStore>> opened = HistoryStore::open(path_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened).value();
  }

  void add_task(const std::string& id, const std::string& task,
                const std::vector<llm::Message>& messages) {
    ASSERT_TRUE(store_->create_task(task_info(id, task)).ok());
    for (const llm::Message& message : messages) {
      Status appended = store_->append_message(id, message);
      ASSERT_TRUE(appended.ok()) << appended.error().message;
    }
  }

  std::string file_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  TempDir temp_;
  fs::path path_;
  std::unique_ptr<HistoryStore> store_;
};

TEST_F(HistoryStoreTest, StoresTasksAndMessagesInOrder) {
  std::vector<llm::Message> messages = {
      user_text("Fix the failing test"),
      assistant_call("Looking", "read_file", R"({"path":"t.cpp"})"),
      tool_results("int main() {}", false),
  };
  add_task("20261125T154419-1a2b3c4d", "Fix the failing test\nin t.cpp", messages);
  agent::UsageTotals totals;
  totals.usage.input_tokens = 1200;
  totals.usage.output_tokens = 30;
  totals.usage.cache_read_tokens = 500;
  totals.cost_usd = 0.0123;
  ASSERT_TRUE(store_->update_totals("20261125T154419-1a2b3c4d", totals, 2).ok());
  ASSERT_TRUE(
      store_->finish_task("20261125T154419-1a2b3c4d", agent::TaskStatus::kCompleted, "Fixed it.")
          .ok());

  Result<TaskRecord> record = store_->get("20261125T154419-1a2b3c4d");
  ASSERT_TRUE(record.ok()) << record.error().message;
  const TaskSummary& summary = record->summary;
  EXPECT_EQ(summary.title, "Fix the failing test");
  EXPECT_EQ(summary.status, "completed");
  EXPECT_EQ(summary.detail, "Fixed it.");
  EXPECT_EQ(summary.workspace, "/home/someone/project");
  EXPECT_EQ(summary.model, "claude-sonnet-4-5");
  EXPECT_EQ(summary.requests, 2);
  EXPECT_EQ(summary.totals.usage.input_tokens, 1200);
  EXPECT_EQ(summary.totals.usage.cache_read_tokens, 500);
  ASSERT_TRUE(summary.totals.cost_usd.has_value());
  EXPECT_DOUBLE_EQ(*summary.totals.cost_usd, 0.0123);
  EXPECT_EQ(summary.message_count, 3);
  EXPECT_EQ(summary.created_at.size(), 24u) << summary.created_at;
  ASSERT_EQ(record->messages.size(), messages.size());
  for (size_t index = 0; index < messages.size(); ++index) {
    expect_same_message(messages[index], record->messages[index]);
  }
}

TEST_F(HistoryStoreTest, UnknownCostStaysUnknown) {
  add_task("t1", "a task", {});
  agent::UsageTotals totals;
  totals.usage.output_tokens = 5;
  ASSERT_TRUE(store_->update_totals("t1", totals, 1).ok());
  Result<TaskRecord> record = store_->get("t1");
  ASSERT_TRUE(record.ok());
  EXPECT_FALSE(record->summary.totals.cost_usd.has_value());
}

TEST_F(HistoryStoreTest, ResumingATaskKeepsItsTitleAndContinuesItsMessages) {
  add_task("t1", "original request", {user_text("first"), user_text("second")});
  ASSERT_TRUE(store_->finish_task("t1", agent::TaskStatus::kFailed, "boom").ok());
  agent::TaskInfo again = task_info("t1", "continue please");
  again.model = "gpt-4.1";
  ASSERT_TRUE(store_->create_task(again).ok());
  ASSERT_TRUE(store_->append_message("t1", user_text("third")).ok());

  Result<TaskRecord> record = store_->get("t1");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->summary.title, "original request");
  EXPECT_EQ(record->summary.status, "running");
  EXPECT_EQ(record->summary.model, "gpt-4.1");
  Result<std::vector<llm::Message>> messages = store_->load_messages("t1");
  ASSERT_TRUE(messages.ok());
  ASSERT_EQ(messages->size(), 3u);
  EXPECT_EQ((*messages)[2].text, "third");
}

TEST_F(HistoryStoreTest, UnknownTaskIsNotFoundAndSuggestsTheList) {
  for (Error error : {store_->get("nope").error(), store_->load_messages("nope").error(),
                      store_->append_message("nope", user_text("x")).error(),
                      store_->update_totals("nope", {}, 1).error(),
                      store_->finish_task("nope", agent::TaskStatus::kCompleted, "").error(),
                      store_->delete_task("nope").error()}) {
    EXPECT_EQ(error.kind, ErrorKind::kNotFound);
    EXPECT_NE(error.message.find("'nope'"), std::string::npos) << error.message;
    EXPECT_NE(error.message.find("joey history list"), std::string::npos) << error.message;
  }
}

TEST_F(HistoryStoreTest, ListsMostRecentFirstWithLimitAndOffset) {
  add_task("20261125T100000-00000001", "first", {});
  add_task("20261125T100000-00000002", "second", {});
  add_task("20261125T100000-00000003", "third", {});
  Result<std::vector<TaskSummary>> all = store_->list(10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].title, "third");
  EXPECT_EQ((*all)[2].title, "first");
  Result<std::vector<TaskSummary>> page = store_->list(1, 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].title, "second");
}

TEST_F(HistoryStoreTest, SearchRanksTheTaskThatMentionsTheTermMostFirst) {
  add_task("t-once", "about parsers",
           {user_text("Refactor the parser module. Also rename a few variables in the build "
                      "scripts and update the documentation for the release notes.")});
  add_task("t-often", "parser bugs",
           {user_text("The parser crashes; the parser leaks; fix the parser.")});
  add_task("t-none", "unrelated", {user_text("Update the greeting in greet.txt")});
  Result<std::vector<SearchHit>> hits = store_->search("parser", 10);
  ASSERT_TRUE(hits.ok()) << hits.error().message;
  ASSERT_EQ(hits->size(), 2u);
  EXPECT_EQ((*hits)[0].task_id, "t-often");
  EXPECT_EQ((*hits)[1].task_id, "t-once");
  EXPECT_LT((*hits)[0].score, (*hits)[1].score);
  EXPECT_EQ((*hits)[0].title, "parser bugs");
  EXPECT_EQ((*hits)[0].role, "user");
}

TEST_F(HistoryStoreTest, SearchGivesOneHitPerTaskWithTheBestSnippet) {
  add_task("t1", "zebra work",
           {user_text("nothing here"), user_text("a zebra appears"),
            assistant_call("", "read_file", R"({"path":"zebra/zebra.txt"})")});
  Result<std::vector<SearchHit>> hits = store_->search("zebra", 10);
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].matching_messages, 2);
  EXPECT_NE((*hits)[0].snippet.find("**zebra**"), std::string::npos) << (*hits)[0].snippet;
}

TEST_F(HistoryStoreTest, SearchMatchesPrefixesAllTermsAndFoldsDiacritics) {
  add_task("t1", "cafe", {user_text("Visit the café for a configuration review")});
  add_task("t2", "other", {user_text("configuration only")});
  auto ids = [&](const std::string& query) {
    std::vector<std::string> found;
    Result<std::vector<SearchHit>> hits = store_->search(query, 10);
    EXPECT_TRUE(hits.ok()) << query;
    if (hits.ok()) {
      for (const SearchHit& hit : *hits) found.push_back(hit.task_id);
    }
    return found;
  };
  EXPECT_EQ(ids("cafe"), std::vector<std::string>{"t1"});
  EXPECT_EQ(ids("CAFÉ"), std::vector<std::string>{"t1"});
  EXPECT_EQ(ids("café config"), std::vector<std::string>{"t1"});
  EXPECT_EQ(ids("configur").size(), 2u);
  EXPECT_TRUE(ids("café missingword").empty());
}

TEST_F(HistoryStoreTest, SearchFindsToolArgumentsAndToolResults) {
  add_task("t1", "x",
           {assistant_call("", "read_file", R"({"path":"src/quokka.cpp"})"),
            tool_results("wombat appears in the output", false)});
  ASSERT_EQ(store_->search("quokka", 5)->size(), 1u);
  ASSERT_EQ(store_->search("wombat", 5)->size(), 1u);
}

TEST_F(HistoryStoreTest, WeirdSearchInputNeverErrors) {
  add_task("t1", "x", {user_text("AND OR NOT near the end \"quoted\" text")});
  const std::string inputs[] = {
      "",
      " ",
      "\"",
      "\"\"\"",
      "AND",
      "OR NOT",
      "*",
      "a*",
      "NEAR(",
      "NEAR(a b)",
      "text:foo",
      "^start",
      "(",
      ")",
      "{a b}",
      "a - b",
      "col:",
      "\"unterminated",
      "AND AND",
      "日本語",
      "emoji 😀",
      "\xff\xfe",
      "a\x01"
      "b",
      "-x",
      "+",
      "\\",
      "''",
      "a\"b",
      "NEAR(\"a\" b, 3)",
      "x OR",
      std::string("caf\xc3\x01\0\0\0\xa5\xff", 10),
      std::string("a\0\"b", 4),
  };
  for (const std::string& input : inputs) {
    Result<std::vector<SearchHit>> hits = store_->search(input, 10);
    EXPECT_TRUE(hits.ok()) << "input: " << input << ": " << hits.error().message;
  }
  Result<std::vector<SearchHit>> keyword = store_->search("AND", 10);
  ASSERT_TRUE(keyword.ok());
  EXPECT_EQ(keyword->size(), 1u) << "an FTS keyword is searched as a word";
  Result<std::vector<SearchHit>> quoted = store_->search("\"quoted\"", 10);
  ASSERT_TRUE(quoted.ok());
  EXPECT_EQ(quoted->size(), 1u);
}

TEST_F(HistoryStoreTest, DeleteRemovesTheTaskItsMessagesAndItsSearchEntries) {
  add_task("t-keep", "keep", {user_text("ordinary words")});
  add_task("t-gone", "secret", {user_text("the passphrase is xylophonequasar")});
  ASSERT_EQ(store_->search("xylophonequasar", 10)->size(), 1u);
  Result<TaskSummary> deleted = store_->delete_task("t-gone");
  ASSERT_TRUE(deleted.ok()) << deleted.error().message;
  EXPECT_EQ(deleted->title, "secret");
  EXPECT_EQ(deleted->message_count, 1);

  EXPECT_EQ(store_->get("t-gone").error().kind, ErrorKind::kNotFound);
  EXPECT_TRUE(store_->search("xylophonequasar", 10)->empty());
  EXPECT_EQ(store_->search("ordinary", 10)->size(), 1u);
  sqlite3* db = store_->connection_for_testing();
  auto count = [db](const char* sql) {
    sqlite3_stmt* statement = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &statement, nullptr), SQLITE_OK) << sql;
    EXPECT_EQ(sqlite3_step(statement), SQLITE_ROW);
    int64_t value = sqlite3_column_int64(statement, 0);
    sqlite3_finalize(statement);
    return value;
  };
  EXPECT_EQ(count("SELECT COUNT(*) FROM messages WHERE task_id = 't-gone'"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH 'xylophonequasar'"),
            0);
  // The word is in no page of the file and no WAL frame: secure_delete, the index
  // rebuilt without it, the WAL truncated.
  EXPECT_EQ(file_bytes(path_).find("xylophonequasar"), std::string::npos);
  EXPECT_EQ(file_bytes(path_.string() + "-wal").find("xylophonequasar"), std::string::npos);
  EXPECT_NE(file_bytes(path_).find("ordinary"), std::string::npos)
      << "the scan must see text that is still stored";
}

TEST_F(HistoryStoreTest, DeleteAllEmptiesTheHistory) {
  add_task("t1", "one", {user_text("alpha marmalade")});
  add_task("t2", "two", {user_text("beta marmalade")});
  Result<int64_t> count = store_->delete_all();
  ASSERT_TRUE(count.ok()) << count.error().message;
  EXPECT_EQ(*count, 2);
  EXPECT_TRUE(store_->list(10)->empty());
  EXPECT_TRUE(store_->search("marmalade", 10)->empty());
  EXPECT_EQ(file_bytes(path_).find("marmalade"), std::string::npos);
}

TEST_F(HistoryStoreTest, FileIsPrivateAndReopeningKeepsDataAndSchema) {
  add_task("t1", "persisted", {user_text("still here")});
  struct stat info {};
  ASSERT_EQ(::stat(path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((path_.string() + "-wal").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(path_.parent_path().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
  store_.reset();

  for (int round = 0; round < 2; ++round) {
    Result<std::unique_ptr<HistoryStore>> again = HistoryStore::open(path_);
    ASSERT_TRUE(again.ok()) << again.error().message;
    Result<TaskRecord> record = (*again)->get("t1");
    ASSERT_TRUE(record.ok());
    ASSERT_EQ(record->messages.size(), 1u);
    EXPECT_EQ(record->messages[0].text, "still here");
    sqlite3_stmt* statement = nullptr;
    sqlite3_prepare_v2((*again)->connection_for_testing(), "PRAGMA user_version", -1, &statement,
                       nullptr);
    ASSERT_EQ(sqlite3_step(statement), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(statement, 0), kHistorySchemaVersion);
    sqlite3_finalize(statement);
  }
}

TEST_F(HistoryStoreTest, OpeningFixesTheModeOfAnExistingFile) {
  store_.reset();
  ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
  ASSERT_TRUE(HistoryStore::open(path_).ok());
  struct stat info {};
  ASSERT_EQ(::stat(path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST(HistoryStoreOpen, RefusesADatabaseFromANewerJoey) {
  TempDir temp;
  fs::path path = temp.path() / "history.db";
  { ASSERT_TRUE(HistoryStore::open(path).ok()); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  Result<std::unique_ptr<HistoryStore>> opened = HistoryStore::open(path);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_NE(opened.error().message.find("upgrade joey"), std::string::npos);
}

TEST(HistoryStoreOpen, AFileThatIsNotADatabaseIsAClearError) {
  TempDir temp;
  fs::path path = temp.path() / "history.db";
  std::ofstream(path) << "this is not sqlite, just some text that is long enough to matter.\n"
                      << std::string(200, 'x');
  Result<std::unique_ptr<HistoryStore>> opened = HistoryStore::open(path);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().kind, ErrorKind::kIo);
  EXPECT_NE(opened.error().message.find(path.string()), std::string::npos)
      << opened.error().message;
}

}  // namespace
}  // namespace joey::client
