#include "agent/sandbox.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/subprocess.h"

namespace joey::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

fs::path make_temp_dir(const fs::path& parent) {
  std::string pattern = (parent / "joey-sandbox-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) return {};
  return fs::canonical(pattern);
}

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// The index of `value` in `argv`, or argv.size().
size_t index_of(const std::vector<std::string>& argv, const std::string& value) {
  return static_cast<size_t>(std::find(argv.begin(), argv.end(), value) - argv.begin());
}

class SandboxArgvTest : public ::testing::Test {
 protected:
  void SetUp() override { root_ = make_temp_dir("/var/tmp"); }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(SandboxArgvTest, BuildsTheDocumentedBubblewrapCommand) {
  fs::path workspace = root_ / "ws";
  fs::create_directories(workspace / "sub");
  SandboxOptions options;
  options.workspace = workspace;
  options.cwd = workspace / "sub";
  options.unset_environment = {"OPENAI_API_KEY"};
  auto argv = sandbox_argv(options, {"/bin/sh", "-c", "make"});
  ASSERT_TRUE(argv.ok()) << argv.error().message;
  EXPECT_THAT(*argv,
              ElementsAre("bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                          "--tmpfs", "/tmp", "--bind", workspace.string(), workspace.string(),
                          "--unshare-net", "--unshare-pid", "--die-with-parent", "--new-session",
                          "--unsetenv", "OPENAI_API_KEY", "--chdir", (workspace / "sub").string(),
                          "--", "/bin/sh", "-c", "make"));
}

TEST_F(SandboxArgvTest, NetworkOptionKeepsTheNetworkNamespace) {
  SandboxOptions options;
  options.workspace = root_;
  options.network = true;
  auto argv = sandbox_argv(options, {"true"});
  ASSERT_TRUE(argv.ok());
  EXPECT_THAT(*argv, Not(Contains("--unshare-net")));
  EXPECT_THAT(*argv, Contains("--unshare-pid"));
}

TEST_F(SandboxArgvTest, HidesDirectoriesWithTmpfsAndFilesWithDevNullSkippingMissingOnes) {
  fs::path workspace = root_ / "ws";
  fs::create_directories(workspace);
  fs::create_directories(root_ / "secrets");
  write(root_ / "token", "t");
  SandboxOptions options;
  options.workspace = workspace;
  options.hidden = {root_ / "secrets", root_ / "token", root_ / "missing", "relative/path"};
  auto argv = sandbox_argv(options, {"true"});
  ASSERT_TRUE(argv.ok());
  size_t tmpfs = index_of(*argv, (root_ / "secrets").string());
  ASSERT_LT(tmpfs, argv->size());
  EXPECT_EQ((*argv)[tmpfs - 1], "--tmpfs");
  size_t file = index_of(*argv, (root_ / "token").string());
  ASSERT_LT(file, argv->size());
  EXPECT_EQ((*argv)[file - 1], "/dev/null");
  EXPECT_EQ((*argv)[file - 2], "--ro-bind");
  EXPECT_THAT(*argv, Not(Contains((root_ / "missing").string())));
  EXPECT_THAT(*argv, Not(Contains("relative/path")));
}

TEST_F(SandboxArgvTest, HiddenParentOfWorkspaceIsMountedBeforeTheWorkspace) {
  fs::path config = root_ / "config";
  fs::path workspace = config / "project";
  fs::create_directories(workspace / ".ssh");
  SandboxOptions options;
  options.workspace = workspace;
  options.hidden = {workspace / ".ssh", config};
  auto argv = sandbox_argv(options, {"true"});
  ASSERT_TRUE(argv.ok());
  size_t bind = index_of(*argv, "--bind");
  EXPECT_LT(index_of(*argv, config.string()), bind);
  size_t inner = index_of(*argv, (workspace / ".ssh").string());
  EXPECT_GT(inner, bind + 2);
  EXPECT_LT(inner, argv->size());
}

TEST_F(SandboxArgvTest, RefusesBadOptions) {
  SandboxOptions options;
  options.workspace = root_;
  EXPECT_EQ(sandbox_argv(options, {}).error().kind, ErrorKind::kInvalidArgument);
  options.workspace = "relative";
  EXPECT_EQ(sandbox_argv(options, {"true"}).error().kind, ErrorKind::kInvalidArgument);
  options.workspace = root_ / "missing";
  EXPECT_EQ(sandbox_argv(options, {"true"}).error().kind, ErrorKind::kNotFound);
}

TEST(SandboxProbeTest, MissingBubblewrapSaysWhichPackageToInstall) {
  Status status = probe_sandbox("joey-no-such-bwrap-program");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind, ErrorKind::kNotFound);
  EXPECT_THAT(status.error().message, HasSubstr("install the bubblewrap package"));
}

TEST(DefaultHiddenPathsTest, ListsTheCredentialPlacesThatExist) {
  fs::path home = make_temp_dir(fs::temp_directory_path());
  fs::create_directories(home / ".ssh");
  fs::create_directories(home / ".joey");
  write(home / ".netrc", "machine x");
  auto hidden = default_hidden_paths(home, home / ".joey");
  EXPECT_THAT(hidden, Contains(home / ".ssh"));
  EXPECT_THAT(hidden, Contains(home / ".netrc"));
  EXPECT_THAT(hidden, Contains(home / ".joey"));
  EXPECT_THAT(hidden, Not(Contains(home / ".aws")));
  fs::remove_all(home);
}

// Runs `script` with /bin/sh inside a sandbox; the sandbox must be available.
class SandboxRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status available = sandbox_available();
    if (!available.ok()) GTEST_SKIP() << "no sandbox here: " << available.error().message;
    // /var/tmp, not /tmp: the sandbox's /tmp is private, so only paths outside it show
    // whether the rest of the file system is really read-only.
    root_ = make_temp_dir("/var/tmp");
    ASSERT_FALSE(root_.empty());
    workspace_ = root_ / "workspace";
    fs::create_directories(workspace_);
    options_.workspace = workspace_;
  }
  void TearDown() override {
    if (!root_.empty()) fs::remove_all(root_);
  }

  ProcessResult run(const std::string& script, std::map<std::string, std::string> env = {}) {
    auto argv = sandbox_argv(options_, {"/bin/sh", "-c", script});
    EXPECT_TRUE(argv.ok());
    ProcessOptions process;
    process.argv = *argv;
    process.env = std::move(env);
    process.timeout = std::chrono::seconds(30);
    auto result = run_process(process);
    EXPECT_TRUE(result.ok()) << result.error().message;
    return result.ok() ? *result : ProcessResult();
  }

  fs::path root_;
  fs::path workspace_;
  SandboxOptions options_;
};

TEST_F(SandboxRunTest, CommandCannotWriteOutsideTheWorkspace) {
  fs::path outside = root_ / "outside";
  fs::create_directories(outside);
  ProcessResult visible = run("test -d '" + outside.string() + "'");
  EXPECT_EQ(visible.exit_code, 0) << "the directory should be visible, read-only";
  ProcessResult touched = run("touch '" + (outside / "tmp-outside-file").string() + "'");
  EXPECT_NE(touched.exit_code, 0);
  EXPECT_THAT(touched.stderr_text, HasSubstr("Read-only file system"));
  EXPECT_FALSE(fs::exists(outside / "tmp-outside-file"));
}

TEST_F(SandboxRunTest, CommandWritesInsideTheWorkspace) {
  ProcessResult result = run("mkdir -p build && echo built > build/out.txt && pwd");
  EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
  EXPECT_EQ(result.stdout_text, workspace_.string() + "\n");
  std::ifstream stream(workspace_ / "build" / "out.txt");
  std::string line;
  std::getline(stream, line);
  EXPECT_EQ(line, "built");
}

TEST_F(SandboxRunTest, HiddenCredentialsAreUnreadable) {
  // A home outside the workspace and one inside it (so the workspace bind cannot
  // reveal what is hidden inside it).
  for (fs::path home : {root_ / "home", workspace_ / "home"}) {
    SCOPED_TRACE(home.string());
    write(home / ".ssh" / "id_ed25519", "PRIVATE-KEY-MATERIAL");
    write(home / ".netrc", "machine example.com password NETRC-SECRET");
    write(home / ".joey" / "secrets.toml", "JOEY-SECRET");
    write(home / "notes.txt", "visible");
    options_.hidden = default_hidden_paths(home, home / ".joey");
    std::string h = "'" + home.string() + "'";
    ProcessResult result = run("cat " + h + "/notes.txt; cat " + h + "/.ssh/id_ed25519; cat " + h +
                               "/.netrc; cat " + h + "/.joey/secrets.toml; ls -A " + h + "/.ssh");
    EXPECT_THAT(result.stdout_text, HasSubstr("visible"));
    EXPECT_THAT(result.stdout_text, Not(HasSubstr("PRIVATE-KEY-MATERIAL")));
    EXPECT_THAT(result.stdout_text, Not(HasSubstr("NETRC-SECRET")));
    EXPECT_THAT(result.stdout_text, Not(HasSubstr("JOEY-SECRET")));
    EXPECT_THAT(result.stdout_text, Not(HasSubstr("id_ed25519")));
    // Hiding is a mount inside the sandbox only: the real files are untouched.
    EXPECT_TRUE(fs::exists(home / ".ssh" / "id_ed25519"));
  }
}

TEST_F(SandboxRunTest, ProviderKeysAreNotInTheEnvironment) {
  options_.unset_environment = {"OPENAI_API_KEY"};
  ProcessResult result = run("printenv OPENAI_API_KEY; printenv JOEY_TEST_VISIBLE",
                             {{"OPENAI_API_KEY", "sk-test-secret"}, {"JOEY_TEST_VISIBLE", "yes"}});
  EXPECT_THAT(result.stdout_text, Not(HasSubstr("sk-test-secret")));
  EXPECT_THAT(result.stdout_text, HasSubstr("yes"));
}

// A TCP listener on 127.0.0.1 (the host's loopback) that the test owns.
class Listener {
 public:
  Listener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        listen(fd_, 16) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      return;
    }
    port_ = ntohs(address.sin_port);
  }
  ~Listener() {
    if (fd_ >= 0) close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST_F(SandboxRunTest, NetworkIsUnreachableUnlessEnabled) {
  Listener listener;
  ASSERT_NE(listener.port(), 0);
  std::string connect =
      "exec bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(listener.port()) + "'";
  ProcessResult offline = run(connect);
  EXPECT_NE(offline.exit_code, 0);

  options_.network = true;
  ProcessResult online = run(connect);
  EXPECT_EQ(online.exit_code, 0) << online.stderr_text;
}

}  // namespace
}  // namespace joey::agent
