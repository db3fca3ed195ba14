// The MCP client against servers that misbehave (tests/mcp/data/fake_mcp_server.js):
// a tool that never answers, garbage on stdout, an oversized line, a wrong version,
// requests from the server, a crash, a missing command.
#include <signal.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <thread>

#include "mcp/client.h"
#include "mcp_test_support.h"

namespace joey::mcp {
namespace {

using nlohmann::json;
using testing::fake_server_script;
using testing::node_server;

ServerConfig fake(const std::string& node, const std::string& mode,
                  std::chrono::milliseconds timeout = std::chrono::milliseconds(20'000)) {
  ServerConfig config = node_server("fake", node, {fake_server_script(), mode});
  config.timeout = timeout;
  return config;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Waits (at most 5 s) for `part` to appear on the server's stderr.
bool stderr_shows(const Client& client, const std::string& part) {
  for (int i = 0; i < 100; ++i) {
    if (contains(client.stderr_tail(), part)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST(MisbehavingServer, ToolThatNeverAnswersTimesOutAndIsCancelled) {
  JOEY_REQUIRE_NODE_SCRIPT(node, fake_server_script());
  Result<std::unique_ptr<Client>> client =
      Client::connect(fake(node, "hang", std::chrono::milliseconds(1500)), nullptr);
  ASSERT_TRUE(client.ok()) << client.error().message;
  Result<ToolResult> result = (*client)->call_tool("slow", json::object());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kTimeout);
  EXPECT_EQ(result.error().message,
            "the MCP server fake did not answer tools/call slow within 1500 ms");
  // The server reports on stderr the notifications/cancelled joey sent.
  EXPECT_TRUE(stderr_shows(**client, "cancelled request")) << (*client)->stderr_tail();
  // The connection is still usable.
  EXPECT_TRUE((*client)->list_tools().ok());
}

TEST(MisbehavingServer, CancelledToolCallIsCancelledOnTheServerToo) {
  JOEY_REQUIRE_NODE_SCRIPT(node, fake_server_script());
  Result<std::unique_ptr<Client>> client = Client::connect(fake(node, "hang"), nullptr);
  ASSERT_TRUE(client.ok()) << client.error().message;
  std::atomic<bool> cancel{false};
  std::thread canceller([&cancel] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
  });
  Result<ToolResult> result = (*client)->call_tool("slow", json::object(), &cancel);
  canceller.join();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kCancelled);
  EXPECT_EQ(result.error().message, "tools/call slow on the MCP server fake was cancelled");
  EXPECT_TRUE(stderr_shows(**client, "cancelled request")) << (*client)->stderr_tail();
}

TEST(MisbehavingServer, GarbageOnlyServerFailsInitializeClearly) {
  JOEY_REQUIRE_NODE_SCRIPT(node, fake_server_script());
  Result<std::unique_ptr<Client>> client =
      Client::connect(fake(node, "garbage", std::chrono::milliseconds(1500)), nullptr);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().kind, ErrorKind::kProtocol);
  EXPECT_TRUE(contains(client.error().message, "the MCP server fake does not speak MCP"))
      << client.error().message;
  EXPECT_TRUE(contains(client.error().message, "this is not JSON-RPC")) << client.error().message;
}

TEST(MisbehavingServer, OversizedLineIsDroppedAndTheClientSurvives) {
  JOEY_REQUIRE_NODE_SCRIPT(node, fake_server_script());
  Result<std::unique_ptr<Client>> client = Client::connect(fake(node, "oversized"), nullptr);
  ASSERT_TRUE(client.ok()) << client.error().message;
  Result<std::vector<Tool>> tools = (*client)->list_tools();
  ASSERT_TRUE(tools.ok()) << tools.error().message;
  EXPECT_EQ(tools->size(), 2u);
  Result<ToolResult> called = (*client)->call_tool("second", json::object());
  ASSERT_TRUE(called.ok()) << called.error().message;
  EXPECT_EQ(called->content.at(0).text, "called second");
}

TEST(MisbehavingServer, UnsupportedProtocolVersionIsRefused) {
  JOEY_REQUIRE_NODE_SCRIPT(node, fake_server_script());
  Result<std::unique_ptr<Client>> client = Client::connect(fake(node, "version"), nullptr);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().kind, ErrorKind::kProtocol);
  EXPECT_TRUE(contains(client.error().message, "1999-01-01")) << client.error().message;
  EXPECT_TRUE(contains(client.error().message, "2025-06-18")) << client.error().message;
}

TEST(MisbehavingServer, ListToolsFollowsTheCursorAndNoticesListChanged) {
  JOEY_REQUIRE_NODE_SCRIPT(node, fake_server_script());
  Result<std::unique_ptr<Client>> client = Client::connect(fake(node, "normal"), nullptr);
  ASSERT_TRUE(client.ok()) << client.error().message;
  EXPECT_FALSE((*client)->tools_changed());
  Result<std::vector<Tool>> tools = (*client)->list_tools();
  ASSERT_TRUE(tools.ok()) << tools.error().message;
  ASSERT_EQ(tools->size(), 2u);
  EXPECT_EQ((*tools)[0].name, "slow");
  EXPECT_EQ((*tools)[1].name, "second");
  // The second page came after notifications/tools/list_changed on the same stream.
  EXPECT_TRUE((*client)->tools_changed());
  EXPECT_FALSE((*client)->tools_changed());
}

TEST(MisbehavingServer, RequestsFromTheServerAreAnswered) {
  JOEY_REQUIRE_NODE_SCRIPT(node, fake_server_script());
  Result<std::unique_ptr<Client>> client = Client::connect(fake(node, "asks"), nullptr);
  ASSERT_TRUE(client.ok()) << client.error().message;
  Result<ToolResult> result = (*client)->call_tool("slow", json::object());
  ASSERT_TRUE(result.ok()) << result.error().message;
  const json answers = json::parse(result->content.at(0).text);
  EXPECT_EQ(answers["roots"]["result"], json({{"roots", json::array()}}));
  EXPECT_EQ(answers["ping"]["result"], json::object());
  EXPECT_EQ(answers["sampling"]["error"]["code"], kMethodNotFound);
}

TEST(MisbehavingServer, CrashFailsTheRequestWithTheStderrTail) {
  JOEY_REQUIRE_NODE_SCRIPT(node, fake_server_script());
  Result<std::unique_ptr<Client>> client = Client::connect(fake(node, "exit"), nullptr);
  ASSERT_TRUE(client.ok()) << client.error().message;
  Result<ToolResult> result = (*client)->call_tool("slow", json::object());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kIo);
  EXPECT_TRUE(contains(result.error().message, "exited with status 3")) << result.error().message;
  EXPECT_TRUE(contains(result.error().message, "the fake server gives up"))
      << result.error().message;
  EXPECT_FALSE((*client)->alive());
  Result<ToolResult> again = (*client)->call_tool("slow", json::object());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kIo);
}

TEST(MisbehavingServer, MissingCommandIsNotFound) {
  ServerConfig config;
  config.name = "ghost";
  config.command = "/nonexistent/joey-mcp-server";
  Result<std::unique_ptr<Client>> client = Client::connect(config, nullptr);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().kind, ErrorKind::kNotFound);
  EXPECT_TRUE(contains(client.error().message, "the MCP server ghost")) << client.error().message;
}

TEST(MisbehavingServer, CommandNotOnPathIsNotFound) {
  ServerConfig config;
  config.name = "ghost";
  config.command = "joey-no-such-mcp-server";
  Result<std::unique_ptr<Client>> client = Client::connect(config, nullptr);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().kind, ErrorKind::kNotFound);
  EXPECT_TRUE(contains(client.error().message, "not found on PATH")) << client.error().message;
}

TEST(MisbehavingServer, ShutdownLeavesNoProcessBehind) {
  JOEY_REQUIRE_NODE_SCRIPT(node, fake_server_script());
  Result<std::unique_ptr<Client>> client = Client::connect(fake(node, "normal"), nullptr);
  ASSERT_TRUE(client.ok()) << client.error().message;
  const int pid = (*client)->process_id();
  ASSERT_GT(pid, 0);
  client = make_error(ErrorKind::kInternal, "released");  // destroys the client
  // Neither the process nor its zombie remains: the pid is gone.
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST(MisbehavingServer, EnvironmentAndWorkingDirectoryReachTheServer) {
  JOEY_REQUIRE_NODE_SCRIPT(node, fake_server_script());
  ServerConfig config;
  config.name = "env";
  config.command = "/bin/sh";
  config.args = {"-c",
                 "echo \"cwd=$(pwd) value=$JOEY_MCP_TEST_VALUE home=${HOME:-unset}\" >&2; exec "
                 "\"$0\" \"$1\" normal",
                 node, fake_server_script()};
  config.cwd = "/tmp";
  config.env = {{"JOEY_MCP_TEST_VALUE", "forty-two"}};
  config.unset_env = {"HOME"};
  Result<std::unique_ptr<Client>> client = Client::connect(config, nullptr);
  ASSERT_TRUE(client.ok()) << client.error().message;
  EXPECT_TRUE(stderr_shows(**client, "cwd=/tmp value=forty-two home=unset"))
      << (*client)->stderr_tail();
}

}  // namespace
}  // namespace joey::mcp
