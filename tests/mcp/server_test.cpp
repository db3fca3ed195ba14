// joey::mcp::Server: lazy start, restart after a crash, backoff after failed starts.
#include "mcp/server.h"

#include <signal.h>

#include <gtest/gtest.h>

#include <thread>

#include "mcp_test_support.h"

namespace joey::mcp {
namespace {

using nlohmann::json;
using testing::everything_script;
using testing::node_server;

TEST(McpServer, KilledServerIsRestartedOnTheNextUse) {
  JOEY_REQUIRE_NODE_SCRIPT(node, everything_script());
  Server server(node_server("everything", node, {everything_script(), "stdio"}), nullptr);
  EXPECT_EQ(server.connect_count(), 0);  // lazy: nothing started yet
  Result<Client*> first = server.client();
  ASSERT_TRUE(first.ok()) << first.error().message;
  const int first_pid = (*first)->process_id();
  ASSERT_TRUE((*first)->ping().ok());

  ASSERT_EQ(kill(first_pid, SIGKILL), 0);
  for (int i = 0; i < 200 && (*first)->alive(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE((*first)->alive());

  Result<Client*> second = server.client();
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_NE((*second)->process_id(), first_pid);
  Result<ToolResult> echoed = (*second)->call_tool("echo", {{"message", "after restart"}});
  ASSERT_TRUE(echoed.ok()) << echoed.error().message;
  EXPECT_NE(echoed->content.at(0).text.find("after restart"), std::string::npos);
  EXPECT_EQ(server.connect_count(), 2);
}

TEST(McpServer, HealthyClientIsReused) {
  JOEY_REQUIRE_NODE_SCRIPT(node, everything_script());
  Server server(node_server("everything", node, {everything_script(), "stdio"}), nullptr);
  Result<Client*> first = server.client();
  ASSERT_TRUE(first.ok()) << first.error().message;
  Result<Client*> second = server.client();
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(server.connect_count(), 1);
}

TEST(McpServer, FailedStartWaitsBeforeTheNextAttempt) {
  ServerConfig config;
  config.name = "ghost";
  config.command = "/nonexistent/joey-mcp-server";
  Server server(config, nullptr);
  Result<Client*> first = server.client();
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().kind, ErrorKind::kNotFound);
  Result<Client*> second = server.client();  // within the 1 s backoff
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("joey tries again in 1 s"), std::string::npos)
      << second.error().message;
  EXPECT_NE(second.error().message.find("not found"), std::string::npos) << second.error().message;
  EXPECT_EQ(server.connect_count(), 1);
}

TEST(McpServer, ShutdownStopsAndAllowsAFreshStart) {
  JOEY_REQUIRE_NODE_SCRIPT(node, everything_script());
  Server server(node_server("everything", node, {everything_script(), "stdio"}), nullptr);
  Result<Client*> first = server.client();
  ASSERT_TRUE(first.ok()) << first.error().message;
  const int pid = (*first)->process_id();
  server.shutdown();
  EXPECT_EQ(kill(pid, 0), -1);
  Result<Client*> again = server.client();
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE((*again)->ping().ok());
}

}  // namespace
}  // namespace joey::mcp
