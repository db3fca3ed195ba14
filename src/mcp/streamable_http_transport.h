// The streamable HTTP transport: every message is a POST to the server's URL with
// `Accept: application/json, text/event-stream`; the answer is one JSON body or an
// SSE stream read until the response to the awaited id. The session id from
// initialize (Mcp-Session-Id) and the negotiated MCP-Protocol-Version go on every
// later request; shutdown() DELETEs the session. A 404 while a session is set is
// kNotFound ("ended the session"), so the client can re-initialize.
//
// Requests go through llm::HttpTransport with purpose "mcp" (recorded in the egress
// log); one transport is built per request, so concurrent sends are independent.
//
// The optional GET stream for server-initiated messages is not opened: requests the
// server makes while answering one of ours still arrive on that answer's stream.
//
// Thread-safety: as Transport.
#pragma once

#include <atomic>
#include <mutex>
#include <string>

#include "mcp/transport.h"
#include "mcp/types.h"

namespace joey::mcp {

class StreamableHttpTransport : public Transport {
 public:
  StreamableHttpTransport(ServerConfig config, HttpTransportFactory factory);
  ~StreamableHttpTransport() override;
  StreamableHttpTransport(const StreamableHttpTransport&) = delete;
  StreamableHttpTransport& operator=(const StreamableHttpTransport&) = delete;

  Status start(TransportHandlers handlers) override;
  Status send(const std::string& text, const std::optional<RequestId>& awaited,
              Clock::time_point deadline, const std::atomic<bool>* cancel) override;
  void shutdown() override;
  bool alive() const override { return alive_.load(); }
  void set_protocol_version(const std::string& version) override;
  void reset_session() override;

 private:
  std::vector<std::pair<std::string, std::string>> request_headers() const;

  const ServerConfig config_;
  const HttpTransportFactory factory_;
  TransportHandlers handlers_;
  std::atomic<bool> alive_{false};
  mutable std::mutex mutex_;
  std::string session_id_;
  std::string protocol_version_;
};

}  // namespace joey::mcp
