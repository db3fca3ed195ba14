#include "mcp/event_stream.h"

#include <algorithm>
#include <cctype>

#include "base/log.h"

namespace joey::mcp {
namespace {

// Room for the event's field names and line ends beside a message of the largest size.
constexpr size_t kEventOverheadBytes = 1024;
constexpr size_t kErrorExcerptBytes = 300;

bool is_event_stream(const llm::HttpResponseHead& head) {
  std::string type = head.header("content-type");
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return head.status == 200 && type.find("text/event-stream") != std::string::npos;
}

}  // namespace

SseMessageReader::SseMessageReader(std::string server_name, SseMessageHandlers handlers)
    : server_name_(std::move(server_name)),
      handlers_(std::move(handlers)),
      parser_(kMaxMessageBytes + kEventOverheadBytes) {}

Status SseMessageReader::feed(std::string_view chunk) {
  bool handler_failed = false;
  Status fed = parser_.feed(chunk, [&](const llm::SseEvent& event) {
    Status handled = on_event(event);
    handler_failed = !handled.ok();
    return handled;
  });
  if (fed.ok() || handler_failed) return fed;
  // The parser's only error: an event past its bound.
  return make_error(ErrorKind::kProtocol,
                    "the MCP server " + server_name_ + " sent an event larger than 16 MiB");
}

Status SseMessageReader::on_event(const llm::SseEvent& event) {
  if (!event.id.empty()) last_event_id_ = event.id;
  if (event.event != "message") {
    return handlers_.on_other_event ? handlers_.on_other_event(event) : ok_status();
  }
  Result<std::vector<Message>> messages = parse_frame(event.data);
  if (!messages.ok()) {
    ++skipped_;
    last_skip_reason_ = messages.error().message;
    log::info("mcp_sse_message_skipped",
              {log::field("server", server_name_), log::field("reason", last_skip_reason_)});
    if (handlers_.on_skipped) handlers_.on_skipped(last_skip_reason_);
    return ok_status();
  }
  ++delivered_;
  for (Message& message : *messages) {
    if (handlers_.on_message) handlers_.on_message(std::move(message));
  }
  return ok_status();
}

EventStreamEnd read_event_stream(llm::HttpTransport& http, const llm::HttpRequest& request,
                                 const llm::HttpTimeouts& timeouts, SseMessageReader& reader,
                                 const std::atomic<bool>& stop) {
  EventStreamEnd end;
  llm::HttpCallbacks callbacks;
  callbacks.on_head = [&end](const llm::HttpResponseHead& head) {
    end.status = head.status;
    end.event_stream = is_event_stream(head);
  };
  callbacks.on_body = [&](std::string_view chunk) -> Status {
    if (stop) return make_error(ErrorKind::kCancelled, "stopped");
    if (!end.event_stream) {
      if (end.error_body.size() < kErrorExcerptBytes) end.error_body.append(chunk);
      return ok_status();
    }
    return reader.feed(chunk);
  };
  Result<llm::HttpResponseHead> performed = http.perform(request, timeouts, callbacks);
  if (!performed.ok()) {
    end.ended = std::move(performed).error();
    return end;
  }
  end.status = performed->status;
  end.event_stream = is_event_stream(*performed);
  return end;
}

}  // namespace joey::mcp
