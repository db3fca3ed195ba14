// `joey history list|show|search|delete`, driven through CLI11 as main.cpp does, with
// stdout and stderr captured and a history database in a temporary directory.
#include "client/history_command.h"

#include <stdlib.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "client/history_store.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "joey-history-cli-XXXXXX").string();
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

std::string read_all(std::FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string out;
  char buffer[512];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, file)) > 0) out.append(buffer, got);
  return out;
}

struct CommandRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class HistoryCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database_ = temp_.path() / "history.db";
    Result<std::unique_ptr<HistoryStore>> opened = HistoryStore::open(database_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened).value();
  }

  // Runs `joey ARGS...`.
  CommandRun run(std::vector<std::string> args) {
    std::FILE* out = std::tmpfile();
    std::FILE* err = std::tmpfile();
    CommandRun result;
    {
      CLI::App app("joey");
      HistoryCommandOptions options;
      options.out = out;
      options.err = err;
      options.database = database_;
      register_history_command(app, result.exit_code, options);
      std::reverse(args.begin(), args.end());
      app.parse(args);
    }
    result.out = read_all(out);
    result.err = read_all(err);
    std::fclose(out);
    std::fclose(err);
    return result;
  }

  void add_task(const std::string& id, const std::string& task, const std::string& message_text,
                agent::TaskStatus status = agent::TaskStatus::kCompleted) {
    agent::TaskInfo info;
    info.task_id = id;
    info.task = task;
    info.provider = "anthropic";
    info.model = "claude-sonnet-4-5";
    info.mode = "code";
    info.workspace = "/work/project";
    ASSERT_TRUE(store_->create_task(info).ok());
    llm::Message message;
    message.text = message_text;
    ASSERT_TRUE(store_->append_message(id, message).ok());
    agent::UsageTotals totals;
    totals.usage.input_tokens = 12000;
    totals.usage.output_tokens = 345;
    totals.cost_usd = 0.0421;
    ASSERT_TRUE(store_->update_totals(id, totals, 3).ok());
    ASSERT_TRUE(store_->finish_task(id, status, "finished").ok());
  }

  TempDir temp_;
  fs::path database_;
  std::unique_ptr<HistoryStore> store_;
};

constexpr char kFirst[] = "20261125T100000-aaaaaaaa";
constexpr char kSecond[] = "20261125T110000-bbbbbbbb";

TEST_F(HistoryCommandTest, ListPrintsOneLinePerTaskMostRecentFirst) {
  add_task(kFirst, "Fix the failing test", "the test fails");
  add_task(kSecond, "Write the docs\nwith examples", "docs please", agent::TaskStatus::kFailed);
  CommandRun result = run({"history", "list"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("ID"), std::string::npos);
  size_t second = result.out.find(kSecond);
  size_t first = result.out.find(kFirst);
  ASSERT_NE(second, std::string::npos) << result.out;
  ASSERT_NE(first, std::string::npos) << result.out;
  EXPECT_LT(second, first);
  EXPECT_NE(result.out.find("Write the docs"), std::string::npos);
  EXPECT_EQ(result.out.find("with examples"), std::string::npos) << "only the title line";
  EXPECT_NE(result.out.find("12,345"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("$0.0421"), std::string::npos);
  EXPECT_NE(result.out.find("failed"), std::string::npos);
}

TEST_F(HistoryCommandTest, ListJsonIsAnArrayOfTasksAndHonoursTheLimit) {
  add_task(kFirst, "one", "a");
  add_task(kSecond, "two", "b");
  CommandRun result = run({"history", "list", "--json", "--limit", "1"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  json parsed = json::parse(result.out);
  ASSERT_TRUE(parsed.is_array());
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0]["id"], kSecond);
  EXPECT_EQ(parsed[0]["title"], "two");
  EXPECT_EQ(parsed[0]["status"], "completed");
  EXPECT_EQ(parsed[0]["input_tokens"], 12000);
  EXPECT_EQ(parsed[0]["requests"], 3);
  EXPECT_DOUBLE_EQ(parsed[0]["cost_usd"].get<double>(), 0.0421);
  EXPECT_EQ(parsed[0]["messages"], 1);
}

TEST_F(HistoryCommandTest, ListOfAnEmptyHistorySaysSo) {
  CommandRun result = run({"history", "list"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find("No tasks"), std::string::npos);
  EXPECT_EQ(json::parse(run({"history", "list", "--json"}).out), json::array());
}

TEST_F(HistoryCommandTest, ShowPrintsTheTaskAndItsMessages) {
  add_task(kFirst, "Fix the failing test", "please look at parser.cpp");
  CommandRun result = run({"history", "show", kFirst});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("Fix the failing test"), std::string::npos);
  EXPECT_NE(result.out.find("please look at parser.cpp"), std::string::npos);
  EXPECT_NE(result.out.find("claude-sonnet-4-5"), std::string::npos);
  EXPECT_NE(result.out.find("finished"), std::string::npos);

  CommandRun as_json = run({"history", "show", kFirst, "--json"});
  ASSERT_EQ(as_json.exit_code, 0);
  json parsed = json::parse(as_json.out);
  EXPECT_EQ(parsed["id"], kFirst);
  ASSERT_EQ(parsed["message_list"].size(), 1u);
  EXPECT_EQ(parsed["message_list"][0]["role"], "user");
  EXPECT_EQ(parsed["message_list"][0]["text"], "please look at parser.cpp");
}

TEST_F(HistoryCommandTest, ShowOfAnUnknownIdFailsNamingItAndTheListCommand) {
  CommandRun result = run({"history", "show", "20990101T000000-deadbeef"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.out, "");
  EXPECT_NE(result.err.find("joey: error: "), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("20990101T000000-deadbeef"), std::string::npos);
  EXPECT_NE(result.err.find("joey history list"), std::string::npos);
}

TEST_F(HistoryCommandTest, SearchPrintsRankedTasksWithIdsAndSnippets) {
  add_task(kFirst, "Parser work", "the tokenizer in the lexer");
  add_task(kSecond, "Docs", "nothing about that");
  CommandRun result = run({"history", "search", "tokenizer", "lexer"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find(kFirst), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find(kSecond), std::string::npos);
  EXPECT_NE(result.out.find("**tokenizer**"), std::string::npos) << result.out;

  json parsed = json::parse(run({"history", "search", "--json", "lexer"}).out);
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0]["id"], kFirst);
  EXPECT_TRUE(parsed[0]["snippet"].get<std::string>().find("**lexer**") != std::string::npos);
}

TEST_F(HistoryCommandTest, SearchWithFtsSyntaxOrNoMatchesIsNotAnError) {
  add_task(kFirst, "x", "plain words");
  for (const char* query : {"NEAR(", "\"", "*", "AND", "nothing-like-this"}) {
    CommandRun result = run({"history", "search", query});
    EXPECT_EQ(result.exit_code, 0) << query << ": " << result.err;
    EXPECT_EQ(result.err, "") << query;
  }
}

TEST_F(HistoryCommandTest, DeleteRemovesOneTaskAndSaysWhich) {
  add_task(kFirst, "Keep me", "a");
  add_task(kSecond, "Delete me", "b");
  CommandRun result = run({"history", "delete", kSecond});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find(kSecond), std::string::npos);
  EXPECT_NE(result.out.find("Delete me"), std::string::npos);
  EXPECT_EQ(store_->get(kSecond).error().kind, ErrorKind::kNotFound);
  EXPECT_TRUE(store_->get(kFirst).ok());

  CommandRun again = run({"history", "delete", kSecond});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find(kSecond), std::string::npos);
}

TEST_F(HistoryCommandTest, DeleteAllEmptiesTheHistoryAndCountsTasks) {
  add_task(kFirst, "one", "a");
  add_task(kSecond, "two", "b");
  CommandRun result = run({"history", "delete", "--all"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("Deleted 2 tasks"), std::string::npos) << result.out;
  EXPECT_TRUE(store_->list(10)->empty());
}

TEST_F(HistoryCommandTest, DeleteNeedsExactlyOneOfAnIdOrAll) {
  add_task(kFirst, "one", "a");
  for (std::vector<std::string> args :
       {std::vector<std::string>{"history", "delete"},
        std::vector<std::string>{"history", "delete", kFirst, "--all"}}) {
    CommandRun result = run(args);
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.err.find("needs a task id or --all"), std::string::npos) << result.err;
  }
  EXPECT_TRUE(store_->get(kFirst).ok());
}

TEST_F(HistoryCommandTest, BadUsageIsACliError) {
  EXPECT_THROW(run({"history", "list", "--limit", "0"}), CLI::ParseError);
  EXPECT_THROW(run({"history", "show"}), CLI::ParseError);
  EXPECT_THROW(run({"history"}), CLI::ParseError);
}

TEST(HistoryCommandDefaultPath, UsesHistoryDbUnderJoeyHome) {
  TempDir temp;
  const char* previous = std::getenv("JOEY_HOME");
  std::string saved = previous ? previous : "";
  setenv("JOEY_HOME", temp.path().c_str(), 1);
  int exit_code = -1;
  {
    CLI::App app("joey");
    register_history_command(app, exit_code);
    testing::internal::CaptureStdout();
    app.parse(std::vector<std::string>{"--json", "list", "history"});
    std::string out = testing::internal::GetCapturedStdout();
    EXPECT_EQ(out, "[]\n");
  }
  if (previous) {
    setenv("JOEY_HOME", saved.c_str(), 1);
  } else {
    unsetenv("JOEY_HOME");
  }
  EXPECT_EQ(exit_code, 0);
  EXPECT_TRUE(fs::exists(temp.path() / "history.db"));
}

}  // namespace
}  // namespace joey::client
