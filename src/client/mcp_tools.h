// MCP servers' tools offered to the model (issue 9 §3).
//
// Each startable server (client/mcp_config.h: enabled, and trusted when a workspace file
// defines it) is connected when the toolbox opens — all at once, each within its own
// timeout — and its tools become `mcp--SERVER--TOOL` with the server's description and
// JSON schema, in the mode's mcp group. A tool's name is cut to what model APIs accept
// (letters, digits, '_' and '-', 64 characters; a short hash keeps cut names apart), and
// the call goes to the tool under its own name. Tools in the server's disabledTools are
// not offered. access_mcp_resource {server_name, uri} reads a resource.
//
// When a server announces notifications/tools/list_changed, or was restarted after a
// crash (its connected client is not the one its tools were listed from),
// refresh_tools() lists its tools again and rebuilds the definitions; the agent calls
// it before each model request (agent::TaskOptions::refresh_tools), so the model is
// offered the server's current tools.
//
// A call asks for approval (ActionKind::kMcp) unless the tool is in its server's
// alwaysAllow list; the result — text, and a line describing each image, audio or
// resource — is capped at kMaxMcpResultBytes (head and tail kept). A result the server
// marks isError, a timeout or a crashed server (restarted on the next call, mcp/server.h)
// goes back to the model as the tool's error.
//
// Stdio servers never inherit the provider key variables or the Cloud token (P2).
//
// Thread-safety: tools and refresh_tools() run on the task loop's thread; the toolbox
// outlives them. list_changed arrives on the transports' threads and only sets the
// client's atomic flag, which refresh_tools() reads.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/tool.h"
#include "client/mcp_config.h"
#include "mcp/server.h"

namespace joey::client {

inline constexpr size_t kMaxMcpResultBytes = 64 * 1024;

// The name the model sees for `tool` of `server` (see above).
std::string mcp_tool_name(const std::string& server, const std::string& tool);

// How to start a resolved server: the launch, minus the keys joey reads (P2).
mcp::ServerConfig mcp_server_config(const McpLaunch& launch);

// This process's environment, for ${env:VAR}.
std::map<std::string, std::string> process_environment();

// HTTP transports for MCP servers, trusting `ca_bundle` (PEM; empty: the system store).
mcp::HttpTransportFactory mcp_http_factory(std::string ca_bundle);

// One MCP tool result as the text the model reads.
std::string mcp_result_text(const mcp::ToolResult& result);

class McpToolbox {
 public:
  // Connects every startable server; `notice` says which could not start (and that a
  // workspace's own servers wait for `joey mcp trust`), and later which could not list
  // its tools again; it must outlive the toolbox.
  static std::unique_ptr<McpToolbox> open(const McpConfig& config,
                                          const std::map<std::string, std::string>& environment,
                                          mcp::HttpTransportFactory http,
                                          const std::function<void(const std::string&)>& notice);
  ~McpToolbox();

  // The tool definitions (empty when no server is up).
  const std::vector<agent::ToolDefinition>& tools() const { return tools_; }

  // Lists again the tools of each server that announced a change or was restarted
  // since its tools were listed, and rebuilds tools(): servers keep their order,
  // disabledTools and alwaysAllow still apply, access_mcp_resource stays. Never starts
  // a server (one that is down keeps its tools; a call restarts it). A re-list that
  // fails keeps the server's previous tools and is said through the notice — once,
  // until a re-list of that server succeeds — and is tried again by the next
  // kRelistRetries refreshes (a server may mend its list without announcing it), then
  // not before the server announces a change or restarts. Returns true when tools()
  // changed.
  bool refresh_tools();
  static constexpr unsigned kRelistRetries = 3;

 private:
  struct Running {
    McpServerEntry entry;
    std::unique_ptr<mcp::Server> server;
    std::vector<mcp::Tool> listed;       // the tools as last listed
    mcp::Client* listed_from = nullptr;  // the client they were listed from
    bool relist_failure_said = false;
    // Refreshes left that re-list after a failed re-list, announced or not: a server
    // whose list failed once is asked again (it may have mended it without saying so).
    unsigned relist_retries = 0;
  };
  McpToolbox() = default;
  void rebuild_tools();
  void add_server_tools(Running& running);
  void add_resource_tool();

  std::vector<std::unique_ptr<Running>> servers_;
  std::vector<agent::ToolDefinition> tools_;
  std::function<void(const std::string&)> notice_;
};

}  // namespace joey::client
