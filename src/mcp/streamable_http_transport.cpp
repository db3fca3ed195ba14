#include "mcp/streamable_http_transport.h"

#include <algorithm>

#include "base/json.h"
#include "base/log.h"
#include "mcp/event_stream.h"

namespace joey::mcp {
namespace {

constexpr auto kConnectTimeout = std::chrono::milliseconds(10'000);
constexpr auto kDeleteTimeout = std::chrono::milliseconds(2'000);
constexpr size_t kErrorExcerptBytes = 300;
// The GET stream's first reconnect delay, and how long a stream must stay open (when
// it delivers nothing) to count as healthy, so that the next one starts from it again.
constexpr auto kFirstEventStreamBackoff = std::chrono::milliseconds(500);
constexpr auto kHealthyEventStream = std::chrono::seconds(30);

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::chrono::milliseconds remaining(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  return std::max(left, std::chrono::milliseconds(1));
}

ErrorKind kind_for_status(long status) {
  if (status == 401 || status == 403) return ErrorKind::kAuth;
  if (status == 429) return ErrorKind::kRateLimited;
  if (status >= 500) return ErrorKind::kServer;
  return ErrorKind::kProtocol;
}

}  // namespace

StreamableHttpTransport::StreamableHttpTransport(ServerConfig config, HttpTransportFactory factory)
    : config_(std::move(config)), factory_(std::move(factory)) {}

StreamableHttpTransport::~StreamableHttpTransport() { shutdown(); }

Status StreamableHttpTransport::start(TransportHandlers handlers) {
  TRY(check_http_config(config_, factory_));
  handlers_ = std::move(handlers);
  alive_ = true;
  return ok_status();
}

void StreamableHttpTransport::set_protocol_version(const std::string& version) {
  std::lock_guard lock(mutex_);
  protocol_version_ = version;
}

void StreamableHttpTransport::reset_session() {
  stop_event_stream();
  std::lock_guard lock(mutex_);
  session_id_.clear();
  protocol_version_.clear();
}

std::vector<std::pair<std::string, std::string>> StreamableHttpTransport::request_headers() const {
  std::vector<std::pair<std::string, std::string>> headers = config_.headers;
  std::lock_guard lock(mutex_);
  if (!session_id_.empty()) headers.emplace_back("Mcp-Session-Id", session_id_);
  if (!protocol_version_.empty()) headers.emplace_back("MCP-Protocol-Version", protocol_version_);
  return headers;
}

Status StreamableHttpTransport::send(const std::string& text,
                                     const std::optional<RequestId>& awaited,
                                     Clock::time_point deadline, const std::atomic<bool>* cancel) {
  const std::string& name = config_.name;
  if (!alive_) return make_error(ErrorKind::kIo, "the MCP server " + name + " session has ended");
  llm::HttpRequest request;
  request.method = "POST";
  request.url = config_.url;
  request.purpose = "mcp";
  request.body = text;
  request.headers = request_headers();
  request.headers.emplace_back("Content-Type", "application/json");
  request.headers.emplace_back("Accept", "application/json, text/event-stream");
  bool had_session = false;
  for (const auto& [key, value] : request.headers) had_session |= key == "Mcp-Session-Id";

  llm::HttpTimeouts timeouts;
  timeouts.connect = std::min(kConnectTimeout, remaining(deadline));
  timeouts.first_byte = remaining(deadline);
  timeouts.idle = remaining(deadline);

  llm::HttpResponseHead head;
  bool streaming = false;
  bool answered = false;
  bool stopped = false;  // we aborted the transfer on purpose (answered, timeout, cancel)
  Error stop_error;
  std::string body;

  auto deliver = [&](Message message) {
    const bool is_answer =
        awaited && message.id && *message.id == *awaited &&
        (message.type == Message::Type::kResponse || message.type == Message::Type::kErrorResponse);
    if (handlers_.on_message) handlers_.on_message(std::move(message));
    if (is_answer) answered = true;
  };
  SseMessageHandlers sse_handlers;
  sse_handlers.on_message = deliver;
  SseMessageReader sse(name, std::move(sse_handlers));

  llm::HttpCallbacks callbacks;
  callbacks.on_head = [&](const llm::HttpResponseHead& response_head) {
    head = response_head;
    streaming = head.status == 200 &&
                lower(head.header("content-type")).find("text/event-stream") != std::string::npos;
    const std::string session = head.header("mcp-session-id");
    if (!session.empty()) {
      std::lock_guard lock(mutex_);
      session_id_ = session;
    }
  };
  callbacks.on_body = [&](std::string_view chunk) -> Status {
    if (cancel && cancel->load()) {
      stopped = true;
      stop_error = make_error(ErrorKind::kCancelled, "cancelled");
      return stop_error;
    }
    if (Clock::now() >= deadline) {
      stopped = true;
      stop_error = make_error(ErrorKind::kTimeout, "the MCP server " + name + " did not answer");
      return stop_error;
    }
    if (!streaming) {
      if (body.size() + chunk.size() > kMaxMessageBytes) {
        stopped = true;
        stop_error = make_error(ErrorKind::kProtocol,
                                "the MCP server " + name + " sent a message larger than 16 MiB");
        return stop_error;
      }
      body.append(chunk);
      return ok_status();
    }
    Status fed = sse.feed(chunk);
    if (!fed.ok()) {
      stopped = true;
      stop_error = std::move(fed).error();
      return stop_error;
    }
    if (answered) {
      stopped = true;  // everything we wait for has arrived; end the stream
      return make_error(ErrorKind::kCancelled, "answered");
    }
    return ok_status();
  };

  std::unique_ptr<llm::HttpTransport> http = factory_(nullptr);
  if (!http) return make_error(ErrorKind::kInternal, "no HTTP transport for MCP");
  Result<llm::HttpResponseHead> performed = http->perform(request, timeouts, callbacks);
  if (answered) return ok_status();
  if (stopped) return stop_error;
  if (!performed.ok()) {
    return std::move(performed).error().with_context("the MCP server " + name + " (" +
                                                     llm::url_host(config_.url) + ")");
  }
  head = *performed;
  if (head.status == 404 && had_session) {
    return make_error(ErrorKind::kNotFound,
                      "the MCP server " + name + " ended the session (HTTP 404)");
  }
  if (head.status >= 400 || head.status < 200 || head.status >= 300) {
    return make_error(kind_for_status(head.status), "the MCP server " + name + " answered HTTP " +
                                                        std::to_string(head.status) + ": " +
                                                        body_excerpt(body, kErrorExcerptBytes));
  }
  if (!streaming && !body.empty() && head.status != 202) {
    Result<std::vector<Message>> messages = parse_frame(body);
    if (!messages.ok()) {
      log::info("mcp_http_message_skipped",
                {log::field("server", name), log::field("reason", messages.error().message)});
    } else {
      for (Message& message : *messages) deliver(std::move(message));
    }
  }
  if (awaited && !answered) {
    return make_error(ErrorKind::kProtocol, "the MCP server " + name +
                                                " ended its HTTP answer without a response to " +
                                                id_to_string(*awaited));
  }
  return ok_status();
}

void StreamableHttpTransport::shutdown() {
  const bool was_alive = alive_.exchange(false);
  stop_event_stream();
  if (!was_alive) return;
  std::string session;
  {
    std::lock_guard lock(mutex_);
    session = session_id_;
  }
  if (session.empty() || !factory_) return;
  llm::HttpRequest request;
  request.method = "DELETE";
  request.url = config_.url;
  request.purpose = "mcp";
  request.headers = request_headers();
  llm::HttpTimeouts timeouts{kDeleteTimeout, kDeleteTimeout, kDeleteTimeout};
  llm::HttpCallbacks callbacks;
  callbacks.on_body = [](std::string_view) { return ok_status(); };
  std::unique_ptr<llm::HttpTransport> http = factory_(nullptr);
  if (!http) return;
  Result<llm::HttpResponseHead> deleted = http->perform(request, timeouts, callbacks);
  if (!deleted.ok()) {
    log::info("mcp_session_delete_failed",
              {log::field("server", config_.name), log::field("reason", deleted.error().message)});
  }
}

void StreamableHttpTransport::on_initialized() {
  std::lock_guard stream_lock(event_stream_mutex_);
  if (!alive_ || event_stream_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    if (event_stream_stats_.not_offered) return;
  }
  stop_event_stream_ = false;
  event_stream_cancel_.reset();
  event_stream_ = std::thread([this] { event_stream_loop(); });
}

void StreamableHttpTransport::stop_event_stream() {
  std::lock_guard stream_lock(event_stream_mutex_);
  if (!event_stream_.joinable()) return;
  stop_event_stream_ = true;
  event_stream_cancel_.request();  // aborts a GET in progress, even a silent one
  {
    std::lock_guard lock(mutex_);
    event_stream_wake_.notify_all();  // ends a backoff wait
  }
  event_stream_.join();
}

EventStreamStats StreamableHttpTransport::event_stream_stats() const {
  std::lock_guard lock(mutex_);
  return event_stream_stats_;
}

void StreamableHttpTransport::event_stream_loop() {
  std::string last_event_id;
  std::chrono::milliseconds delay = kFirstEventStreamBackoff;
  while (!stop_event_stream_) {
    const StreamEnd end = read_event_stream_once(last_event_id);
    if (end == StreamEnd::kStopped || end == StreamEnd::kNotOffered ||
        end == StreamEnd::kSessionEnded) {
      return;
    }
    if (end == StreamEnd::kReopenSoon) delay = kFirstEventStreamBackoff;
    std::unique_lock lock(mutex_);
    if (event_stream_wake_.wait_for(lock, delay, [this] { return stop_event_stream_.load(); })) {
      return;
    }
    delay = std::min<std::chrono::milliseconds>(delay * 2, kMaxEventStreamBackoff);
  }
}

StreamableHttpTransport::StreamEnd StreamableHttpTransport::read_event_stream_once(
    std::string& last_event_id) {
  const std::string& name = config_.name;
  llm::HttpRequest request;
  request.method = "GET";
  request.url = config_.url;
  request.purpose = "mcp";
  request.headers = request_headers();
  request.headers.emplace_back("Accept", "text/event-stream");
  if (!last_event_id.empty()) request.headers.emplace_back("Last-Event-ID", last_event_id);
  llm::HttpTimeouts timeouts;
  timeouts.connect = kConnectTimeout;
  timeouts.first_byte = kEventStreamIdleLimit;
  timeouts.idle = kEventStreamIdleLimit;

  SseMessageHandlers handlers;
  handlers.on_message = [this](Message message) {
    {
      std::lock_guard lock(mutex_);
      ++event_stream_stats_.messages;
    }
    if (handlers_.on_message) handlers_.on_message(std::move(message));
  };
  handlers.on_skipped = [this](const std::string& reason) {
    std::lock_guard lock(mutex_);
    ++event_stream_stats_.skipped;
    event_stream_stats_.last_skip_reason = reason;
  };
  SseMessageReader reader(name, std::move(handlers));
  {
    std::lock_guard lock(mutex_);
    ++event_stream_stats_.requests;
  }
  std::unique_ptr<llm::HttpTransport> http = factory_(&event_stream_cancel_);
  if (!http) {
    std::lock_guard lock(mutex_);
    event_stream_stats_.last_error = "no HTTP transport for MCP";
    return StreamEnd::kStopped;
  }
  const Clock::time_point started = Clock::now();
  const EventStreamEnd end =
      read_event_stream(*http, request, timeouts, reader, stop_event_stream_);
  if (!reader.last_event_id().empty()) last_event_id = reader.last_event_id();
  if (stop_event_stream_) return StreamEnd::kStopped;

  StreamEnd next = StreamEnd::kReopen;
  std::string reason;
  if (end.status == 405) {
    next = StreamEnd::kNotOffered;
    reason = "the MCP server " + name + " does not offer a GET stream (HTTP 405)";
  } else if (end.status == 404) {
    next = StreamEnd::kSessionEnded;
    reason = "the MCP server " + name + " ended the session (HTTP 404 on its GET stream)";
  } else if (!end.ended.ok()) {
    reason = "the GET stream of the MCP server " + name + " (" + llm::url_host(config_.url) +
             ") failed: " + end.ended.error().message;
  } else if (!end.event_stream) {
    reason = "the MCP server " + name + " answered its GET stream with HTTP " +
             std::to_string(end.status) + (end.status == 200 ? ", not an event stream" : "") +
             ": " + body_excerpt(end.error_body, kErrorExcerptBytes);
  } else {
    reason = "the MCP server " + name + " closed its GET stream";
  }
  // A stream that broke the rules (an oversized event) never counts as healthy, so a
  // server that keeps doing it is asked less and less often.
  const bool broken = !end.ended.ok() && end.ended.error().kind == ErrorKind::kProtocol;
  const bool healthy = end.event_stream && !broken &&
                       (reader.delivered() > 0 || Clock::now() - started >= kHealthyEventStream);
  if (next == StreamEnd::kReopen && healthy) next = StreamEnd::kReopenSoon;
  {
    std::lock_guard lock(mutex_);
    if (next == StreamEnd::kNotOffered) event_stream_stats_.not_offered = true;
    event_stream_stats_.last_error = reason;
  }
  log::info("mcp_event_stream_ended", {log::field("server", name), log::field("reason", reason)});
  return next;
}

}  // namespace joey::mcp
