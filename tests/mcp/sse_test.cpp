// The MCP client over the older HTTP+SSE transport, against server-everything (sse)
// on 127.0.0.1, and the endpoint resolution rules.
#include <gtest/gtest.h>

#include "mcp/client.h"
#include "mcp/sse_transport.h"
#include "mcp_test_support.h"
#include "node_http_server.h"

namespace joey::mcp {
namespace {

using nlohmann::json;
using testing::everything_script;
using testing::NodeHttpServer;

HttpTransportFactory curl_factory() {
  return [](const Cancellation* cancellation) { return llm::make_curl_transport(cancellation); };
}

ServerConfig sse_config(const std::string& url) {
  ServerConfig config;
  config.name = "everything-sse";
  config.kind = ServerConfig::Kind::kSse;
  config.url = url;
  config.timeout = std::chrono::milliseconds(20'000);
  return config;
}

TEST(OlderSseTransport, EverythingAnswersOnTheStream) {
  JOEY_REQUIRE_NODE_SCRIPT(node, everything_script());
  NodeHttpServer server;
  ASSERT_TRUE(server.start(node, {everything_script(), "sse"}, "Server is running on port"))
      << server.output();
  Result<std::unique_ptr<Client>> client =
      Client::connect(sse_config(server.url("/sse")), curl_factory());
  ASSERT_TRUE(client.ok()) << client.error().message;
  EXPECT_EQ((*client)->protocol_version(), "2025-06-18");
  Result<std::vector<Tool>> tools = (*client)->list_tools();
  ASSERT_TRUE(tools.ok()) << tools.error().message;
  EXPECT_GE(tools->size(), 5u);
  Result<ToolResult> echoed = (*client)->call_tool("echo", {{"message", "over sse"}});
  ASSERT_TRUE(echoed.ok()) << echoed.error().message;
  EXPECT_NE(echoed->content.at(0).text.find("over sse"), std::string::npos);
  EXPECT_TRUE((*client)->ping().ok());
  Result<std::vector<Resource>> resources = (*client)->list_resources();
  ASSERT_TRUE(resources.ok()) << resources.error().message;
  EXPECT_FALSE(resources->empty());
}

TEST(OlderSseTransport, ShutdownEndsTheStream) {
  JOEY_REQUIRE_NODE_SCRIPT(node, everything_script());
  NodeHttpServer server;
  ASSERT_TRUE(server.start(node, {everything_script(), "sse"}, "Server is running on port"))
      << server.output();
  Result<std::unique_ptr<Client>> client =
      Client::connect(sse_config(server.url("/sse")), curl_factory());
  ASSERT_TRUE(client.ok()) << client.error().message;
  client = make_error(ErrorKind::kInternal, "released");  // destroys the client
  EXPECT_TRUE(server.wait_for_output("Client Disconnected")) << server.output();
}

TEST(OlderSseTransport, WrongUrlFailsWithTheStatus) {
  JOEY_REQUIRE_NODE_SCRIPT(node, everything_script());
  NodeHttpServer server;
  ASSERT_TRUE(server.start(node, {everything_script(), "sse"}, "Server is running on port"))
      << server.output();
  Result<std::unique_ptr<Client>> client =
      Client::connect(sse_config(server.url("/nowhere")), curl_factory());
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.error().message.find("answered HTTP 404"), std::string::npos)
      << client.error().message;
}

TEST(SseEndpoint, ResolvesRelativeToTheStreamUrl) {
  const std::string base = "http://127.0.0.1:3001/sse";
  EXPECT_EQ(resolve_sse_endpoint(base, "/message?sessionId=a1"),
            "http://127.0.0.1:3001/message?sessionId=a1");
  EXPECT_EQ(resolve_sse_endpoint("https://h.example/mcp/sse?x=1", "messages?s=2"),
            "https://h.example/mcp/messages?s=2");
  EXPECT_EQ(resolve_sse_endpoint(base, "http://127.0.0.1:3001/m"), "http://127.0.0.1:3001/m");
}

TEST(SseEndpoint, RefusesAnotherOriginOrJunk) {
  const std::string base = "http://127.0.0.1:3001/sse";
  EXPECT_EQ(resolve_sse_endpoint(base, "http://evil.example/m"), "");
  EXPECT_EQ(resolve_sse_endpoint(base, "http://127.0.0.1:3002/m"), "");
  EXPECT_EQ(resolve_sse_endpoint(base, "//evil.example/m"), "");
  EXPECT_EQ(resolve_sse_endpoint(base, "/m\nx"), "");
  EXPECT_EQ(resolve_sse_endpoint(base, ""), "");
  EXPECT_EQ(resolve_sse_endpoint("not a url", "/m"), "");
}

}  // namespace
}  // namespace joey::mcp
