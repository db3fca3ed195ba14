// The link between a joey::mcp::Client and one MCP server: stdio (a child process) or
// HTTP. A transport moves serialized JSON-RPC messages; it knows nothing of MCP
// methods. Internal to src/mcp.
//
// Thread-safety: send() may be called from several threads at once; the handlers
// given to start() are called from the transport's own threads (stdio, the HTTP
// streams) or from the thread inside send() (HTTP), never while a transport lock is held.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "base/result.h"
#include "mcp/jsonrpc.h"
#include "mcp/types.h"

namespace joey::mcp {

using Clock = std::chrono::steady_clock;

struct TransportHandlers {
  // Each well-formed message the server sent.
  std::function<void(Message message)> on_message;
  // Called once when the link is gone for good (the process exited, the stream
  // ended), with a reason naming what happened.
  std::function<void(const std::string& reason)> on_closed;
};

class Transport {
 public:
  virtual ~Transport() = default;

  // Starts the process or opens the connection; handlers live as long as the transport.
  virtual Status start(TransportHandlers handlers) = 0;

  // Sends one serialized message. When `awaited` is set (HTTP), returns once the
  // answer to that id was delivered to on_message, or with an error; stdio returns
  // once the line is written. Fails with kTimeout at `deadline` and kCancelled when
  // *cancel becomes true.
  virtual Status send(const std::string& text, const std::optional<RequestId>& awaited,
                      Clock::time_point deadline, const std::atomic<bool>* cancel) = 0;

  // Ends the session: stdio closes stdin and stops the process group; HTTP deletes the
  // session. Idempotent; blocks at most a few seconds.
  virtual void shutdown() = 0;

  virtual bool alive() const = 0;

  // Called after initialize with the negotiated version (HTTP sends it as a header).
  virtual void set_protocol_version(const std::string& /*version*/) {}
  // Forgets an HTTP session (before re-initializing); no-op elsewhere.
  virtual void reset_session() {}
  // Called once notifications/initialized was sent (again after a re-initialize):
  // streamable HTTP opens its GET stream for server-initiated messages; no-op elsewhere.
  virtual void on_initialized() {}

  // Diagnostics: the server's recent stderr (stdio) and its process id (-1 for HTTP).
  virtual std::string stderr_tail() const { return {}; }
  virtual int process_id() const { return -1; }
  // How many stdout lines were skipped as not JSON-RPC, and the first one's start.
  virtual size_t skipped_lines() const { return 0; }
  virtual std::string first_skipped_line() const { return {}; }
};

// What both HTTP transports check before they start: a URL, and a way to make requests.
inline Status check_http_config(const ServerConfig& config, const HttpTransportFactory& http) {
  if (config.url.empty()) {
    return make_error(ErrorKind::kInvalidArgument, "the MCP server " + config.name + " has no url");
  }
  if (!http) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the MCP server " + config.name + " needs HTTP, but none was configured");
  }
  return ok_status();
}

}  // namespace joey::mcp
