#include "client/privacy_command.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "llm/egress_log.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// 2026-11-25T12:00:00Z
constexpr int64_t kNow = 1795608000;

struct CommandRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string read_all(std::FILE* file) {
  std::rewind(file);
  std::string text;
  char buffer[4096];
  size_t count = 0;
  while ((count = std::fread(buffer, 1, sizeof(buffer), file)) > 0) text.append(buffer, count);
  return text;
}

llm::EgressRecord record(std::string time, std::string host, std::string purpose,
                         std::string status = "200") {
  llm::EgressRecord result;
  result.time = std::move(time);
  result.host = std::move(host);
  result.purpose = std::move(purpose);
  result.method = "POST";
  result.bytes_sent = 1000;
  result.bytes_received = 3000;
  result.status = std::move(status);
  return result;
}

class PrivacyCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/joey-privacy-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    log_path_ = dir_ / "egress.log";
  }
  void TearDown() override { fs::remove_all(dir_); }

  void append(const llm::EgressRecord& entry) {
    llm::EgressLog log(log_path_);
    ASSERT_TRUE(log.append(entry).ok());
  }

  void append_raw(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::app) << text;
  }

  CommandRun run(std::vector<std::string> args) {
    std::FILE* out = std::tmpfile();
    std::FILE* err = std::tmpfile();
    CommandRun result;
    {
      CLI::App app("joey");
      PrivacyCommandOptions options;
      options.out = out;
      options.err = err;
      options.egress_log = log_path_;
      options.now = kNow;
      register_privacy_command(app, result.exit_code, options);
      std::reverse(args.begin(), args.end());
      app.parse(args);
    }
    result.out = read_all(out);
    result.err = read_all(err);
    std::fclose(out);
    std::fclose(err);
    return result;
  }

  fs::path dir_;
  fs::path log_path_;
};

TEST_F(PrivacyCommandTest, GroupsByHostAndPurposeWithTotals) {
  append(record("2026-11-25T10:00:00Z", "api.openai.com", "model"));
  append(record("2026-11-25T11:00:00Z", "api.openai.com", "model", "429"));
  append(record("2026-11-25T11:30:00Z", "api.openai.com", "model"));
  append(record("2026-11-25T11:40:00Z", "eu.posthog.example", "telemetry", "timeout"));
  const CommandRun result = run({"privacy", "report", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const json report = json::parse(result.out);
  EXPECT_EQ(report["total_requests"], 4);
  EXPECT_EQ(report["skipped_lines"], 0);
  ASSERT_EQ(report["groups"].size(), 2u);
  const json& model = report["groups"][0];
  EXPECT_EQ(model["host"], "api.openai.com");
  EXPECT_EQ(model["purpose"], "model");
  EXPECT_EQ(model["promises"], "P1, P2, P3");
  EXPECT_EQ(model["requests"], 3);
  EXPECT_EQ(model["bytes_sent"], 3000);
  EXPECT_EQ(model["bytes_received"], 9000);
  EXPECT_EQ(model["first"], "2026-11-25T10:00:00Z");
  EXPECT_EQ(model["last"], "2026-11-25T11:30:00Z");
  EXPECT_EQ(model["statuses"], json({{"200", 2}, {"429", 1}}));
  const json& telemetry = report["groups"][1];
  EXPECT_EQ(telemetry["purpose"], "telemetry");
  EXPECT_EQ(telemetry["promises"], "P4");
  EXPECT_EQ(telemetry["statuses"], json({{"timeout", 1}}));
}

TEST_F(PrivacyCommandTest, TextReportNamesHostPurposeAndPromise) {
  append(record("2026-11-25T10:00:00Z", "127.0.0.1:8080", "model"));
  append(record("2026-11-25T10:05:00Z", "127.0.0.1:8080", "model"));
  const CommandRun result = run({"privacy", "report"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("127.0.0.1:8080  purpose: model  (covered by P1, P2, P3)"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("2 requests, 2.0 KiB sent, 5.9 KiB received"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("statuses: 200 ×2"), std::string::npos) << result.out;
}

TEST_F(PrivacyCommandTest, SinceKeepsOnlyRecentRequests) {
  append(record("2026-11-01T10:00:00Z", "old.example.com", "model"));
  append(record("2026-11-25T11:00:00Z", "new.example.com", "model"));
  const CommandRun day = run({"privacy", "report", "--since", "24h", "--json"});
  ASSERT_EQ(day.exit_code, 0) << day.err;
  const json report = json::parse(day.out);
  ASSERT_EQ(report["groups"].size(), 1u);
  EXPECT_EQ(report["groups"][0]["host"], "new.example.com");
  EXPECT_EQ(report["since_time"], "2026-11-24T12:00:00Z");
  const CommandRun all = run({"privacy", "report", "--since", "all", "--json"});
  EXPECT_EQ(json::parse(all.out)["total_requests"], 2);
}

TEST_F(PrivacyCommandTest, ReadsTheRotatedFileToo) {
  llm::EgressLog log(log_path_);
  append_raw(log.rotated_path(),
             llm::format_egress_line(record("2026-11-25T09:00:00Z", "a.example", "cloud")) + "\n");
  append(record("2026-11-25T10:00:00Z", "a.example", "cloud"));
  const json report = json::parse(run({"privacy", "report", "--json"}).out);
  ASSERT_EQ(report["groups"].size(), 1u);
  EXPECT_EQ(report["groups"][0]["requests"], 2);
  EXPECT_EQ(report["groups"][0]["first"], "2026-11-25T09:00:00Z");
  EXPECT_EQ(report["groups"][0]["promises"], "P7");
}

TEST_F(PrivacyCommandTest, SkipsAndCountsUnreadableLines) {
  append(record("2026-11-25T10:00:00Z", "api.example.com", "model"));
  append_raw(log_path_, "garbage\n{\"time\":1}\n\xff\xfe\n\n");
  append(record("2026-11-25T10:01:00Z", "api.example.com", "model"));
  const CommandRun text = run({"privacy", "report"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("3 unreadable lines skipped"), std::string::npos) << text.out;
  const json report = json::parse(run({"privacy", "report", "--json"}).out);
  EXPECT_EQ(report["skipped_lines"], 3);
  EXPECT_EQ(report["total_requests"], 2);
}

TEST_F(PrivacyCommandTest, SaysSoWhenNothingWasRecorded) {
  const CommandRun result = run({"privacy", "report"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("No outbound requests recorded."), std::string::npos) << result.out;
  const json report = json::parse(run({"privacy", "report", "--json"}).out);
  EXPECT_EQ(report["groups"], json::array());
}

TEST_F(PrivacyCommandTest, RejectsABadSince) {
  for (const char* since : {"7", "d", "-1d", "7w", "1.5h", "forever"}) {
    const CommandRun result = run({"privacy", "report", "--since", since});
    EXPECT_EQ(result.exit_code, 2) << since;
    EXPECT_NE(result.err.find("joey: error: --since"), std::string::npos) << result.err;
  }
}

TEST(ParseSince, ReadsDaysHoursMinutesAndAll) {
  EXPECT_EQ(parse_since("7d"), 7 * 86400);
  EXPECT_EQ(parse_since("24h"), 24 * 3600);
  EXPECT_EQ(parse_since("30m"), 30 * 60);
  EXPECT_EQ(parse_since("all"), 0);
  EXPECT_EQ(parse_since("0d"), std::nullopt);
  EXPECT_EQ(parse_since(""), std::nullopt);
}

}  // namespace
}  // namespace joey::client
