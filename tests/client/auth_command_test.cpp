// Tests of `joey auth` through CLI11 as main.cpp registers it: keys read from a pipe, an
// environment variable or a terminal with echo off (restored, Ctrl-C included), refused
// providers and keys, list with last four characters and environment overrides, remove,
// and a loose secrets file refused. No output ever holds a whole key.
#include "client/auth_command.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/atomic_file.h"
#include "support/scoped_env.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kKey = "sk-ant-auth-test-00112233445566778899WXYZ";

using joey::testing::ScopedEnv;

struct CommandRun {
  int exit_code = -1;
  std::string out;
  std::string err;
  std::string all() const { return out + err; }
};

class AuthCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/joey-auth-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    root_ = pattern;
    home_ = root_ / "home";
  }
  void TearDown() override {
    std::error_code error;
    fs::remove_all(root_, error);
  }

  // Runs `joey auth ARGS` with `input` on stdin (a pipe closed after it).
  CommandRun run(std::vector<std::string> args, const std::string& input = "") {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    EXPECT_EQ(write(fds[1], input.data(), input.size()), static_cast<ssize_t>(input.size()));
    close(fds[1]);
    std::ostringstream out;
    std::ostringstream err;
    CommandRun result;
    {
      CLI::App app("joey");
      AuthCommandIo io;
      io.out = &out;
      io.err = &err;
      io.input_fd = fds[0];
      io.joey_home = home_;
      io.backend = SecretStore::Backend::kFile;
      register_auth_command(app, result.exit_code, io);
      args.insert(args.begin(), "auth");
      std::reverse(args.begin(), args.end());
      try {
        app.parse(args);
      } catch (const CLI::ParseError& error) {
        result.exit_code = error.get_exit_code() == 0 ? 0 : 2;
      }
    }
    close(fds[0]);
    result.out = out.str();
    result.err = err.str();
    return result;
  }

  fs::path root_;
  fs::path home_;
};

TEST_F(AuthCommandTest, SetFromPipeStoresTheTrimmedFirstLineAndShowsOnlyTheLastFour) {
  ScopedEnv no_override("ANTHROPIC_API_KEY", std::nullopt);
  const CommandRun set = run({"set", "anthropic"}, std::string("  ") + kKey + "  \nignored\n");
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_THAT(set.out, HasSubstr("stored the anthropic key (…WXYZ) in "));
  EXPECT_THAT(set.out, HasSubstr("secrets.json (0600)"));
  EXPECT_THAT(set.all(), Not(HasSubstr(kKey)));
  EXPECT_THAT(*read_file_to_string(home_ / "secrets.json"),
              HasSubstr(std::string("\"") + kKey + "\""));

  const CommandRun list = run({"list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("anthropic  …WXYZ  file"));
  EXPECT_THAT(list.all(), Not(HasSubstr(kKey)));
  EXPECT_THAT(list.out, Not(HasSubstr("overridden")));
}

TEST_F(AuthCommandTest, SetFromEnvReadsTheNamedVariable) {
  ScopedEnv key("JOEY_TEST_SOME_KEY", std::string(kKey));
  const CommandRun set = run({"set", "openrouter", "--from-env", "JOEY_TEST_SOME_KEY"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_THAT(set.out, HasSubstr("stored the openrouter key (…WXYZ)"));
  EXPECT_THAT(set.all(), Not(HasSubstr(kKey)));
}

TEST_F(AuthCommandTest, SetFromAnUnsetVariableIsBadUsage) {
  ScopedEnv key("JOEY_TEST_UNSET_KEY", std::nullopt);
  const CommandRun set = run({"set", "anthropic", "--from-env", "JOEY_TEST_UNSET_KEY"});
  EXPECT_EQ(set.exit_code, 2);
  EXPECT_THAT(set.err, HasSubstr("joey: error: JOEY_TEST_UNSET_KEY is not set"));
  EXPECT_FALSE(fs::exists(home_ / "secrets.json"));
}

TEST_F(AuthCommandTest, EmptyKeyIsRefusedAndNothingStored) {
  const CommandRun set = run({"set", "anthropic"}, "   \n");
  EXPECT_EQ(set.exit_code, 2);
  EXPECT_THAT(set.err, HasSubstr("the key is empty"));
  EXPECT_FALSE(fs::exists(home_ / "secrets.json"));
}

TEST_F(AuthCommandTest, UnknownProviderIsRefusedWithoutEchoingTheName) {
  // A key pasted where the provider belongs must not be printed back.
  const CommandRun set = run({"set", kKey}, std::string(kKey) + "\n");
  EXPECT_EQ(set.exit_code, 2);
  EXPECT_THAT(set.err, HasSubstr("unknown provider"));
  EXPECT_THAT(set.err, HasSubstr("anthropic"));
  EXPECT_THAT(set.all(), Not(HasSubstr(kKey)));
}

TEST_F(AuthCommandTest, LocalProvidersTakeNoKey) {
  for (const char* provider : {"ollama", "lmstudio"}) {
    const CommandRun set = run({"set", provider}, std::string(kKey) + "\n");
    EXPECT_EQ(set.exit_code, 2) << provider;
    EXPECT_THAT(set.err, HasSubstr("takes no API key"));
  }
  EXPECT_FALSE(fs::exists(home_ / "secrets.json"));
}

TEST_F(AuthCommandTest, ListSaysWhichEnvironmentVariablesOverrideStoredKeys) {
  ASSERT_EQ(run({"set", "anthropic"}, std::string(kKey) + "\n").exit_code, 0);
  ScopedEnv anthropic("ANTHROPIC_API_KEY", std::string("sk-ant-from-env-1234567890"));
  ScopedEnv openai("OPENAI_API_KEY", std::string("sk-from-env-1234567890"));
  const CommandRun list = run({"list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("overridden by ANTHROPIC_API_KEY"));
  EXPECT_THAT(list.out, HasSubstr("openai: no stored key; OPENAI_API_KEY is set"));
  EXPECT_THAT(list.all(), Not(HasSubstr("from-env")));
}

TEST_F(AuthCommandTest, ListWithNothingStoredSaysSo) {
  const CommandRun list = run({"list"});
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_THAT(list.out, HasSubstr("no stored keys"));
}

TEST_F(AuthCommandTest, RemoveDeletesTheKeyAndFailsWhenThereIsNone) {
  ASSERT_EQ(run({"set", "anthropic"}, std::string(kKey) + "\n").exit_code, 0);
  const CommandRun removed = run({"remove", "anthropic"});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_THAT(removed.out, HasSubstr("removed the stored anthropic key"));
  EXPECT_THAT(*read_file_to_string(home_ / "secrets.json"), Not(HasSubstr(kKey)));
  const CommandRun again = run({"remove", "anthropic"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("joey: error: no stored key for anthropic"));
}

TEST_F(AuthCommandTest, LooseSecretsFileIsRefusedWithTheFix) {
  ASSERT_EQ(run({"set", "anthropic"}, std::string(kKey) + "\n").exit_code, 0);
  const fs::path file = home_ / "secrets.json";
  ASSERT_EQ(chmod(file.c_str(), 0644), 0);
  const CommandRun list = run({"list"});
  EXPECT_EQ(list.exit_code, 1);
  EXPECT_THAT(list.err, HasSubstr("chmod 600 " + file.string()));
  EXPECT_THAT(list.all(), Not(HasSubstr(kKey)));
}

// --- terminal input ---

class PseudoTerminal {
 public:
  PseudoTerminal() {
    master_ = posix_openpt(O_RDWR | O_NOCTTY);
    if (master_ < 0 || grantpt(master_) != 0 || unlockpt(master_) != 0) return;
    slave_ = open(ptsname(master_), O_RDWR | O_NOCTTY);
  }
  ~PseudoTerminal() {
    if (slave_ >= 0) close(slave_);
    if (master_ >= 0) close(master_);
  }
  PseudoTerminal(const PseudoTerminal&) = delete;
  PseudoTerminal& operator=(const PseudoTerminal&) = delete;

  bool ok() const { return slave_ >= 0; }
  int master() const { return master_; }
  int slave() const { return slave_; }
  bool echo_on() const {
    struct termios mode {};
    return tcgetattr(slave_, &mode) == 0 && (mode.c_lflag & ECHO) != 0;
  }
  // What the terminal has shown so far (what the user would see).
  std::string shown() const {
    std::string text;
    const int flags = fcntl(master_, F_GETFL);
    fcntl(master_, F_SETFL, flags | O_NONBLOCK);
    char buffer[512];
    ssize_t got = 0;
    while ((got = read(master_, buffer, sizeof(buffer))) > 0) text.append(buffer, got);
    fcntl(master_, F_SETFL, flags);
    return text;
  }

 private:
  int master_ = -1;
  int slave_ = -1;
};

TEST(ReadSecretLine, TerminalInputIsNotEchoedAndEchoComesBack) {
  PseudoTerminal terminal;
  ASSERT_TRUE(terminal.ok());
  ASSERT_TRUE(terminal.echo_on());
  std::ostringstream prompt;
  std::optional<Result<std::string>> line;
  std::thread reader([&] { line = read_secret_line(terminal.slave(), prompt, "key: "); });
  while (terminal.echo_on()) std::this_thread::yield();  // reading with echo off
  const std::string typed = std::string(kKey) + "\n";
  ASSERT_EQ(write(terminal.master(), typed.data(), typed.size()),
            static_cast<ssize_t>(typed.size()));
  reader.join();
  ASSERT_TRUE(line && line->ok());
  EXPECT_EQ(**line, kKey);
  EXPECT_EQ(prompt.str(), "key: ");
  EXPECT_TRUE(terminal.echo_on());
  EXPECT_THAT(terminal.shown(), Not(HasSubstr(kKey)));
}

TEST(ReadSecretLine, CtrlCWhileReadingRestoresEchoAndTheSignalHandler) {
  PseudoTerminal terminal;
  ASSERT_TRUE(terminal.ok());
  struct sigaction before {};
  ASSERT_EQ(sigaction(SIGINT, nullptr, &before), 0);
  std::ostringstream prompt;
  std::optional<Result<std::string>> line;
  std::thread reader([&] { line = read_secret_line(terminal.slave(), prompt, "key: "); });
  while (terminal.echo_on()) std::this_thread::yield();
  ASSERT_EQ(pthread_kill(reader.native_handle(), SIGINT), 0);
  reader.join();
  ASSERT_TRUE(line.has_value());
  ASSERT_FALSE(line->ok());
  EXPECT_EQ(line->error().kind, ErrorKind::kCancelled);
  EXPECT_TRUE(terminal.echo_on());
  struct sigaction after {};
  ASSERT_EQ(sigaction(SIGINT, nullptr, &after), 0);
  EXPECT_EQ(after.sa_handler, before.sa_handler);
}

}  // namespace
}  // namespace joey::client
