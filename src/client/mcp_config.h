// Which MCP servers the agent may start (issue 9 §2), from Roo Code's file format:
//
//   $JOEY_HOME/mcp.json                        scope "global"
//   <workspace>/.roo/mcp.json                  scope "project"
//   <workspace>/.joey/mcp.json                 scope "project" (wins over .roo)
//
// each {"mcpServers": {NAME: SERVER}} where SERVER is
//   {"command": "npx", "args": [...], "cwd": "...", "env": {"K": "V"}}        (stdio)
//   {"type": "streamable-http" | "sse", "url": "https://...", "headers": {...}}
// with optional "disabled": bool, "timeout": seconds (1–3600, default 60),
// "alwaysAllow": [TOOL...] (called without asking) and "disabledTools": [TOOL...]
// (never offered). A project file's server replaces a global one of the same name.
// Strings may hold ${env:VAR}, replaced from the environment when the server starts
// (an unset variable is an error for that server alone).
//
// Trust: a cloned repository must not run commands silently. Servers a project file
// defines start only once the user has trusted exactly those definitions for that
// workspace (`joey mcp trust`): $JOEY_HOME/mcp-trust.json (0600) keeps, per workspace
// path, the definitions as they were trusted, and any change to them needs trusting again.
//
// Names: letters, digits, '_' and '-', at most 32 characters and no "--" (tool names
// are mcp--SERVER--TOOL). Errors name the file and the server.
//
// Thread-safety: plain functions over files; no shared state.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace joey::client {

enum class McpScope { kGlobal, kProject };
const char* mcp_scope_name(McpScope scope);

enum class McpTransport { kStdio, kStreamableHttp, kSse };
const char* mcp_transport_name(McpTransport transport);

struct McpServerEntry {
  std::string name;
  McpScope scope = McpScope::kGlobal;
  std::filesystem::path file;  // the file that defines it
  nlohmann::json definition;   // as written, before ${env:VAR}
  McpTransport transport = McpTransport::kStdio;
  bool disabled = false;
  std::chrono::milliseconds timeout{60'000};
  std::vector<std::string> always_allow;
  std::vector<std::string> disabled_tools;
};

// A server ready to start: every ${env:VAR} replaced.
struct McpLaunch {
  std::string name;
  McpTransport transport = McpTransport::kStdio;
  std::string command;
  std::vector<std::string> args;
  std::string cwd;
  std::map<std::string, std::string> env;
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{60'000};
};

struct McpConfig {
  std::vector<McpServerEntry> servers;  // by name; project entries replace global ones
  // Whether the project files' servers are trusted as they are now (see above). True
  // when no project file defines a server.
  bool project_trusted = true;
};

std::filesystem::path global_mcp_file(const std::filesystem::path& joey_home);
std::filesystem::path project_mcp_file(const std::filesystem::path& workspace);  // .joey/
std::filesystem::path mcp_trust_file(const std::filesystem::path& joey_home);

// One file's text (untrusted) → its servers. kInvalidArgument naming `file`, the server
// and the field for anything malformed.
Result<std::vector<McpServerEntry>> parse_mcp_file(std::string_view text,
                                                   const std::filesystem::path& file,
                                                   McpScope scope);

// Every file above, merged; missing files are fine, a broken one is an error.
Result<McpConfig> load_mcp_config(const std::filesystem::path& joey_home,
                                  const std::filesystem::path& workspace);

// ${env:VAR} replaced from `environment`. kInvalidArgument naming the server and the
// variable when one is unset.
Result<McpLaunch> resolve_launch(const McpServerEntry& entry,
                                 const std::map<std::string, std::string>& environment);

// The servers that may start now: enabled, and (for project ones) trusted.
std::vector<const McpServerEntry*> startable_servers(const McpConfig& config);

// Records the workspace's project servers as trusted, exactly as they are now.
Status trust_project_servers(const std::filesystem::path& joey_home,
                             const std::filesystem::path& workspace, const McpConfig& config);

// Editing a file (created 0600 in a 0700 directory when missing; written atomically,
// keeping the other servers and keys as they are).
// add: kAlreadyExists unless `replace`; remove/set_disabled: kNotFound for an unknown name.
Status add_mcp_server(const std::filesystem::path& file, const std::string& name,
                      const nlohmann::json& definition, bool replace);
Status remove_mcp_server(const std::filesystem::path& file, const std::string& name);
Status set_mcp_server_disabled(const std::filesystem::path& file, const std::string& name,
                               bool disabled);

// kInvalidArgument unless `name` is a valid server name (see above).
Status check_mcp_server_name(const std::string& name);

}  // namespace joey::client
