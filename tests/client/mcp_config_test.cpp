// MCP server configuration (issue 9 §2): Roo Code's mcp.json format in three places,
// project files over global ones, ${env:VAR}, bad input named by file and server, the
// trust a workspace's own servers need before they start, and editing files in place.
#include "client/mcp_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "base/atomic_file.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class McpConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "joey-mcp-config-XXXXXX").string();
    root_ = mkdtemp(pattern.data());
    home_ = root_ / "home";
    workspace_ = root_ / "workspace";
    fs::create_directories(home_);
    fs::create_directories(workspace_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }
  void write(const fs::path& file, const std::string& text) {
    fs::create_directories(file.parent_path());
    ASSERT_TRUE(write_file_atomically(file, text).ok());
  }
  McpConfig load() {
    Result<McpConfig> config = load_mcp_config(home_, workspace_);
    EXPECT_TRUE(config.ok()) << config.error().message;
    return config.ok() ? *config : McpConfig{};
  }
  static const McpServerEntry* find(const McpConfig& config, const std::string& name) {
    for (const McpServerEntry& entry : config.servers) {
      if (entry.name == name) return &entry;
    }
    return nullptr;
  }

  fs::path root_, home_, workspace_;
};

TEST_F(McpConfigTest, ReadsRooCodesFormatFromEveryPlaceProjectOverGlobal) {
  write(global_mcp_file(home_), R"({"mcpServers": {
    "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"],
              "alwaysAllow": ["read_file"], "timeout": 30},
    "shared": {"command": "global-one"}}})");
  write(workspace_ / ".roo" / "mcp.json",
        R"({"mcpServers": {"docs": {"type": "streamable-http", "url": "https://mcp.example.com/mcp",
                                     "headers": {"X-Team": "core"}, "disabledTools": ["delete"]}}})");
  write(project_mcp_file(workspace_), R"({"mcpServers": {"shared": {"command": "project-one"}}})");
  McpConfig config = load();
  ASSERT_EQ(config.servers.size(), 3u);
  const McpServerEntry* files = find(config, "files");
  ASSERT_NE(files, nullptr);
  EXPECT_EQ(files->scope, McpScope::kGlobal);
  EXPECT_EQ(files->transport, McpTransport::kStdio);
  EXPECT_EQ(files->timeout, std::chrono::seconds(30));
  EXPECT_EQ(files->always_allow, std::vector<std::string>{"read_file"});
  const McpServerEntry* docs = find(config, "docs");
  ASSERT_NE(docs, nullptr);
  EXPECT_EQ(docs->transport, McpTransport::kStreamableHttp);
  EXPECT_EQ(docs->disabled_tools, std::vector<std::string>{"delete"});
  const McpServerEntry* shared = find(config, "shared");
  ASSERT_NE(shared, nullptr);
  EXPECT_EQ(shared->scope, McpScope::kProject);
  EXPECT_EQ(shared->definition["command"], "project-one");
}

TEST_F(McpConfigTest, BadFilesAreNamedWithTheServerAndField) {
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {"not json", "not a JSON object"},
      {R"({"mcpServers": []})", "'mcpServers' must be an object"},
      {R"({"mcpServers": {"a": {}}})", "'command' is required"},
      {R"({"mcpServers": {"a": {"command": 3}}})", "'command' is required"},
      {R"({"mcpServers": {"a": {"command": "x", "args": "y"}}})", "'args' must be a list"},
      {R"({"mcpServers": {"a": {"command": "x", "env": {"K": 1}}}})", "'env.K' must be a string"},
      {R"({"mcpServers": {"a": {"command": "x", "timeout": 0}}})", "'timeout' must be"},
      {R"({"mcpServers": {"a": {"command": "x", "disabled": "yes"}}})", "'disabled' must be"},
      {R"({"mcpServers": {"a": {"command": "x", "comand": "y"}}})", "unknown key 'comand'"},
      {R"({"mcpServers": {"a": {"type": "websocket", "url": "wss://x"}}})", "'type' must be"},
      {R"({"mcpServers": {"a": {"type": "sse"}}})", "'url' is required"},
      {R"({"mcpServers": {"a": {"type": "sse", "url": "ftp://x"}}})", "http:// or https://"},
      {R"({"mcpServers": {"bad--name": {"command": "x"}}})", "not a valid MCP server name"},
      {R"({"mcpServers": {"bad name": {"command": "x"}}})", "not a valid MCP server name"},
  };
  for (const Case& c : cases) {
    Result<std::vector<McpServerEntry>> parsed =
        parse_mcp_file(c.text, "/x/mcp.json", McpScope::kGlobal);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.error().kind, ErrorKind::kInvalidArgument);
    EXPECT_NE(parsed.error().message.find(c.expected), std::string::npos)
        << c.text << " -> " << parsed.error().message;
    EXPECT_EQ(parsed.error().message.rfind("/x/mcp.json: ", 0), 0u) << parsed.error().message;
  }
  write(global_mcp_file(home_), "{broken");
  Result<McpConfig> config = load_mcp_config(home_, workspace_);
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find(global_mcp_file(home_).string()), std::string::npos);
}

TEST_F(McpConfigTest, EnvironmentVariablesAreSubstitutedWhenTheServerStarts) {
  write(global_mcp_file(home_), R"({"mcpServers": {
    "gh": {"command": "npx", "args": ["server", "--token=${env:GH_TOKEN}"], "env": {"T": "${env:GH_TOKEN}x"}},
    "web": {"type": "streamable-http", "url": "https://${env:HOST}/mcp", "headers": {"Authorization": "Bearer ${env:GH_TOKEN}"}}}})");
  McpConfig config = load();
  Result<McpLaunch> gh = resolve_launch(*find(config, "gh"), {{"GH_TOKEN", "t0k"}});
  ASSERT_TRUE(gh.ok()) << gh.error().message;
  EXPECT_EQ(gh->args, (std::vector<std::string>{"server", "--token=t0k"}));
  EXPECT_EQ(gh->env.at("T"), "t0kx");
  Result<McpLaunch> web =
      resolve_launch(*find(config, "web"), {{"GH_TOKEN", "t"}, {"HOST", "h.example"}});
  ASSERT_TRUE(web.ok());
  EXPECT_EQ(web->url, "https://h.example/mcp");
  EXPECT_EQ(web->headers.at(0).second, "Bearer t");
  Result<McpLaunch> missing = resolve_launch(*find(config, "gh"), {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("GH_TOKEN is not set"), std::string::npos);
  EXPECT_NE(missing.error().message.find("'gh'"), std::string::npos);
}

TEST_F(McpConfigTest, ProjectServersStartOnlyOnceTrustedAndAgainAfterAnyChange) {
  write(global_mcp_file(home_), R"({"mcpServers": {"mine": {"command": "my-server"}}})");
  write(project_mcp_file(workspace_), R"({"mcpServers": {"repo": {"command": "repo-server"}}})");
  McpConfig config = load();
  EXPECT_FALSE(config.project_trusted);
  std::vector<const McpServerEntry*> startable = startable_servers(config);
  ASSERT_EQ(startable.size(), 1u);
  EXPECT_EQ(startable[0]->name, "mine");

  ASSERT_TRUE(trust_project_servers(home_, workspace_, config).ok());
  struct stat info {};
  ASSERT_EQ(stat(mcp_trust_file(home_).c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_TRUE(load().project_trusted);
  EXPECT_EQ(startable_servers(load()).size(), 2u);

  // Turning it off and on needs no new trust ...
  ASSERT_TRUE(set_mcp_server_disabled(project_mcp_file(workspace_), "repo", true).ok());
  EXPECT_TRUE(load().project_trusted);
  EXPECT_EQ(startable_servers(load()).size(), 1u);
  ASSERT_TRUE(set_mcp_server_disabled(project_mcp_file(workspace_), "repo", false).ok());
  // ... but a pulled change to what it runs, or to what it may do unasked, does.
  write(project_mcp_file(workspace_),
        R"({"mcpServers": {"repo": {"command": "repo-server", "alwaysAllow": ["run"]}}})");
  EXPECT_FALSE(load().project_trusted);
  // Trust is per workspace: another checkout of the same files is not trusted.
  fs::path other = root_ / "other";
  fs::create_directories(other / ".joey");
  fs::copy_file(project_mcp_file(workspace_), project_mcp_file(other));
  Result<McpConfig> elsewhere = load_mcp_config(home_, other);
  ASSERT_TRUE(elsewhere.ok());
  EXPECT_FALSE(elsewhere->project_trusted);
}

TEST_F(McpConfigTest, EditingKeepsOtherServersAndRefusesToOverwrite) {
  const fs::path file = global_mcp_file(home_);
  write(file, R"({"mcpServers": {"keep": {"command": "k", "futureKey": 1}}, "other": true})");
  ASSERT_TRUE(
      add_mcp_server(file, "files", {{"command", "npx"}, {"args", {"-y", "x"}}}, false).ok());
  Status again = add_mcp_server(file, "files", {{"command", "other"}}, false);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kAlreadyExists);
  EXPECT_NE(again.error().message.find("--force"), std::string::npos);
  ASSERT_TRUE(add_mcp_server(file, "files", {{"command", "other"}}, true).ok());
  EXPECT_FALSE(add_mcp_server(file, "x", {{"command", 1}}, false).ok());
  EXPECT_FALSE(add_mcp_server(file, "bad--name", {{"command", "x"}}, false).ok());

  json document = json::parse(read_file_to_string(file).value());
  EXPECT_EQ(document["other"], true);
  EXPECT_EQ(document["mcpServers"]["keep"]["futureKey"], 1);
  EXPECT_EQ(document["mcpServers"]["files"]["command"], "other");
  struct stat info {};
  ASSERT_EQ(stat(file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  ASSERT_TRUE(remove_mcp_server(file, "files").ok());
  Status gone = remove_mcp_server(file, "files");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().kind, ErrorKind::kNotFound);
  EXPECT_FALSE(set_mcp_server_disabled(file, "nope", true).ok());
}

}  // namespace
}  // namespace joey::client
