// The MCP client over streamable HTTP: against server-everything (streamableHttp) and
// a strict fake server (tests/mcp/data/fake_http_server.js), both on 127.0.0.1.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "llm/egress_log.h"
#include "mcp/client.h"
#include "mcp_test_support.h"
#include "node_http_server.h"

namespace joey::mcp {
namespace {

using nlohmann::json;
using testing::everything_script;
using testing::free_loopback_port;
using testing::NodeHttpServer;
using testing::source_path;

class StreamableHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    egress_path_ = std::filesystem::temp_directory_path() /
                   ("joey-mcp-egress-" + std::to_string(std::random_device()()) + ".log");
    egress_ = std::make_shared<llm::EgressLog>(egress_path_);
    factory_ = [egress = egress_](const Cancellation* cancellation) {
      llm::TransportOptions options;
      options.egress_log = egress;
      return llm::make_curl_transport(cancellation, options);
    };
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove(egress_path_, ignored);
  }

  ServerConfig http_config(const std::string& name, const std::string& url) const {
    ServerConfig config;
    config.name = name;
    config.kind = ServerConfig::Kind::kStreamableHttp;
    config.url = url;
    config.timeout = std::chrono::milliseconds(20'000);
    return config;
  }

  std::string egress_text() const {
    std::ifstream in(egress_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::filesystem::path egress_path_;
  std::shared_ptr<llm::EgressLog> egress_;
  HttpTransportFactory factory_;
};

#define JOEY_START_EVERYTHING_HTTP(server)                                                      \
  JOEY_REQUIRE_NODE_SCRIPT(node, everything_script());                                          \
  NodeHttpServer server;                                                                        \
  ASSERT_TRUE(server.start(node, {everything_script(), "streamableHttp"}, "listening on port")) \
      << server.output()

TEST_F(StreamableHttp, EverythingNegotiatesAndEchoes) {
  JOEY_START_EVERYTHING_HTTP(server);
  Result<std::unique_ptr<Client>> client =
      Client::connect(http_config("everything-http", server.url()), factory_);
  ASSERT_TRUE(client.ok()) << client.error().message;
  EXPECT_EQ((*client)->protocol_version(), "2025-06-18");
  EXPECT_EQ((*client)->process_id(), -1);
  Result<std::vector<Tool>> tools = (*client)->list_tools();
  ASSERT_TRUE(tools.ok()) << tools.error().message;
  EXPECT_GE(tools->size(), 5u);
  Result<ToolResult> echoed = (*client)->call_tool("echo", {{"message", "over http"}});
  ASSERT_TRUE(echoed.ok()) << echoed.error().message;
  EXPECT_NE(echoed->content.at(0).text.find("over http"), std::string::npos);
  EXPECT_TRUE((*client)->ping().ok());
}

TEST_F(StreamableHttp, EverythingImageErrorResultAndResources) {
  JOEY_START_EVERYTHING_HTTP(server);
  Result<std::unique_ptr<Client>> client =
      Client::connect(http_config("everything-http", server.url()), factory_);
  ASSERT_TRUE(client.ok()) << client.error().message;
  Result<ToolResult> image = (*client)->call_tool("get-tiny-image", json::object());
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_TRUE(std::any_of(image->content.begin(), image->content.end(), [](const Content& c) {
    return c.type == "image" && c.data.rfind("iVBORw0KGgo", 0) == 0;
  }));
  Result<ToolResult> invalid = (*client)->call_tool("echo", json::object());
  ASSERT_TRUE(invalid.ok()) << invalid.error().message;
  EXPECT_TRUE(invalid->is_error);
  Result<std::vector<Resource>> resources = (*client)->list_resources();
  ASSERT_TRUE(resources.ok()) << resources.error().message;
  ASSERT_FALSE(resources->empty());
  Result<std::vector<ResourceContents>> contents = (*client)->read_resource(resources->at(0).uri);
  ASSERT_TRUE(contents.ok()) << contents.error().message;
  ASSERT_FALSE(contents->empty());
}

TEST_F(StreamableHttp, ShutdownDeletesTheSessionAndRequestsAreInTheEgressLog) {
  JOEY_START_EVERYTHING_HTTP(server);
  Result<std::unique_ptr<Client>> client =
      Client::connect(http_config("everything-http", server.url()), factory_);
  ASSERT_TRUE(client.ok()) << client.error().message;
  client = make_error(ErrorKind::kInternal, "released");  // destroys the client
  EXPECT_TRUE(server.wait_for_output("Received session termination request")) << server.output();
  const std::string egress = egress_text();
  EXPECT_NE(egress.find(R"("method":"POST","purpose":"mcp")"), std::string::npos) << egress;
  EXPECT_NE(egress.find(R"("method":"DELETE","purpose":"mcp")"), std::string::npos) << egress;
}

class FakeHttp : public StreamableHttp {};

#define JOEY_START_FAKE_HTTP(server)                                                        \
  JOEY_REQUIRE_NODE_SCRIPT(node, source_path("tests/mcp/data/fake_http_server.js"));        \
  NodeHttpServer server;                                                                    \
  ASSERT_TRUE(                                                                              \
      server.start(node, {source_path("tests/mcp/data/fake_http_server.js")}, "listening")) \
      << server.output()

TEST_F(FakeHttp, SseAnswerIsReadUntilTheResponseEvenIfTheStreamStaysOpen) {
  JOEY_START_FAKE_HTTP(server);
  Result<std::unique_ptr<Client>> client =
      Client::connect(http_config("fake-http", server.url()), factory_);
  ASSERT_TRUE(client.ok()) << client.error().message;
  Result<std::vector<Tool>> tools = (*client)->list_tools();
  ASSERT_TRUE(tools.ok()) << tools.error().message;
  ASSERT_EQ(tools->size(), 1u);
  EXPECT_EQ(tools->at(0).name, "echo");
}

TEST_F(FakeHttp, ExpiredSessionIsReinitializedOnce) {
  JOEY_START_FAKE_HTTP(server);
  Result<std::unique_ptr<Client>> client =
      Client::connect(http_config("fake-http", server.url()), factory_);
  ASSERT_TRUE(client.ok()) << client.error().message;
  ASSERT_TRUE((*client)->call_tool("expire", json::object()).ok());
  Result<ToolResult> echoed = (*client)->call_tool("echo", {{"message", "still here"}});
  ASSERT_TRUE(echoed.ok()) << echoed.error().message;
  EXPECT_EQ(echoed->content.at(0).text, "still here");
  Result<ToolResult> stats = (*client)->call_tool("stats", json::object());
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(json::parse(stats->content.at(0).text)["initializations"], 2);
}

TEST_F(FakeHttp, ServerRequestOnTheAnswerStreamIsAnswered) {
  JOEY_START_FAKE_HTTP(server);
  Result<std::unique_ptr<Client>> client =
      Client::connect(http_config("fake-http", server.url()), factory_);
  ASSERT_TRUE(client.ok()) << client.error().message;
  Result<ToolResult> asked = (*client)->call_tool("ask", json::object());
  ASSERT_TRUE(asked.ok()) << asked.error().message;
  const json reply = json::parse(asked->content.at(0).text);
  EXPECT_EQ(reply["result"], json::object());
}

TEST_F(FakeHttp, ShutdownDeletesTheSession) {
  JOEY_START_FAKE_HTTP(server);
  {
    Result<std::unique_ptr<Client>> first =
        Client::connect(http_config("fake-http", server.url()), factory_);
    ASSERT_TRUE(first.ok()) << first.error().message;
  }
  Result<std::unique_ptr<Client>> second =
      Client::connect(http_config("fake-http", server.url()), factory_);
  ASSERT_TRUE(second.ok()) << second.error().message;
  Result<ToolResult> stats = (*second)->call_tool("stats", json::object());
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(json::parse(stats->content.at(0).text)["deletes"], 1);
}

TEST_F(FakeHttp, UnreachableServerFailsToConnect) {
  const int port = free_loopback_port();
  ASSERT_GT(port, 0);
  ServerConfig config = http_config("nobody", "http://127.0.0.1:" + std::to_string(port) + "/mcp");
  Result<std::unique_ptr<Client>> client = Client::connect(config, factory_);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().kind, ErrorKind::kNetwork);
  EXPECT_NE(client.error().message.find("the MCP server nobody"), std::string::npos)
      << client.error().message;
}

}  // namespace
}  // namespace joey::mcp
