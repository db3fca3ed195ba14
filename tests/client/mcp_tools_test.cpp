// McpToolbox keeps the model's tools in step with the MCP servers: a server that
// announces notifications/tools/list_changed, or that was restarted after a crash, is
// listed again (tests/mcp/data/fake_mcp_server.js in its dynamic mode, over stdio).
#include "client/mcp_tools.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mcp/mcp_test_support.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;
using mcp::testing::fake_server_script;
using nlohmann::json;

class McpToolboxRefresh : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "joey-mcp-tools-XXXXXX").string();
    root_ = mkdtemp(pattern.data());
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }

  // A dynamic fake server listing the tools named in its own file, one per line.
  json fake_server(const std::string& node, const std::string& name,
                   const std::vector<std::string>& tools, json extra = json::object()) {
    set_tools(name, tools);
    extra["command"] = node;
    extra["args"] = {fake_server_script(), "dynamic", (root_ / (name + "-tools.txt")).string()};
    extra["timeout"] = 20;
    return extra;
  }
  void set_tools(const std::string& name, const std::vector<std::string>& tools) {
    std::ofstream out(root_ / (name + "-tools.txt"), std::ios::trunc);
    for (const std::string& tool : tools) out << tool << "\n";
  }

  std::unique_ptr<McpToolbox> open(const json& servers) {
    const std::string text = json{{"mcpServers", servers}}.dump();
    Result<std::vector<McpServerEntry>> entries =
        parse_mcp_file(text, root_ / "mcp.json", McpScope::kGlobal);
    EXPECT_TRUE(entries.ok()) << entries.error().message;
    if (!entries.ok()) return nullptr;
    McpConfig config;
    config.servers = std::move(entries).value();
    return McpToolbox::open(config, process_environment(), nullptr,
                            [this](const std::string& text) { notices_.push_back(text); });
  }

  static std::vector<std::string> names(const McpToolbox& box) {
    std::vector<std::string> names;
    for (const agent::ToolDefinition& tool : box.tools()) names.push_back(tool.name);
    return names;
  }

  static Result<agent::ToolOutput> run(const McpToolbox& box, const std::string& name,
                                       const json& arguments = json::object()) {
    const auto& tools = box.tools();
    auto found = std::find_if(tools.begin(), tools.end(),
                              [&](const agent::ToolDefinition& tool) { return tool.name == name; });
    if (found == tools.end()) return make_error(ErrorKind::kNotFound, "no tool " + name);
    agent::ToolContext context;  // no approvals: every call runs
    return found->run(arguments, context);
  }

  fs::path root_;
  std::vector<std::string> notices_;
};

TEST_F(McpToolboxRefresh, ListChangedOffersTheNewToolAndDropsTheRemovedOne) {
  JOEY_REQUIRE_NODE_SCRIPT(node, fake_server_script());
  std::unique_ptr<McpToolbox> box =
      open({{"one", fake_server(node, "one", {"alpha", "change"},
                                {{"disabledTools", {"hidden"}}, {"alwaysAllow", {"gamma"}}})},
            {"two", fake_server(node, "two", {"omega"})}});
  ASSERT_TRUE(box);
  ASSERT_EQ(names(*box), (std::vector<std::string>{"mcp--one--alpha", "mcp--one--change",
                                                   "mcp--two--omega", "access_mcp_resource"}));
  EXPECT_FALSE(box->refresh_tools());  // nothing announced yet

  ASSERT_TRUE(run(*box, "mcp--one--change", {{"add", "gamma"}, {"remove", "alpha"}}).ok());
  ASSERT_TRUE(run(*box, "mcp--one--change", {{"add", "hidden"}}).ok());
  EXPECT_TRUE(box->refresh_tools());
  // Servers keep their order, disabledTools still hides, access_mcp_resource stays last.
  EXPECT_EQ(names(*box), (std::vector<std::string>{"mcp--one--change", "mcp--one--gamma",
                                                   "mcp--two--omega", "access_mcp_resource"}));
  Result<agent::ToolOutput> called = run(*box, "mcp--one--gamma");
  ASSERT_TRUE(called.ok()) << called.error().message;
  EXPECT_EQ(called->content, "called gamma");
  EXPECT_FALSE(box->refresh_tools());  // the announcement was consumed
  EXPECT_TRUE(notices_.empty());
}

TEST_F(McpToolboxRefresh, AlwaysAllowStillAppliesToAToolThatAppeared) {
  JOEY_REQUIRE_NODE_SCRIPT(node, fake_server_script());
  std::unique_ptr<McpToolbox> box =
      open({{"one", fake_server(node, "one", {"change"}, {{"alwaysAllow", {"change", "fresh"}}})}});
  ASSERT_TRUE(box);
  ASSERT_TRUE(run(*box, "mcp--one--change", {{"add", "fresh"}}).ok());
  ASSERT_TRUE(run(*box, "mcp--one--change", {{"add", "asking"}}).ok());
  ASSERT_TRUE(box->refresh_tools());

  // An approval gate that refuses everything: only tools not always allowed reach it.
  struct Refusing : agent::ApprovalGate {
    Status request(const agent::ApprovalRequest& request) override {
      asked.push_back(request.tool);
      return make_error(ErrorKind::kNeedsDecision, "refused");
    }
    std::vector<std::string> asked;
  } gate;
  agent::ToolContext context;
  context.approvals = &gate;
  for (const agent::ToolDefinition& tool : box->tools()) {
    if (tool.name == "mcp--one--fresh" || tool.name == "mcp--one--asking") {
      Result<agent::ToolOutput> ignored = tool.run(json::object(), context);
    }
  }
  EXPECT_EQ(gate.asked, std::vector<std::string>{"mcp--one--asking"});
}

TEST_F(McpToolboxRefresh, RestartedServerIsListedAgain) {
  JOEY_REQUIRE_NODE_SCRIPT(node, fake_server_script());
  std::unique_ptr<McpToolbox> box = open({{"one", fake_server(node, "one", {"alpha", "quit"})}});
  ASSERT_TRUE(box);
  ASSERT_EQ(names(*box),
            (std::vector<std::string>{"mcp--one--alpha", "mcp--one--quit", "access_mcp_resource"}));
  // The server exits; it lists other tools once started again. No list_changed comes.
  set_tools("one", {"beta", "quit"});
  EXPECT_FALSE(run(*box, "mcp--one--quit").ok());
  EXPECT_FALSE(box->refresh_tools());  // down: refreshing never starts it
  Result<agent::ToolOutput> restarted = run(*box, "mcp--one--alpha");  // a call restarts it
  ASSERT_TRUE(restarted.ok()) << restarted.error().message;
  EXPECT_TRUE(box->refresh_tools());
  EXPECT_EQ(names(*box),
            (std::vector<std::string>{"mcp--one--beta", "mcp--one--quit", "access_mcp_resource"}));
  EXPECT_FALSE(box->refresh_tools());
}

TEST_F(McpToolboxRefresh, FailedRelistKeepsTheToolsAndSaysSoOnce) {
  JOEY_REQUIRE_NODE_SCRIPT(node, fake_server_script());
  std::unique_ptr<McpToolbox> box = open({{"one", fake_server(node, "one", {"change"})}});
  ASSERT_TRUE(box);
  const std::vector<std::string> before = names(*box);

  ASSERT_TRUE(run(*box, "mcp--one--change", {{"add", "lost"}, {"broken", true}}).ok());
  EXPECT_FALSE(box->refresh_tools());
  EXPECT_EQ(names(*box), before);
  ASSERT_EQ(notices_.size(), 1u);
  EXPECT_NE(notices_[0].find("the MCP server one"), std::string::npos) << notices_[0];
  EXPECT_NE(notices_[0].find("the tool list is broken"), std::string::npos) << notices_[0];
  EXPECT_NE(notices_[0].find("keeps offering the tools it listed before"), std::string::npos)
      << notices_[0];

  ASSERT_TRUE(run(*box, "mcp--one--change", {{"add", "also-lost"}, {"broken", true}}).ok());
  EXPECT_FALSE(box->refresh_tools());
  EXPECT_EQ(notices_.size(), 1u);  // said once

  ASSERT_TRUE(run(*box, "mcp--one--change", {{"add", "found"}}).ok());
  EXPECT_TRUE(box->refresh_tools());
  EXPECT_EQ(names(*box),
            (std::vector<std::string>{"mcp--one--change", "mcp--one--lost", "mcp--one--also-lost",
                                      "mcp--one--found", "access_mcp_resource"}));
}

// A server whose list failed may mend it without announcing it: the next refreshes ask
// again, a bounded number of times.
TEST_F(McpToolboxRefresh, AFailedRelistIsTriedAgainByTheNextRefreshes) {
  JOEY_REQUIRE_NODE_SCRIPT(node, fake_server_script());
  std::unique_ptr<McpToolbox> box = open({{"one", fake_server(node, "one", {"change"})}});
  ASSERT_TRUE(box);
  ASSERT_TRUE(run(*box, "mcp--one--change", {{"add", "late"}, {"broken", true}}).ok());
  EXPECT_FALSE(box->refresh_tools());
  EXPECT_EQ(notices_.size(), 1u);
  // Mended, and not a word about it.
  ASSERT_TRUE(run(*box, "mcp--one--change", {{"add", "quiet"}, {"quiet", true}}).ok());
  EXPECT_TRUE(box->refresh_tools());
  EXPECT_EQ(names(*box), (std::vector<std::string>{"mcp--one--change", "mcp--one--late",
                                                   "mcp--one--quiet", "access_mcp_resource"}));

  // Broken for good: tried kRelistRetries more times, then left alone until it speaks.
  ASSERT_TRUE(run(*box, "mcp--one--change", {{"add", "never"}, {"broken", true}}).ok());
  for (unsigned i = 0; i <= McpToolbox::kRelistRetries; ++i) EXPECT_FALSE(box->refresh_tools());
  ASSERT_TRUE(run(*box, "mcp--one--change", {{"add", "unheard"}, {"quiet", true}}).ok());
  EXPECT_FALSE(box->refresh_tools()) << "no retries left, no announcement";
  ASSERT_TRUE(run(*box, "mcp--one--change", {{"add", "heard"}}).ok());
  EXPECT_TRUE(box->refresh_tools());
  EXPECT_EQ(names(*box).size(), 7u);
}

}  // namespace
}  // namespace joey::client
