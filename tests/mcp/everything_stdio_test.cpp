// The MCP client against the reference server-everything over stdio.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "mcp/client.h"
#include "mcp_test_support.h"

namespace joey::mcp {
namespace {

using nlohmann::json;
using testing::everything_script;
using testing::node_server;

std::unique_ptr<Client> connect_everything(const std::string& node) {
  Result<std::unique_ptr<Client>> client =
      Client::connect(node_server("everything", node, {everything_script(), "stdio"}), nullptr);
  EXPECT_TRUE(client.ok()) << (client.ok() ? "" : client.error().message);
  return client.ok() ? std::move(client).value() : nullptr;
}

const Tool* find_tool(const std::vector<Tool>& tools, const std::string& name) {
  const auto found =
      std::find_if(tools.begin(), tools.end(), [&](const Tool& tool) { return tool.name == name; });
  return found == tools.end() ? nullptr : &*found;
}

TEST(EverythingStdio, NegotiatesTheProtocolVersion) {
  JOEY_REQUIRE_NODE_SCRIPT(node, everything_script());
  std::unique_ptr<Client> client = connect_everything(node);
  ASSERT_TRUE(client);
  EXPECT_EQ(client->protocol_version(), "2025-06-18");
  EXPECT_EQ(client->server_info().value("name", ""), "mcp-servers/everything");
  EXPECT_TRUE(client->alive());
  EXPECT_GT(client->process_id(), 0);
}

TEST(EverythingStdio, ListsToolsIncludingEcho) {
  JOEY_REQUIRE_NODE_SCRIPT(node, everything_script());
  std::unique_ptr<Client> client = connect_everything(node);
  ASSERT_TRUE(client);
  Result<std::vector<Tool>> tools = client->list_tools();
  ASSERT_TRUE(tools.ok()) << tools.error().message;
  EXPECT_GE(tools->size(), 5u);
  const Tool* echo = find_tool(*tools, "echo");
  ASSERT_NE(echo, nullptr);
  EXPECT_FALSE(echo->description.empty());
  EXPECT_EQ(echo->input_schema.value("type", ""), "object");
  EXPECT_TRUE(echo->input_schema["properties"].contains("message"));
}

TEST(EverythingStdio, EchoReturnsItsText) {
  JOEY_REQUIRE_NODE_SCRIPT(node, everything_script());
  std::unique_ptr<Client> client = connect_everything(node);
  ASSERT_TRUE(client);
  Result<ToolResult> result = client->call_tool("echo", {{"message", "hello from joey"}});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_FALSE(result->is_error);
  ASSERT_FALSE(result->content.empty());
  EXPECT_EQ(result->content[0].type, "text");
  EXPECT_NE(result->content[0].text.find("hello from joey"), std::string::npos);
}

TEST(EverythingStdio, TinyImageArrivesAsBase64Png) {
  JOEY_REQUIRE_NODE_SCRIPT(node, everything_script());
  std::unique_ptr<Client> client = connect_everything(node);
  ASSERT_TRUE(client);
  Result<ToolResult> result = client->call_tool("get-tiny-image", json::object());
  ASSERT_TRUE(result.ok()) << result.error().message;
  const auto image = std::find_if(result->content.begin(), result->content.end(),
                                  [](const Content& content) { return content.type == "image"; });
  ASSERT_NE(image, result->content.end());
  EXPECT_EQ(image->mime_type, "image/png");
  EXPECT_EQ(image->data.rfind("iVBORw0KGgo", 0), 0u);  // the PNG signature in base64
}

TEST(EverythingStdio, InvalidArgumentsComeBackAsAnErrorResult) {
  JOEY_REQUIRE_NODE_SCRIPT(node, everything_script());
  std::unique_ptr<Client> client = connect_everything(node);
  ASSERT_TRUE(client);
  Result<ToolResult> result = client->call_tool("echo", json::object());  // "message" missing
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(result->is_error);
  ASSERT_FALSE(result->content.empty());
  EXPECT_NE(result->content[0].text.find("message"), std::string::npos);
}

TEST(EverythingStdio, EmbeddedResourceContentKeepsItsUri) {
  JOEY_REQUIRE_NODE_SCRIPT(node, everything_script());
  std::unique_ptr<Client> client = connect_everything(node);
  ASSERT_TRUE(client);
  Result<ToolResult> result =
      client->call_tool("get-resource-reference", {{"resourceType", "Text"}, {"resourceId", 1}});
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_FALSE(result->is_error) << result->content[0].text;
  const auto resource =
      std::find_if(result->content.begin(), result->content.end(),
                   [](const Content& content) { return content.type == "resource"; });
  ASSERT_NE(resource, result->content.end());
  EXPECT_FALSE(resource->uri.empty());
  EXPECT_FALSE(resource->text.empty());
}

TEST(EverythingStdio, ListsAndReadsResources) {
  JOEY_REQUIRE_NODE_SCRIPT(node, everything_script());
  std::unique_ptr<Client> client = connect_everything(node);
  ASSERT_TRUE(client);
  Result<std::vector<Resource>> resources = client->list_resources();
  ASSERT_TRUE(resources.ok()) << resources.error().message;
  ASSERT_FALSE(resources->empty());
  const Resource& first = resources->front();
  EXPECT_FALSE(first.name.empty());
  Result<std::vector<ResourceContents>> contents = client->read_resource(first.uri);
  ASSERT_TRUE(contents.ok()) << contents.error().message;
  ASSERT_FALSE(contents->empty());
  EXPECT_EQ((*contents)[0].uri, first.uri);
  EXPECT_FALSE((*contents)[0].text.empty() && (*contents)[0].blob.empty());
}

TEST(EverythingStdio, ReadingAnUnknownResourceIsAnError) {
  JOEY_REQUIRE_NODE_SCRIPT(node, everything_script());
  std::unique_ptr<Client> client = connect_everything(node);
  ASSERT_TRUE(client);
  Result<std::vector<ResourceContents>> contents =
      client->read_resource("demo://resource/static/document/no-such-file");
  ASSERT_FALSE(contents.ok());
  EXPECT_NE(contents.error().message.find("everything"), std::string::npos);
}

TEST(EverythingStdio, PingIsAnswered) {
  JOEY_REQUIRE_NODE_SCRIPT(node, everything_script());
  std::unique_ptr<Client> client = connect_everything(node);
  ASSERT_TRUE(client);
  Status pinged = client->ping();
  EXPECT_TRUE(pinged.ok()) << pinged.error().message;
}

TEST(EverythingStdio, RootsRequestFromTheServerIsAnswered) {
  JOEY_REQUIRE_NODE_SCRIPT(node, everything_script());
  std::unique_ptr<Client> client = connect_everything(node);
  ASSERT_TRUE(client);
  // The server registers get-roots-list after initialize because joey declares roots;
  // calling it makes the server ask joey roots/list and wait for the answer.
  Result<ToolResult> result = client->call_tool("get-roots-list", json::object());
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_FALSE(result->content.empty());
  EXPECT_NE(result->content[0].text.find("no roots are currently configured"), std::string::npos)
      << result->content[0].text;
}

TEST(EverythingStdio, StderrIsKept) {
  JOEY_REQUIRE_NODE_SCRIPT(node, everything_script());
  std::unique_ptr<Client> client = connect_everything(node);
  ASSERT_TRUE(client);
  EXPECT_NE(client->stderr_tail().find("Starting default (STDIO) server"), std::string::npos);
}

}  // namespace
}  // namespace joey::mcp
