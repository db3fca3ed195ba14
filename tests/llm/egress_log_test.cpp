#include "llm/egress_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace joey::llm {
namespace {

namespace fs = std::filesystem;

class EgressLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/joey-egress-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> lines_of(const fs::path& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  fs::path dir_;
};

EgressRecord sample(std::string host = "api.example.com", std::string purpose = "model") {
  EgressRecord record;
  record.time = "2026-11-25T15:44:19Z";
  record.host = std::move(host);
  record.purpose = std::move(purpose);
  record.method = "POST";
  record.bytes_sent = 5120;
  record.bytes_received = 20480;
  record.status = "200";
  return record;
}

TEST(EgressLine, FormatsOneJsonObjectWithOnlyMetadata) {
  EXPECT_EQ(
      format_egress_line(sample()),
      "{\"host\":\"api.example.com\",\"method\":\"POST\",\"purpose\":\"model\","
      "\"received\":20480,\"sent\":5120,\"status\":\"200\",\"time\":\"2026-11-25T15:44:19Z\"}");
}

TEST(EgressLine, UnknownPurposeIsRecordedAsOther) {
  EXPECT_EQ(parse_egress_line(format_egress_line(sample("h", "exfiltration")))->purpose, "other");
}

TEST(EgressLine, ControlCharactersCannotBreakTheLine) {
  EgressRecord record = sample("evil\nhost\x01");
  const std::string line = format_egress_line(record);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(parse_egress_line(line)->host, "evil_host_");
}

TEST(EgressLine, ParsesWhatItFormats) {
  const auto parsed = parse_egress_line(format_egress_line(sample()) + "\r\n");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->host, "api.example.com");
  EXPECT_EQ(parsed->purpose, "model");
  EXPECT_EQ(parsed->method, "POST");
  EXPECT_EQ(parsed->bytes_sent, 5120u);
  EXPECT_EQ(parsed->bytes_received, 20480u);
  EXPECT_EQ(parsed->status, "200");
  EXPECT_EQ(parsed->time, "2026-11-25T15:44:19Z");
}

TEST(EgressLine, RejectsMalformedLines) {
  for (const char* line : {
           "",
           "not json",
           "[1,2]",
           "{\"time\":\"2026-11-25T15:44:19Z\",\"host\":\"h\",\"purpose\":\"model\",\"sent\":1}",
           "{\"time\":\"yesterday\",\"host\":\"h\",\"purpose\":\"model\",\"sent\":1,\"received\":"
           "2}",
           "{\"time\":\"2026-13-25T15:44:19Z\",\"host\":\"h\",\"purpose\":\"model\",\"sent\":1,"
           "\"received\":2}",
           "{\"time\":\"2026-11-25T15:44:19Z\",\"host\":\"\",\"purpose\":\"model\",\"sent\":1,"
           "\"received\":2}",
           "{\"time\":\"2026-11-25T15:44:19Z\",\"host\":\"h\",\"purpose\":\"model\",\"sent\":-1,"
           "\"received\":2}",
           "{\"time\":\"2026-11-25T15:44:19Z\",\"host\":\"h\",\"purpose\":7,\"sent\":1,"
           "\"received\":2}",
           "{\"time\":\"2026-11-25T15:44:19Z\",\"host\":\"h\",\"purpose\":\"model\",\"sent\":1.5,"
           "\"received\":2}",
           "{\"time\":\"2026-11-25T15:44:19Z\",\"host\":\"h\"",
       }) {
    EXPECT_FALSE(parse_egress_line(line).has_value()) << line;
  }
}

TEST(EgressLine, ParsesUtcTimestamps) {
  EXPECT_EQ(parse_utc_timestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_utc_timestamp("1970-01-02T00:00:01.250Z"), 86401);
  EXPECT_FALSE(parse_utc_timestamp("1970-01-01T00:00:00").has_value());
  EXPECT_FALSE(parse_utc_timestamp("1970-01-01 00:00:00Z").has_value());
  EXPECT_FALSE(parse_utc_timestamp("1970-01-01T00:00:00.Z").has_value());
  EXPECT_TRUE(parse_utc_timestamp(utc_timestamp_now()).has_value());
}

TEST(EgressHost, KeepsHostAndPortOnly) {
  EXPECT_EQ(egress_host("https://api.openai.com/v1/chat/completions?key=secret"), "api.openai.com");
  EXPECT_EQ(egress_host("http://user:pass@127.0.0.1:8080/v1?canary=x#frag"), "127.0.0.1:8080");
  EXPECT_EQ(egress_host("http://[::1]:9000/x"), "[::1]:9000");
  EXPECT_EQ(egress_host("HTTPS://API.Example.COM/"), "api.example.com");
  EXPECT_EQ(egress_host("not a url"), "");
}

TEST_F(EgressLogTest, AppendsOneLinePerRecordInAPrivateFile) {
  EgressLog log(dir_ / "egress.log");
  ASSERT_TRUE(log.append(sample()).ok());
  ASSERT_TRUE(log.append(sample("other.example.com")).ok());
  const auto lines = lines_of(log.path());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(parse_egress_line(lines[1])->host, "other.example.com");
  struct stat info {};
  ASSERT_EQ(::stat(log.path().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST_F(EgressLogTest, TightensALooseExistingFile) {
  const fs::path path = dir_ / "egress.log";
  std::ofstream(path) << "";
  ::chmod(path.c_str(), 0644);
  EgressLog log(path);
  ASSERT_TRUE(log.append(sample()).ok());
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST_F(EgressLogTest, RotatesToDotOneWhenFull) {
  const size_t line_bytes = format_egress_line(sample()).size() + 1;
  EgressLog log(dir_ / "egress.log", line_bytes * 3);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(log.append(sample("host" + std::to_string(i))).ok());
  const auto current = lines_of(log.path());
  const auto rotated = lines_of(log.rotated_path());
  EXPECT_EQ(rotated.size(), 3u);
  ASSERT_EQ(current.size(), 2u);
  EXPECT_EQ(parse_egress_line(current[1])->host, "host4");
  EXPECT_EQ(parse_egress_line(rotated[0])->host, "host0");
}

TEST_F(EgressLogTest, ReportsAnUnwritableLocation) {
  EgressLog log(dir_ / "missing-dir" / "egress.log");
  const Status appended = log.append(sample());
  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(appended.error().kind, ErrorKind::kIo);
}

TEST_F(EgressLogTest, LinesFromThreadsAndProcessesNeverInterleave) {
  EgressLog log(dir_ / "egress.log");
  constexpr int kThreads = 4;
  constexpr int kProcesses = 2;
  constexpr int kPerWriter = 100;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      EgressLog own(dir_ / "egress.log");
      for (int i = 0; i < kPerWriter; ++i) (void)own.append(sample("process.example.com"));
      ::_exit(0);
    }
    children.push_back(child);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&log] {
      for (int i = 0; i < kPerWriter; ++i) (void)log.append(sample("thread.example.com"));
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (pid_t child : children) ::waitpid(child, nullptr, 0);
  const auto lines = lines_of(log.path());
  EXPECT_EQ(lines.size(), static_cast<size_t>((kThreads + kProcesses) * kPerWriter));
  for (const std::string& line : lines) EXPECT_TRUE(parse_egress_line(line).has_value()) << line;
}

TEST(DefaultEgressLog, IsNullUntilInstalled) {
  EXPECT_EQ(default_egress_log(), nullptr);
  auto log = std::make_shared<EgressLog>("/nonexistent/egress.log");
  set_default_egress_log(log);
  EXPECT_EQ(default_egress_log(), log);
  set_default_egress_log(nullptr);
  EXPECT_EQ(default_egress_log(), nullptr);
}

}  // namespace
}  // namespace joey::llm
