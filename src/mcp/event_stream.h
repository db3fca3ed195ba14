// MCP messages carried by Server-Sent Events, read the same way by both HTTP
// transports: the answer stream of a streamable-HTTP POST and its GET stream
// (streamable_http_transport.h), and the older transport's long-lived stream
// (sse_transport.h). Internal to src/mcp.
//
// SseMessageReader: each "message" event's data is one JSON-RPC frame (jsonrpc.h),
// handed to on_message; data that is not JSON-RPC is logged, counted, reported to
// on_skipped and skipped, and the stream goes on. An event larger than kMaxMessageBytes is
// kProtocol, after which the stream must end. Events of other types go to on_other_event (the older
// transport's "endpoint") or are ignored. Not thread-safe: one reader per stream.
//
// read_event_stream(): one GET of a long-lived stream, fed to a reader while the
// answer is 200 with Content-Type text/event-stream; the start of any other body is
// kept for an error message. Returns when the server ends the stream, the transfer
// fails, the reader fails, or `stop` is true when a chunk arrives. A silent stream
// sees no chunk: the caller also gives the HttpTransport a Cancellation to request.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "llm/http_transport.h"
#include "llm/sse.h"
#include "mcp/jsonrpc.h"

namespace joey::mcp {

struct SseMessageHandlers {
  std::function<void(Message message)> on_message;
  // Optional: an event was skipped, with why (already logged).
  std::function<void(const std::string& reason)> on_skipped;
  // Optional: an event of another type than "message"; an error ends the stream.
  std::function<Status(const llm::SseEvent& event)> on_other_event;
};

class SseMessageReader {
 public:
  // `server_name` names the server in errors and log lines.
  SseMessageReader(std::string server_name, SseMessageHandlers handlers);

  // Feeds the next bytes. kProtocol ("the MCP server NAME sent an event larger than
  // 16 MiB") or on_other_event's error; the reader must not be fed after an error.
  Status feed(std::string_view chunk);

  // The id of the last event that carried one, "" when none did (for Last-Event-ID).
  const std::string& last_event_id() const { return last_event_id_; }
  size_t delivered() const { return delivered_; }  // message events that were JSON-RPC
  size_t skipped() const { return skipped_; }      // message events that were not
  // Why the last skipped event was skipped, "" when none was.
  const std::string& last_skip_reason() const { return last_skip_reason_; }

 private:
  Status on_event(const llm::SseEvent& event);

  const std::string server_name_;
  const SseMessageHandlers handlers_;
  llm::SseParser parser_;
  std::string last_event_id_;
  size_t delivered_ = 0;
  size_t skipped_ = 0;
  std::string last_skip_reason_;
};

// How one GET of an event stream ended.
struct EventStreamEnd {
  long status = 0;            // the HTTP status; 0 when no answer arrived
  bool event_stream = false;  // the answer was 200 text/event-stream
  std::string error_body;     // the start of a body that was not an event stream
  // Ok when the server ended the stream (or answered with another status);
  // otherwise the transport's error (kNetwork, kTimeout, kCancelled) or the reader's.
  Status ended;
};

EventStreamEnd read_event_stream(llm::HttpTransport& http, const llm::HttpRequest& request,
                                 const llm::HttpTimeouts& timeouts, SseMessageReader& reader,
                                 const std::atomic<bool>& stop);

}  // namespace joey::mcp
