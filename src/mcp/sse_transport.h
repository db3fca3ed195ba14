// The older HTTP+SSE transport (MCP 2024-11-05), for servers that offer only that:
// joey GETs the SSE URL and keeps the stream open on a thread; the first event,
// "endpoint", names the URL to POST messages to (it must be on the same origin), and
// every answer arrives as a "message" event on the stream.
//
// The stream has an idle limit (kSseIdleLimit): a server silent that long ends the
// session, and joey::mcp::Server reconnects on the next use. Events are read as in
// event_stream.h (data that is not JSON-RPC is skipped; an event over 16 MiB ends the
// session). shutdown() aborts the stream through the transport's own Cancellation —
// so Ctrl-C, which aborts the POSTs, leaves the stream alone — and waits for its
// thread to end.
//
// Requests go through llm::HttpTransport with purpose "mcp".
// Thread-safety: as Transport.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "base/cancel.h"
#include "mcp/transport.h"
#include "mcp/types.h"

namespace joey::mcp {

inline constexpr std::chrono::minutes kSseIdleLimit{10};

class SseTransport : public Transport {
 public:
  SseTransport(ServerConfig config, HttpTransportFactory factory);
  ~SseTransport() override;
  SseTransport(const SseTransport&) = delete;
  SseTransport& operator=(const SseTransport&) = delete;

  // Opens the stream and waits (config.timeout) for the endpoint event.
  Status start(TransportHandlers handlers) override;
  // POSTs the message; answers arrive on the stream, so `awaited` is not waited for.
  Status send(const std::string& text, const std::optional<RequestId>& awaited,
              Clock::time_point deadline, const std::atomic<bool>* cancel) override;
  void shutdown() override;
  bool alive() const override { return alive_.load(); }

 private:
  void stream_loop();
  Status post(const std::string& endpoint, const std::string& text, Clock::time_point deadline);

  const ServerConfig config_;
  const HttpTransportFactory factory_;
  TransportHandlers handlers_;
  std::thread stream_;
  Cancellation stream_cancel_;  // aborts the stream's GET in shutdown()
  std::atomic<bool> alive_{false};
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string endpoint_;  // empty until the endpoint event
  bool stream_ended_ = false;
  std::string stream_error_;
};

// The absolute URL for an endpoint event's data, relative to `base`; empty when it
// is not on base's origin (scheme, host and port).
std::string resolve_sse_endpoint(const std::string& base, const std::string& data);

}  // namespace joey::mcp
