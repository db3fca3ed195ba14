// The MCP client against the reference server-filesystem on a temporary directory.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "mcp/client.h"
#include "mcp_test_support.h"

namespace joey::mcp {
namespace {

using nlohmann::json;
using testing::filesystem_script;
using testing::node_server;

class FilesystemServer : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("joey-mcp-fs-" + std::to_string(std::random_device()()));
    std::filesystem::create_directories(dir_ / "sub");
    std::ofstream(dir_ / "notes.txt") << "joey was here\n";
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::filesystem::path dir_;
};

TEST_F(FilesystemServer, ListsTheDirectoryAndReadsAFile) {
  JOEY_REQUIRE_NODE_SCRIPT(node, filesystem_script());
  Result<std::unique_ptr<Client>> client = Client::connect(
      node_server("filesystem", node, {filesystem_script(), dir_.string()}), nullptr);
  ASSERT_TRUE(client.ok()) << client.error().message;

  Result<std::vector<Tool>> tools = (*client)->list_tools();
  ASSERT_TRUE(tools.ok()) << tools.error().message;
  EXPECT_TRUE(std::any_of(tools->begin(), tools->end(),
                          [](const Tool& tool) { return tool.name == "list_directory"; }));

  Result<ToolResult> listing = (*client)->call_tool("list_directory", {{"path", dir_.string()}});
  ASSERT_TRUE(listing.ok()) << listing.error().message;
  ASSERT_FALSE(listing->is_error) << listing->content.at(0).text;
  const std::string& text = listing->content.at(0).text;
  EXPECT_NE(text.find("[FILE] notes.txt"), std::string::npos) << text;
  EXPECT_NE(text.find("[DIR] sub"), std::string::npos) << text;

  Result<ToolResult> read =
      (*client)->call_tool("read_file", {{"path", (dir_ / "notes.txt").string()}});
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_FALSE(read->is_error);
  EXPECT_EQ(read->content.at(0).text, "joey was here\n");
}

TEST_F(FilesystemServer, PathOutsideTheAllowedDirectoryIsAnErrorResult) {
  JOEY_REQUIRE_NODE_SCRIPT(node, filesystem_script());
  Result<std::unique_ptr<Client>> client = Client::connect(
      node_server("filesystem", node, {filesystem_script(), dir_.string()}), nullptr);
  ASSERT_TRUE(client.ok()) << client.error().message;
  Result<ToolResult> read = (*client)->call_tool("read_file", {{"path", "/etc/hostname"}});
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_TRUE(read->is_error);
}

}  // namespace
}  // namespace joey::mcp
