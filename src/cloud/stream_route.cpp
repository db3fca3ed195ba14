#include "cloud/asio.h"  // first: <utility> before Asio (DESIGN.md §6)

#include "cloud/stream_route.h"

#include <algorithm>
#include <exception>
#include <memory>

#include "base/log.h"
#include "base/strings.h"
#include "cloud/router.h"

JOEY_COROUTINES_BEGIN
namespace joey::cloud {
namespace {

using boost::system::error_code;

constexpr size_t kWatchReadBytes = 4096;
constexpr std::chrono::milliseconds kWatcherStopWait{1000};
constexpr int kWatcherStopTries = 3;
constexpr int kWatcherStopYields = 4;
constexpr int kClientClosedStatus = 499;  // nginx's "client closed request", for logs only

// The Content-Type a response goes out with: the handler's, unless it could split the head.
std::string_view response_content_type(const std::string& content_type) {
  return is_safe_header_text(content_type) ? std::string_view(content_type)
                                           : std::string_view("application/octet-stream");
}

// Whether a handler's header may go out: a handler echoing client text into a header
// must not split the response, so one that could is dropped (and logged by name).
bool response_header_allowed(const std::string& name, const std::string& value) {
  if (!name.empty() && is_safe_header_text(name) && is_safe_header_text(value)) return true;
  log::warn("response_header_dropped", {log::field("name", utf8_prefix(name, 40))});
  return false;
}

void set_headers(http::response_header<>& header, const std::string& content_type,
                 const std::vector<std::pair<std::string, std::string>>& headers) {
  header.set(http::field::server, "joeyd");
  const std::string_view type = response_content_type(content_type);
  header.set(http::field::content_type, beast::string_view(type.data(), type.size()));
  header.set("X-Content-Type-Options", "nosniff");
  for (const auto& [name, value] : headers) {
    if (response_header_allowed(name, value)) header.insert(name, value);
  }
}

// A streamed response's head, written here rather than through a Beast field list and
// serializer (they cost more than the bytes they make), as Beast would write it: the
// status line, the fields set_headers sets, in its order, then the framing joeyd decides
// — Content-Length, or chunked on HTTP/1.1 — and Connection as the version wants it
// (HTTP/1.1 says close, HTTP/1.0 says keep-alive). A handler's own framing fields are
// dropped: the framing is the server's.
std::string response_head(int status, unsigned version, const std::string& content_type,
                          const std::vector<std::pair<std::string, std::string>>& headers,
                          std::optional<uint64_t> content_length, bool keep_alive) {
  std::string head;
  head.reserve(160);
  const beast::string_view reason = http::obsolete_reason(static_cast<http::status>(status));
  head.append(version >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ")
      .append(std::to_string(status))
      .append(" ")
      .append(reason.data(), reason.size())
      .append("\r\nServer: joeyd\r\nContent-Type: ")
      .append(response_content_type(content_type))
      .append("\r\nX-Content-Type-Options: nosniff\r\n");
  for (const auto& [name, value] : headers) {
    if (!response_header_allowed(name, value)) continue;
    if (ascii_iequals(name, "content-length") || ascii_iequals(name, "transfer-encoding") ||
        ascii_iequals(name, "connection")) {
      continue;
    }
    head.append(name).append(": ").append(value).append("\r\n");
  }
  if (content_length) {
    head.append("Content-Length: ").append(std::to_string(*content_length)).append("\r\n");
  } else if (version >= 11) {
    head.append("Transfer-Encoding: chunked\r\n");
  }
  if (version >= 11 && !keep_alive) head.append("Connection: close\r\n");
  if (version < 11 && keep_alive) head.append("Connection: keep-alive\r\n");
  head.append("\r\n");
  return head;
}

// What the disconnect watcher, the response stream and posted callbacks share. Used on
// the connection's strand only, so it needs no lock.
struct ClientState {
  explicit ClientState(asio::any_io_executor connection_executor)
      : executor(connection_executor), watcher_done(connection_executor) {}
  asio::any_io_executor executor;
  bool gone = false;
  bool handler_running = true;
  std::function<void()> on_gone;
  bool watcher_running = false;
  bool watcher_stop = false;        // set before the transport cancels the watcher's read
  asio::steady_timer watcher_done;  // cancelled when the watcher ends
};

// Runs the handler's on_gone callback soon, unless the handler has returned by then.
void post_on_gone(const std::shared_ptr<ClientState>& client) {
  asio::post(client->executor, [client] {
    if (!client->handler_running || !client->on_gone) return;
    std::function<void()> callback = std::move(client->on_gone);
    client->on_gone = nullptr;
    try {
      callback();
    } catch (const std::exception& caught) {
      log::error("stream_on_gone_failed", {log::field("error", caught.what())});
    } catch (...) {
      log::error("stream_on_gone_failed");
    }
  });
}

void mark_gone(const std::shared_ptr<ClientState>& client) {
  if (client->gone) return;
  client->gone = true;
  if (client->on_gone) post_on_gone(client);
}

void finish_watch(const std::shared_ptr<ClientState>& client) {
  client->watcher_running = false;
  client->watcher_done.cancel();
}

// Reads whatever the client sends while the handler runs: an error means the client
// closed or reset the connection. The bytes are committed to `buffer`, where the next
// request's parser finds them. Bounded by the buffer's room: each read takes >= 1 byte.
//
// Completion handlers, not a coroutine, so that each read is initiated at once: a read
// must be pending before the handler's first write sets the stream's write deadline,
// or that deadline would apply to the watcher's read as well (a TimedStream deadline
// set while no read is pending applies to the next read too). Between reads nothing
// else runs: the next read is started from the previous one's completion, on the strand.
template <typename Stream>
void watch_client(Stream& stream, beast::flat_buffer& buffer, std::shared_ptr<ClientState> client) {
  size_t room = buffer.max_size() - buffer.size();
  if (client->watcher_stop || room == 0) {
    finish_watch(client);
    return;
  }
  auto on_read = [&stream, &buffer, client](const error_code& error, size_t got) {
    buffer.commit(got);
    if (error) {
      if (!(client->watcher_stop && error == asio::error::operation_aborted)) mark_gone(client);
      finish_watch(client);
      return;
    }
    watch_client(stream, buffer, client);
  };
  stream.async_read_some(buffer.prepare(std::min(room, kWatchReadBytes)),
                         asio::bind_executor(client->executor, std::move(on_read)));
}

enum class Phase { kNothingSent, kStreaming, kEnded, kResponded };
enum class BodyMode { kChunked, kLength, kUntilClose };

template <typename Stream>
class ConnectionResponseStream final : public ResponseStream {
 public:
  ConnectionResponseStream(Stream& stream, std::shared_ptr<ClientState> client,
                           const StreamServeOptions& options)
      : stream_(stream), client_(std::move(client)), options_(options) {}

  asio::awaitable<Status> begin(int status, std::string content_type,
                                std::vector<std::pair<std::string, std::string>> headers,
                                std::optional<uint64_t> content_length,
                                std::string_view first_bytes) override {
    if (busy_ || phase_ != Phase::kNothingSent) co_return misuse("begin() after a response");
    if (status < 200 || status > 599) co_return misuse("begin() with a status outside 200-599");
    if (content_length && first_bytes.size() > *content_length) {
      co_return misuse("begin() with more bytes than the Content-Length");
    }
    if (client_->gone) co_return gone_error();
    keep_alive_ = options_.keep_alive && !stopping();
    if (content_length) {
      mode_ = BodyMode::kLength;
      remaining_ = *content_length;
    } else if (options_.version >= 11) {
      mode_ = BodyMode::kChunked;
    } else {
      mode_ = BodyMode::kUntilClose;  // HTTP/1.0 has no chunks: the close ends the body
      keep_alive_ = false;
    }
    phase_ = Phase::kStreaming;
    status_ = status;
    // The head and the first body bytes go out in one gathered write.
    const std::string head =
        response_head(status, options_.version, content_type, headers, content_length, keep_alive_);
    std::vector<asio::const_buffer> buffers{asio::buffer(head)};
    const asio::const_buffer piece(first_bytes.data(), first_bytes.size());
    if (!first_bytes.empty() && mode_ == BodyMode::kChunked) {
      const auto chunk = http::make_chunk(piece);
      for (asio::const_buffer buffer : beast::buffers_range_ref(chunk)) buffers.push_back(buffer);
      co_return co_await send(buffers);
    }
    if (!first_bytes.empty()) buffers.push_back(piece);
    if (mode_ == BodyMode::kLength) remaining_ -= first_bytes.size();
    co_return co_await send(buffers);
  }

  asio::awaitable<Status> write(std::string_view bytes) override {
    if (busy_) co_return misuse("write() while another call is in flight");
    if (phase_ != Phase::kStreaming) co_return misuse("write() outside begin() ... end()");
    if (failed_ || client_->gone) co_return gone_error();
    if (bytes.empty()) co_return ok_status();
    asio::const_buffer piece(bytes.data(), bytes.size());
    switch (mode_) {
      case BodyMode::kChunked:
        co_return co_await send(http::make_chunk(piece));
      case BodyMode::kLength:
        if (bytes.size() > remaining_) co_return misuse("write() past the Content-Length");
        remaining_ -= bytes.size();
        co_return co_await send(piece);
      case BodyMode::kUntilClose:
        break;
    }
    co_return co_await send(piece);
  }

  asio::awaitable<Status> end() override {
    if (busy_) co_return misuse("end() while another call is in flight");
    if (phase_ != Phase::kStreaming) co_return misuse("end() outside begin() ... end()");
    if (failed_ || client_->gone) co_return gone_error();
    phase_ = Phase::kEnded;
    if (mode_ == BodyMode::kLength && remaining_ != 0) {
      co_return misuse("end() before every byte of the Content-Length was written");
    }
    if (mode_ == BodyMode::kChunked) co_return co_await send(http::make_chunk_last());
    co_return ok_status();
  }

  asio::awaitable<Status> respond(HttpResponse response) override {
    if (busy_ || phase_ != Phase::kNothingSent) co_return misuse("respond() after a response");
    if (client_->gone) co_return gone_error();
    phase_ = Phase::kResponded;
    status_ = response.status;
    keep_alive_ = options_.keep_alive && !stopping();
    http::response<http::string_body> message =
        to_beast_response(std::move(response), options_.version, keep_alive_);
    busy_ = true;
    beast::get_lowest_layer(stream_).expires_after(options_.write_timeout);
    error_code error;
    co_await http::async_write(stream_, message, asio::redirect_error(asio::use_awaitable, error));
    busy_ = false;
    co_return after_write(error);
  }

  bool client_gone() const override { return client_->gone; }

  void on_client_gone(std::function<void()> callback) override {
    client_->on_gone = std::move(callback);
    if (client_->gone && client_->on_gone && client_->handler_running) post_on_gone(client_);
  }

  asio::any_io_executor executor() const override { return client_->executor; }

  Phase phase() const { return phase_; }
  int status() const { return status_; }
  bool failed() const { return failed_; }
  // Whether the connection may serve another request after this response.
  bool reusable() const {
    return (phase_ == Phase::kEnded || phase_ == Phase::kResponded) && !failed_ && !client_->gone &&
           keep_alive_ && mode_ != BodyMode::kUntilClose;
  }

 private:
  bool stopping() const { return options_.stopping && options_.stopping->load(); }

  Status misuse(const char* what) {
    failed_ = true;
    return make_error(ErrorKind::kInternal, std::string("stream handler bug: ") + what);
  }

  Status gone_error() const { return make_error(ErrorKind::kCancelled, "the client disconnected"); }

  template <typename Buffers>
  asio::awaitable<Status> send(const Buffers& buffers) {
    busy_ = true;
    beast::get_lowest_layer(stream_).expires_after(options_.write_timeout);
    error_code error;
    co_await asio::async_write(stream_, buffers, asio::redirect_error(asio::use_awaitable, error));
    busy_ = false;
    co_return after_write(error);
  }

  Status after_write(const error_code& error) {
    if (!error) return ok_status();
    failed_ = true;
    bool was_gone = client_->gone;
    // The connection is unusable now (on a timeout Beast has closed it): to the handler
    // that is the same as a client that left.
    mark_gone(client_);
    if (error == beast::error::timeout) {
      return make_error(ErrorKind::kTimeout, "the client did not read the response within " +
                                                 std::to_string(options_.write_timeout.count()) +
                                                 " ms");
    }
    if (was_gone) return gone_error();
    return make_error(ErrorKind::kNetwork, "writing the response failed: " + error.message());
  }

  Stream& stream_;
  std::shared_ptr<ClientState> client_;
  const StreamServeOptions& options_;
  Phase phase_ = Phase::kNothingSent;
  BodyMode mode_ = BodyMode::kChunked;
  uint64_t remaining_ = 0;  // kLength: bytes still owed
  int status_ = kClientClosedStatus;
  bool keep_alive_ = false;
  bool busy_ = false;
  bool failed_ = false;
};

// Cancels the watcher's read and waits until its coroutine has ended (it references the
// stream and the buffer). False when it had to close the connection to get there.
template <typename Stream>
asio::awaitable<bool> stop_watcher(Stream& stream, const std::shared_ptr<ClientState>& client) {
  client->watcher_stop = true;
  bool closed = false;
  for (int round = 0; round < 2 && client->watcher_running; ++round) {
    error_code ignored;
    if (round == 0) {
      beast::get_lowest_layer(stream).socket().cancel(ignored);
    } else {
      log::warn("stream_watcher_stuck");
      beast::get_lowest_layer(stream).close();
      closed = true;
    }
    // The cancelled read's completion is queued on the executor at once: a trip through
    // the queue usually sees it run, without arming a timer.
    for (int yield = 0; yield < kWatcherStopYields && client->watcher_running; ++yield) {
      co_await asio::post(client->executor, asio::use_awaitable);
    }
    for (int attempt = 0; attempt < kWatcherStopTries && client->watcher_running; ++attempt) {
      client->watcher_done.expires_after(kWatcherStopWait);
      co_await client->watcher_done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
  }
  if (client->watcher_running) log::error("stream_watcher_not_stopped");
  co_return !closed && !client->watcher_running;
}

}  // namespace

http::response<http::string_body> to_beast_response(HttpResponse response, unsigned version,
                                                    bool keep_alive) {
  http::response<http::string_body> message{static_cast<http::status>(response.status), version};
  set_headers(message.base(), response.content_type, response.headers);
  message.keep_alive(keep_alive);
  message.body() = std::move(response.body);
  if (response.status == 304 || response.status == 204 || response.status < 200) {
    // RFC 9110: these have no body, and a 304 must not announce a length other than the
    // full answer's; say none at all.
    message.body().clear();
  } else {
    message.prepare_payload();
  }
  return message;
}

template <typename Stream>
asio::awaitable<StreamOutcome> serve_stream_route(Stream& stream, beast::flat_buffer& buffer,
                                                  const StreamRoute& route, HttpRequest& request,
                                                  const StreamServeOptions& options) {
  auto client = std::make_shared<ClientState>(stream.get_executor());
  // The watcher's read has no deadline (the handler may wait on upstream for long);
  // each write sets its own.
  beast::get_lowest_layer(stream).expires_never();
  client->watcher_running = true;
  watch_client(stream, buffer, client);

  ConnectionResponseStream<Stream> response(stream, client, options);
  bool threw = false;
  try {
    co_await route.handler(request, response);
  } catch (const std::exception& caught) {
    threw = true;
    log::error("stream_handler_exception",
               {log::field("route", request.route), log::field("method", request.method),
                log::field("error", caught.what())});
  } catch (...) {
    threw = true;
    log::error("stream_handler_exception",
               {log::field("route", request.route), log::field("method", request.method),
                log::field("error", "unknown exception")});
  }
  client->handler_running = false;
  client->on_gone = nullptr;  // it may hold what the handler owned

  if (response.phase() == Phase::kNothingSent && !client->gone) {
    if (!threw) log::error("stream_handler_no_response", {log::field("route", request.route)});
    constexpr std::string_view kFailed = "the server failed to handle the request";
    HttpResponse failure =
        options.router != nullptr
            ? options.router->refuse(options.raw_path, request.headers, 500, "internal", kFailed)
            : HttpResponse::error(500, "internal", kFailed);
    Status sent = co_await response.respond(std::move(failure));
    (void)sent;  // a failure leaves the response not reusable, which closes the connection
  } else if (response.phase() == Phase::kStreaming && !threw && !response.failed() &&
             !client->gone) {
    Status ended = co_await response.end();
    (void)ended;  // as above
  }
  StreamOutcome outcome;
  outcome.status = response.status();
  // A response that was complete (respond(), the 500 above, or end()) leaves the
  // connection usable even when the handler threw afterwards.
  bool reusable = response.reusable();
  bool watcher_stopped = co_await stop_watcher(stream, client);
  outcome.keep_alive = reusable && watcher_stopped && !client->gone;
  co_return outcome;
}

template asio::awaitable<StreamOutcome> serve_stream_route<TimedStream>(
    TimedStream&, beast::flat_buffer&, const StreamRoute&, HttpRequest&, const StreamServeOptions&);
template asio::awaitable<StreamOutcome> serve_stream_route<beast::ssl_stream<TimedStream>>(
    beast::ssl_stream<TimedStream>&, beast::flat_buffer&, const StreamRoute&, HttpRequest&,
    const StreamServeOptions&);

}  // namespace joey::cloud
JOEY_COROUTINES_END
