// The streamable HTTP transport: every message is a POST to the server's URL with
// `Accept: application/json, text/event-stream`; the answer is one JSON body or an
// SSE stream read until the response to the awaited id. The session id from
// initialize (Mcp-Session-Id) and the negotiated MCP-Protocol-Version go on every
// later request; shutdown() DELETEs the session. A 404 while a session is set is
// kNotFound ("ended the session"), so the client can re-initialize.
//
// The GET stream: once the session is initialized (on_initialized()), a background
// thread GETs the URL with `Accept: text/event-stream` and the session headers, so
// the server can send requests and notifications of its own (tools/list_changed,
// roots/list) outside any answer. Its messages go to the same on_message handler as
// answers; requests on it are answered with a POST, like those on an answer stream.
// Events are read as in event_stream.h: data that is not JSON-RPC is skipped, an event
// over 16 MiB drops the stream. A server that answers 405 does not offer the stream:
// joey stops trying for the transport's life. A 404 means the session ended (the next
// POST finds out and re-initializes, which opens a new stream). Any other end — the
// server closed it, another status, a network error, kEventStreamIdleLimit of silence
// — reopens it after a backoff of 0.5 s doubling up to kMaxEventStreamBackoff (back to
// 0.5 s after a stream that delivered a message or stayed open 30 s, unless it ended
// with an oversized event), with Last-Event-ID when the server numbered its events.
// The stream never makes alive() false. shutdown(), reset_session() and the
// destructor stop it through the transport's own Cancellation and join its thread
// (Ctrl-C aborts POSTs, not it).
//
// Requests go through llm::HttpTransport with purpose "mcp" (recorded in the egress
// log); one transport is built per request, so concurrent sends are independent.
//
// Thread-safety: as Transport; on_initialized() and reset_session() are called by one
// thread at a time (the client serialises them), never from a handler.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "base/cancel.h"
#include "mcp/transport.h"
#include "mcp/types.h"

namespace joey::mcp {

inline constexpr std::chrono::minutes kEventStreamIdleLimit{10};
inline constexpr std::chrono::seconds kMaxEventStreamBackoff{30};

// What the GET stream did so far, for diagnostics and tests.
struct EventStreamStats {
  int requests = 0;              // GETs sent
  size_t messages = 0;           // JSON-RPC messages delivered from them
  size_t skipped = 0;            // events whose data was not JSON-RPC
  bool not_offered = false;      // the server answered 405; joey stopped asking
  std::string last_error;        // why the last GET failed or its stream ended, "" if none did
  std::string last_skip_reason;  // why the last skipped event was skipped
};

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
  // Also stops the GET stream of the session it forgets.
  void reset_session() override;
  // Opens the GET stream (unless the server refused it, or it is open).
  void on_initialized() override;

  EventStreamStats event_stream_stats() const;

 private:
  // How one GET ended, for the loop's next step.
  enum class StreamEnd { kReopen, kReopenSoon, kNotOffered, kSessionEnded, kStopped };

  std::vector<std::pair<std::string, std::string>> request_headers() const;
  void event_stream_loop();
  StreamEnd read_event_stream_once(std::string& last_event_id);
  void stop_event_stream();

  const ServerConfig config_;
  const HttpTransportFactory factory_;
  TransportHandlers handlers_;
  std::atomic<bool> alive_{false};
  mutable std::mutex mutex_;
  std::string session_id_;        // GUARDED_BY(mutex_)
  std::string protocol_version_;  // GUARDED_BY(mutex_)

  // The GET stream. The thread is started and joined under event_stream_mutex_;
  // stopping wakes its backoff wait (event_stream_wake_, with mutex_) and aborts its
  // GET (event_stream_cancel_).
  std::mutex event_stream_mutex_;
  std::thread event_stream_;
  std::atomic<bool> stop_event_stream_{false};
  Cancellation event_stream_cancel_;
  std::condition_variable event_stream_wake_;
  EventStreamStats event_stream_stats_;  // GUARDED_BY(mutex_)
};

}  // namespace joey::mcp
