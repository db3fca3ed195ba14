#include "base/subprocess.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/strings.h"

namespace joey {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "joey-subprocess-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string read_text(const fs::path& path) {
  std::ifstream file(path);
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

// A zombie counts as gone: it is dead and only waits for its new parent to reap it.
bool process_is_gone(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return true;
  const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  const size_t name_end = stat.rfind(')');
  return name_end != std::string::npos && name_end + 2 < stat.size() && stat[name_end + 2] == 'Z';
}

bool wait_until_gone(pid_t pid) {
  for (int attempt = 0; attempt < 500; ++attempt) {
    if (process_is_gone(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

pid_t read_pid(const fs::path& file) {
  return static_cast<pid_t>(std::atoi(read_text(file).c_str()));
}

ProcessOptions shell(const std::string& script) {
  ProcessOptions options;
  options.argv = {"sh", "-c", script};
  return options;
}

TEST(RunProcess, ReportsExitCode) {
  auto result = run_process(shell("exit 3"));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_FALSE(result->signaled);
  EXPECT_FALSE(result->timed_out);
  EXPECT_FALSE(result->cancelled);
}

TEST(RunProcess, ReportsDeathBySignal) {
  auto result = run_process(shell("kill -9 $$"));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(result->signaled);
  EXPECT_EQ(result->signal_number, SIGKILL);
}

TEST(RunProcess, CapturesStdoutAndStderrSeparately) {
  auto result = run_process(shell("echo out; echo err >&2; echo more-out"));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_EQ(result->stdout_text, "out\nmore-out\n");
  EXPECT_EQ(result->stderr_text, "err\n");
  EXPECT_EQ(result->stdout_total_bytes, 13u);
  EXPECT_EQ(result->stderr_total_bytes, 4u);
}

TEST(RunProcess, CapsLargeOutputKeepingHeadAndTail) {
  ProcessOptions options = shell("printf START; head -c 100000 /dev/zero | tr '\\0' x; printf END");
  options.output_cap_bytes = 1000;
  auto result = run_process(options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->stdout_total_bytes, 100008u);
  const std::string expected = "START" + std::string(495, 'x') +
                               "\n[... 99008 bytes omitted ...]\n" + std::string(497, 'x') + "END";
  EXPECT_EQ(result->stdout_text, expected);
}

TEST(RunProcess, StreamsEveryChunkToOnOutputBeforeCapping) {
  ProcessOptions options = shell("head -c 300000 /dev/zero | tr '\\0' o; echo problem >&2");
  options.output_cap_bytes = 100;
  std::string streamed_stdout;
  std::string streamed_stderr;
  options.on_output = [&](std::string_view chunk, bool is_stderr) {
    (is_stderr ? streamed_stderr : streamed_stdout).append(chunk);
  };
  auto result = run_process(options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(streamed_stdout, std::string(300000, 'o'));
  EXPECT_EQ(streamed_stderr, "problem\n");
  EXPECT_EQ(result->stdout_total_bytes, 300000u);
}

TEST(RunProcess, TimeoutKillsTheWholeProcessGroup) {
  TempDir dir;
  const fs::path pid_file = dir.path() / "grandchild.pid";
  ProcessOptions options = shell("sleep 100 & echo $! > '" + pid_file.string() + "'; sleep 100");
  options.timeout = std::chrono::milliseconds(1000);
  auto result = run_process(options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(result->timed_out);
  EXPECT_FALSE(result->cancelled);
  EXPECT_TRUE(result->signaled);
  const pid_t grandchild = read_pid(pid_file);
  ASSERT_GT(grandchild, 0) << "the script did not record its background pid";
  EXPECT_TRUE(wait_until_gone(grandchild)) << "background process " << grandchild << " survived";
}

TEST(RunProcess, EscalatesToSigkillWhenSigtermIsIgnored) {
  ProcessOptions options = shell("trap '' TERM; while :; do sleep 0.1; done");
  options.timeout = std::chrono::milliseconds(200);
  auto result = run_process(options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(result->timed_out);
  EXPECT_TRUE(result->signaled);
  EXPECT_EQ(result->signal_number, SIGKILL);
}

TEST(RunProcess, CancelFlagKillsTheProcess) {
  std::atomic<bool> cancel{false};
  ProcessOptions options = shell("echo ready; sleep 100");
  options.cancel = &cancel;
  options.on_output = [&](std::string_view chunk, bool) {
    if (chunk.find("ready") != std::string_view::npos) cancel.store(true);
  };
  auto result = run_process(options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(result->cancelled);
  EXPECT_FALSE(result->timed_out);
  EXPECT_TRUE(result->signaled);
  EXPECT_EQ(result->stdout_text, "ready\n");
}

TEST(RunProcess, StopFlagEndsAProducerOnceTheCallerHasEnough) {
  std::atomic<bool> stop{false};
  size_t seen = 0;
  ProcessOptions options = shell("yes line");  // produces output forever
  options.stop = &stop;
  options.timeout = std::chrono::milliseconds(60'000);
  options.on_output = [&](std::string_view chunk, bool) {
    seen += chunk.size();
    if (seen > 100'000) stop.store(true);
  };
  auto result = run_process(options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(result->stopped);
  EXPECT_FALSE(result->cancelled);
  EXPECT_FALSE(result->timed_out);
  EXPECT_GT(seen, 100'000u);
}

TEST(RunProcess, CancelledBeforeStartRunsNothing) {
  TempDir dir;
  const fs::path marker = dir.path() / "ran";
  std::atomic<bool> cancel{true};
  ProcessOptions options = shell("touch '" + marker.string() + "'");
  options.cancel = &cancel;
  auto result = run_process(options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(result->cancelled);
  EXPECT_FALSE(fs::exists(marker));
}

TEST(RunProcess, StoppedProcessIsContinuedSoSigtermEndsIt) {
  ProcessOptions options = shell("kill -STOP $$; sleep 100");
  options.timeout = std::chrono::milliseconds(300);
  auto result = run_process(options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(result->timed_out);
  EXPECT_TRUE(result->signaled);
  EXPECT_EQ(result->signal_number, SIGTERM);
}

TEST(RunProcess, BackgroundedGrandchildHoldingThePipeDoesNotHang) {
  TempDir dir;
  const fs::path pid_file = dir.path() / "background.pid";
  ProcessOptions options = shell("sleep 100 & echo $! > '" + pid_file.string() + "'; echo started");
  auto result = run_process(options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_FALSE(result->timed_out);
  EXPECT_EQ(result->stdout_text, "started\n");
  const pid_t background = read_pid(pid_file);
  ASSERT_GT(background, 0);
  EXPECT_TRUE(wait_until_gone(background)) << "background process " << background << " survived";
}

TEST(RunProcess, FeedsStdinData) {
  ProcessOptions options;
  options.argv = {"cat"};
  options.stdin_data = "hello\nworld";
  auto result = run_process(options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->stdout_text, "hello\nworld");
}

TEST(RunProcess, FeedsStdinLargerThanAPipeBuffer) {
  ProcessOptions options;
  options.argv = {"wc", "-c"};
  options.stdin_data = std::string(1 << 20, 'z');
  auto result = run_process(options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->stdout_text, "1048576\n");
}

TEST(RunProcess, SurvivesAChildThatIgnoresItsStdin) {
  ProcessOptions options;
  options.argv = {"true"};
  options.stdin_data = std::string(4 << 20, 'z');
  auto result = run_process(options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->exit_code, 0);
}

TEST(RunProcess, StdinIsEmptyByDefault) {
  ProcessOptions options;
  options.argv = {"cat"};
  auto result = run_process(options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_EQ(result->stdout_text, "");
}

TEST(RunProcess, OverridesAndInheritsEnvironment) {
  setenv("JOEY_TEST_INHERITED", "from-parent", 1);
  setenv("JOEY_TEST_OVERRIDDEN", "old", 1);
  ProcessOptions options =
      shell("echo \"$JOEY_TEST_INHERITED $JOEY_TEST_OVERRIDDEN $JOEY_TEST_NEW\"");
  options.env = {{"JOEY_TEST_OVERRIDDEN", "new"}, {"JOEY_TEST_NEW", "added"}};
  auto result = run_process(options);
  unsetenv("JOEY_TEST_INHERITED");
  unsetenv("JOEY_TEST_OVERRIDDEN");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->stdout_text, "from-parent new added\n");
}

TEST(RunProcess, LooksUpProgramOnOverriddenPath) {
  TempDir dir;
  const fs::path script = dir.path() / "joey-test-tool";
  std::ofstream(script) << "#!/bin/sh\necho found-on-custom-path\n";
  fs::permissions(script, fs::perms::owner_all);
  ProcessOptions options;
  options.argv = {"joey-test-tool"};
  options.env = {{"PATH", dir.path().string() + ":/usr/bin:/bin"}};
  auto result = run_process(options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->stdout_text, "found-on-custom-path\n");
}

TEST(RunProcess, RunsInTheGivenWorkingDirectory) {
  TempDir dir;
  ProcessOptions options;
  options.argv = {"pwd", "-P"};
  options.cwd = dir.path().string();
  auto result = run_process(options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->stdout_text, fs::canonical(dir.path()).string() + "\n");
}

TEST(RunProcess, MissingProgramIsNotFoundAndNamed) {
  ProcessOptions options;
  options.argv = {"joey-no-such-program-7f3a"};
  auto result = run_process(options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(result.error().message.find("joey-no-such-program-7f3a"), std::string::npos);

  options.argv = {"/nonexistent/joey-tool"};
  result = run_process(options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(result.error().message.find("/nonexistent/joey-tool"), std::string::npos);
}

TEST(RunProcess, MissingProgramOnOverriddenPathIsNotFound) {
  ProcessOptions options;
  options.argv = {"sh"};
  options.env = {{"PATH", "/nonexistent-dir"}};
  auto result = run_process(options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kNotFound);
}

TEST(RunProcess, MissingWorkingDirectoryIsNotFound) {
  ProcessOptions options;
  options.argv = {"true"};
  options.cwd = "/nonexistent/joey-dir";
  auto result = run_process(options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(result.error().message.find("/nonexistent/joey-dir"), std::string::npos);
}

TEST(RunProcess, NonExecutableFileIsAnIoError) {
  TempDir dir;
  const fs::path file = dir.path() / "not-executable";
  std::ofstream(file) << "echo hi\n";
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
  ProcessOptions options;
  options.argv = {file.string()};
  auto result = run_process(options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kIo);
}

TEST(RunProcess, RejectsEmptyCommand) {
  auto result = run_process(ProcessOptions{});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kInvalidArgument);
}

TEST(RunProcess, RejectsMalformedEnvironmentName) {
  ProcessOptions options;
  options.argv = {"true"};
  options.env = {{"BAD=NAME", "x"}};
  auto result = run_process(options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kInvalidArgument);
}

TEST(CapHeadTail, KeepsShortTextWhole) {
  EXPECT_EQ(cap_head_tail("short", 10), "short");
  EXPECT_EQ(cap_head_tail("exactly10!", 10), "exactly10!");
}

TEST(CapHeadTail, KeepsHeadAndTailAndCountsOmittedBytes) {
  EXPECT_EQ(cap_head_tail("0123456789abcdefghij", 10), "01234\n[... 10 bytes omitted ...]\nfghij");
  EXPECT_EQ(cap_head_tail("0123456789", 3), "0\n[... 7 bytes omitted ...]\n89");
  EXPECT_EQ(cap_head_tail("abc", 0), "\n[... 3 bytes omitted ...]\n");
}

TEST(CapHeadTail, NeverSplitsAUtf8Character) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += "\xC3\xA9";  // é
  const std::string capped = cap_head_tail(text, 11);
  // Head: 5 bytes would end mid-character, so 4 are kept; tail: 6 bytes start on one.
  EXPECT_EQ(capped, "\xC3\xA9\xC3\xA9\n[... 90 bytes omitted ...]\n\xC3\xA9\xC3\xA9\xC3\xA9");
  for (size_t i = 0; i < capped.size(); i += utf8_sequence_length(capped, i)) {
    ASSERT_NE(utf8_sequence_length(capped, i), 0u) << "invalid UTF-8 at byte " << i;
  }
}

}  // namespace
}  // namespace joey
