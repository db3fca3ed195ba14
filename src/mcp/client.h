// joey's MCP client: one connection to one MCP server — stdio (stdio_transport.h),
// streamable HTTP (streamable_http_transport.h) or the older HTTP+SSE
// (sse_transport.h). Server (server.h) keeps one running and reconnects after a crash.
// joey sends protocol version 2025-06-18 and accepts 2025-06-18, 2025-03-26 and
// 2024-11-05 in answer; it declares the roots capability (and answers with no roots).
//
// Errors name the server and say what it did: kNotFound (the command is missing),
// kProtocol (not an MCP server, an unsupported protocol version, a malformed answer),
// kTimeout ("the MCP server NAME did not answer tools/call TOOL within N s"), kIo (the
// process exited; the message holds the end of its stderr).
//
// Requests the server sends joey are always answered, so a server never hangs on
// joey: ping, roots/list (an empty list), anything else -32601 — wherever they arrive
// (stdio, an answer's SSE stream, the streamable HTTP GET stream opened after
// initialize).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "mcp/jsonrpc.h"
#include "mcp/types.h"

namespace joey::mcp {

class Transport;

// The most pages list_tools / list_resources follow before giving up (kLimit).
inline constexpr int kMaxListPages = 100;

// One connection to one server. Thread-safety: all methods may be called from any
// thread; requests may be concurrent (ids match answers). The destructor shuts the
// server down (stdio: close stdin, SIGTERM, SIGKILL; HTTP: DELETE the session) and
// must not run while another thread is inside a method.
class Client {
 public:
  // Starts the server (stdio) or connects (HTTP) and runs initialize / initialized,
  // within config.timeout.
  static Result<std::unique_ptr<Client>> connect(const ServerConfig& config,
                                                 const HttpTransportFactory& http);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ServerConfig& config() const { return config_; }
  const std::string& protocol_version() const { return protocol_version_; }  // negotiated
  const nlohmann::json& server_info() const { return server_info_; }         // {name, version, ...}
  const nlohmann::json& server_capabilities() const { return server_capabilities_; }

  Result<std::vector<Tool>> list_tools();  // follows nextCursor (at most kMaxListPages)
  // `cancel` (may be null) is polled while waiting; on cancel or timeout joey sends
  // notifications/cancelled for the request.
  Result<ToolResult> call_tool(const std::string& name, const nlohmann::json& arguments,
                               const std::atomic<bool>* cancel = nullptr);
  Result<std::vector<Resource>> list_resources();
  Result<std::vector<ResourceContents>> read_resource(const std::string& uri);
  Status ping();

  // True once after notifications/tools/list_changed arrived — on stdio, on an HTTP
  // answer's stream or on the streamable HTTP GET stream — then false until the next
  // one. Set on a transport thread, read from any (atomic); client::McpToolbox reads
  // it to list the tools again.
  bool tools_changed();
  // False after the process exited or the session ended.
  bool alive() const;
  // The last ≤16 KiB the server wrote on stderr (stdio; empty for HTTP).
  std::string stderr_tail() const;
  // The server's process id (stdio), -1 for HTTP. For diagnostics and tests.
  int process_id() const;

  // Any request: the result object, or an Error. `what` names it in messages
  // ("tools/call echo"). Used by the methods above; public for callers that need an
  // MCP method joey has no wrapper for (prompts/list, ...).
  Result<nlohmann::json> request(const std::string& method, const nlohmann::json& params,
                                 const std::string& what, const std::atomic<bool>* cancel);

 private:
  struct Pending {
    std::optional<Result<nlohmann::json>> result;
  };

  Client(ServerConfig config, std::unique_ptr<Transport> transport);
  Status initialize();
  Result<nlohmann::json> request_once(const std::string& method, const nlohmann::json& params,
                                      const std::string& what, const std::atomic<bool>* cancel);
  void on_message(Message message);
  void on_closed(const std::string& reason);
  void answer_server_request(const Message& message);
  void send_cancelled(int64_t id, const std::string& reason);
  Error timeout_error(const std::string& what) const;
  Error closed_error(const std::string& what) const;
  Result<std::vector<nlohmann::json>> list_paged(const std::string& method, const char* key);

  const ServerConfig config_;
  std::unique_ptr<Transport> transport_;
  std::string protocol_version_;
  nlohmann::json server_info_;
  nlohmann::json server_capabilities_;
  std::atomic<bool> initialized_{false};
  std::atomic<bool> tools_changed_{false};

  mutable std::mutex mutex_;
  std::condition_variable answered_;
  std::map<int64_t, std::shared_ptr<Pending>> pending_;
  int64_t next_id_ = 1;
  bool closed_ = false;
  std::string closed_reason_;
  std::mutex reinitialize_mutex_;
};

}  // namespace joey::mcp
