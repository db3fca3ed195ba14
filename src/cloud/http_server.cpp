#include "cloud/asio.h"  // first: <utility> before Asio (DESIGN.md §6)

#include "cloud/http_server.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <exception>
#include <iterator>
#include <limits>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "base/log.h"
#include "base/strings.h"
#include "cloud/field_list_parser.h"
#include "cloud/stream_route.h"

JOEY_COROUTINES_BEGIN
namespace joey::cloud {
namespace {

using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

constexpr size_t kReadChunkBytes = 64 * 1024;
constexpr std::chrono::milliseconds kPollInterval{10};
constexpr std::chrono::milliseconds kForceCloseGrace{1000};
constexpr std::chrono::milliseconds kTlsShutdownTimeout{500};
constexpr int kMaxRunRestarts = 1000;
// Connections taken per wake-up of the accept loop, after the one it woke for.
constexpr size_t kAcceptBatch = 256;
// Lingering close (see serve_connection): what the client still sends after the last
// answer is read and dropped while it keeps coming — each read waiting up to kLingerIdle,
// all of them within kLingerTime and kLingerMaxBytes (nginx's lingering_timeout and
// lingering_time are 5 s and 30 s). A client that sends its whole body before it reads
// (Node's fetch does) learns of a 413 only once its upload is done: over a slow link, or
// a large body, that takes seconds and megabytes.
constexpr std::chrono::milliseconds kLingerIdle{5'000};
constexpr std::chrono::milliseconds kLingerTime{30'000};
constexpr size_t kLingerMaxBytes = 256 * 1024 * 1024;
constexpr size_t kLingerChunkBytes = 64 * 1024;
constexpr uint64_t kMaxBodyReserveBytes = 16 * 1024 * 1024;

// Reads a request straight into an HttpRequest: the header fields as FieldListParser
// keeps them, the body appended where the handler will read it.
class RequestParser final : public FieldListParser<true> {
 public:
  std::string_view method() const { return request_.method; }
  std::string_view target() const { return target_; }
  unsigned version() const { return version_; }
  // The first Expect header's value, or empty.
  std::string_view expect() const {
    for (const auto& [name, value] : fields()) {
      if (name == "expect") return value;
    }
    return {};
  }
  // The request read (call once, when the parser is done with it).
  HttpRequest take_request() {
    request_.headers = std::move(fields());
    return std::move(request_);
  }

 private:
  void on_request_impl(http::verb /*method*/, beast::string_view method_text,
                       beast::string_view target, int version, error_code& error) override {
    request_.method.assign(method_text.data(), method_text.size());
    target_.assign(target.data(), target.size());
    version_ = static_cast<unsigned>(version);
    error = {};
  }
  void on_response_impl(int /*code*/, beast::string_view /*reason*/, int /*version*/,
                        error_code& error) override {
    error = http::error::bad_method;  // a request parser never reads a status line
  }
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         error_code& error) override {
    if (content_length && *content_length <= kMaxBodyReserveBytes) {
      request_.body.reserve(static_cast<size_t>(*content_length));
    }
    error = {};
  }
  size_t on_body_bytes(beast::string_view bytes, error_code& error) override {
    request_.body.append(bytes.data(), bytes.size());
    error = {};
    return bytes.size();
  }

  HttpRequest request_;
  std::string target_;
  unsigned version_ = 11;
};

// What to do once a request's header has been read, before its body.
struct HeaderDecision {
  RouteMatch match;
  std::string raw_path;
  std::string query;
  std::optional<HttpResponse> early_response;  // answer without reading the body
  size_t body_limit = 0;
};

bool has_body(const RequestParser& parser) {
  return parser.chunked() || parser.content_length().value_or(0) > 0;
}

HeaderDecision decide_after_header(const RequestParser& parser, const Router& router) {
  HeaderDecision decision;
  std::string_view target = parser.target();
  size_t question = target.find('?');
  decision.raw_path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) decision.query = std::string(target.substr(question + 1));
  decision.match = router.match(parser.method(), decision.raw_path);
  if (decision.match.outcome != RouteMatch::Outcome::kFound) {
    // 404/405/400 need no body; the router answers from the request line, and a body,
    // if any, is left unread (the connection closes after the answer).
    return decision;
  }
  decision.body_limit = decision.match.max_body_bytes;
  boost::optional<std::uint64_t> content_length = parser.content_length();
  if (content_length && *content_length > decision.body_limit) {
    decision.early_response = router.refuse(decision.raw_path, parser.fields(), 413,
                                            "payload_too_large", "the request body is too large");
  }
  return decision;
}

// What to answer a request the parser refused.
struct ReadRefusal {
  int status;
  std::string_view code;
  std::string_view message;
};

// The refusal for a read error; nullopt when the client simply went away or was too slow
// (nothing to answer).
std::optional<ReadRefusal> refusal_for_read_error(const error_code& error) {
  if (error == http::error::header_limit || error == http::error::buffer_overflow) {
    return ReadRefusal{431, "header_too_large", "the request header is too large"};
  }
  if (error == http::error::body_limit) {
    return ReadRefusal{413, "payload_too_large", "the request body is too large"};
  }
  if (error == http::error::end_of_stream || error == http::error::partial_message ||
      error == beast::error::timeout || error == asio::error::operation_aborted ||
      error == asio::error::eof || error == asio::error::connection_reset ||
      error == asio::error::broken_pipe || error == asio::ssl::error::stream_truncated ||
      error.category() == asio::error::get_ssl_category()) {
    return std::nullopt;
  }
  return ReadRefusal{400, "invalid_request", "the request is not valid HTTP/1.1"};
}

// Before the header is read the path is unknown: joeyd's own error shape.
std::optional<HttpResponse> response_for_read_error(const error_code& error) {
  std::optional<ReadRefusal> refusal = refusal_for_read_error(error);
  if (!refusal) return std::nullopt;
  return HttpResponse::error(refusal->status, refusal->code, refusal->message);
}

// While the body is read: in the dialect of the request's path (Router::refuse).
std::optional<HttpResponse> response_for_body_error(const error_code& error, const Router& router,
                                                    const HeaderDecision& decision,
                                                    const RequestParser& parser) {
  std::optional<ReadRefusal> refusal = refusal_for_read_error(error);
  if (!refusal) return std::nullopt;
  return router.refuse(decision.raw_path, parser.fields(), refusal->status, refusal->code,
                       refusal->message);
}

HttpRequest to_request(RequestParser& parser, std::string query, std::string remote_address) {
  HttpRequest request = parser.take_request();
  request.query = std::move(query);
  request.remote_address = std::move(remote_address);
  return request;
}

// Lingering close: closing with unread input makes the kernel send a reset, which can
// destroy an error response (413, 431) before the client reads it. Send FIN, then
// discard what the client still sends, bounded in bytes and time. Over TLS the
// close_notify has gone out first, and the bytes dropped here are still encrypted.
asio::awaitable<void> linger_close(TimedStream& stream) {
  error_code error;
  stream.socket().shutdown(tcp::socket::shutdown_send, error);
  if (error) co_return;
  // On the heap, and only here: an array would sit in every connection's coroutine frame
  // for the connection's whole life.
  const std::unique_ptr<char[]> sink(new char[kLingerChunkBytes]);
  const auto linger_until = std::chrono::steady_clock::now() + kLingerTime;
  for (size_t discarded = 0; discarded < kLingerMaxBytes;) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= linger_until) break;
    stream.expires_at(std::min(now + kLingerIdle, linger_until));
    discarded += co_await stream.async_read_some(asio::buffer(sink.get(), kLingerChunkBytes),
                                                 asio::redirect_error(asio::use_awaitable, error));
    if (error) break;
  }
}

// Whether a flush of the waiting access lines is queued on the I/O threads' executor.
std::atomic<bool> g_access_flush_queued{false};

// One access line per request. The line waits in memory (log::http_request's `deferred`)
// and a flush is queued behind the handlers already ready to run: a lone request's line
// is written as soon as its thread has nothing else to do, and a busy moment's lines go
// out in one write instead of one each.
void access_log(const HttpRequest& request, const std::string& method, std::string_view route,
                int status, double seconds, const asio::any_io_executor& executor) {
  if (!log::enabled(log::Level::kInfo)) return;
  std::string_view user =
      request.context.user_id.empty() ? std::string_view("-") : request.context.user_id;
  log::http_request(method, route, status, std::round(seconds * 1e6) / 1e3, user,
                    /*deferred=*/true);
  if (!g_access_flush_queued.exchange(true)) {
    asio::post(executor, [] {
      g_access_flush_queued.store(false);
      log::flush_deferred();
    });
  }
}

}  // namespace

HttpResponse serve_request_bytes(std::string_view bytes, const Router& router,
                                 const ServerOptions& options) {
  try {
    RequestParser parser;
    parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    parser.eager(false);
    error_code error;
    size_t used = 0;
    while (!parser.is_header_done()) {
      size_t consumed = parser.put(asio::buffer(bytes.data() + used, bytes.size() - used), error);
      used += consumed;
      if (error == http::error::need_more && used < bytes.size() && consumed > 0) continue;
      if (error) break;
      if (consumed == 0) break;
    }
    if (!parser.is_header_done()) {
      if (!error || error == http::error::need_more) error = http::error::partial_message;
      return response_for_read_error(error).value_or(
          HttpResponse::error(400, "invalid_request", "the request is incomplete"));
    }
    HeaderDecision decision = decide_after_header(parser, router);
    if (decision.early_response) return *decision.early_response;
    HttpRequest request;
    if (decision.match.outcome == RouteMatch::Outcome::kFound) {
      parser.body_limit(decision.body_limit);
      parser.eager(true);
      while (!parser.is_done() && used < bytes.size()) {
        size_t consumed = parser.put(asio::buffer(bytes.data() + used, bytes.size() - used), error);
        used += consumed;
        if (error == http::error::need_more) break;
        if (error || consumed == 0) break;
      }
      if (!parser.is_done() && (!error || error == http::error::need_more)) {
        parser.put_eof(error);
      }
      if (error && error != http::error::need_more) {
        return response_for_body_error(error, router, decision, parser)
            .value_or(router.refuse(decision.raw_path, parser.fields(), 400, "invalid_request",
                                    "the request is incomplete"));
      }
      if (!parser.is_done()) {
        return router.refuse(decision.raw_path, parser.fields(), 400, "invalid_request",
                             "the request is incomplete");
      }
    }
    request = to_request(parser, decision.query, "fuzz");
    return router.handle(request, decision.raw_path, decision.match);
  } catch (const std::exception&) {
    return HttpResponse::error(500, "internal", "the server failed to handle the request");
  }
}

// One open connection as the stop logic sees it. `close` and `idle` are used only on
// the connection's strand; `close` is cleared before the connection's stream goes away.
struct ConnectionState {
  explicit ConnectionState(asio::any_io_executor connection_executor)
      : executor(std::move(connection_executor)) {}
  asio::any_io_executor executor;
  bool idle = false;
  std::function<void()> close;
};

class HttpServer::Impl {
 public:
  Impl(ServerOptions server_options, std::shared_ptr<const Router> server_router,
       std::shared_ptr<HttpMetrics> server_metrics)
      : options(std::move(server_options)),
        router(std::move(server_router)),
        metrics(std::move(server_metrics)),
        thread_count(options.threads ? options.threads
                                     : std::max(1U, std::thread::hardware_concurrency())),
        io(static_cast<int>(thread_count)) {}

  Status open();
  void start();
  void stop();
  void wait();
  void stop_on_signals();
  void close_connections(bool idle_only);

  asio::awaitable<void> accept_loop();
  tcp::socket new_socket();
  // Starts serving an accepted connection, or closes it when max_connections are open.
  void admit(tcp::socket socket);
  asio::awaitable<void> drain();
  asio::awaitable<void> connection(tcp::socket socket);
  template <typename Stream>
  asio::awaitable<void> serve_requests(Stream& stream, ConnectionState& state,
                                       const std::string& remote_address);
  template <typename Stream>
  asio::awaitable<bool> write_response(Stream& stream, HttpResponse response, unsigned version,
                                       bool keep_alive);
  void on_signal(const error_code& error, int signal_number);
  void spawn(asio::any_io_executor executor, asio::awaitable<void> task, const char* what);

  const ServerOptions options;
  const std::shared_ptr<const Router> router;
  const std::shared_ptr<HttpMetrics> metrics;
  const unsigned thread_count;
  uint16_t bound_port = 0;
  std::atomic<bool> stopping{false};
  std::atomic<bool> started{false};
  std::mutex connections_mutex;
  std::set<std::shared_ptr<ConnectionState>> connections;  // GUARDED_BY(connections_mutex)
  std::mutex threads_mutex;
  std::vector<std::thread> threads;  // GUARDED_BY(threads_mutex)
  // Declared after what connection coroutines touch on destruction, and before what
  // needs the io_context: the io_context (and with it any unfinished coroutine frame)
  // is destroyed before the connection set and after the TLS context.
  std::optional<asio::ssl::context> tls;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  // The accept loop and stop()'s close of the acceptor run here: with several threads
  // they would otherwise touch the acceptor at the same time.
  asio::strand<asio::io_context::executor_type> accepting = asio::make_strand(io);
  asio::signal_set signals{io};
  int signals_received = 0;
};

void HttpServer::Impl::spawn(asio::any_io_executor executor, asio::awaitable<void> task,
                             const char* what) {
  asio::co_spawn(std::move(executor), std::move(task), [what](std::exception_ptr exception) {
    if (!exception) return;
    try {
      std::rethrow_exception(exception);
    } catch (const std::exception& caught) {
      log::error("server_task_failed",
                 {log::field("task", what), log::field("error", caught.what())});
    } catch (...) {
      log::error("server_task_failed", {log::field("task", what)});
    }
  });
}

Status HttpServer::Impl::open() {
  if (options.tls) {
    tls.emplace(asio::ssl::context::tls_server);
    tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    error_code error;
    tls->use_certificate_chain_file(options.tls->certificate_file.string(), error);
    if (error) {
      return make_error(ErrorKind::kIo, "cannot load the TLS certificate " +
                                            options.tls->certificate_file.string() + ": " +
                                            error.message());
    }
    tls->use_private_key_file(options.tls->private_key_file.string(), asio::ssl::context::pem,
                              error);
    if (error) {
      return make_error(ErrorKind::kIo, "cannot load the TLS private key " +
                                            options.tls->private_key_file.string() + ": " +
                                            error.message());
    }
    if (SSL_CTX_check_private_key(tls->native_handle()) != 1) {
      return make_error(ErrorKind::kInvalidArgument,
                        "the TLS private key does not match the certificate");
    }
  }
  error_code error;
  tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(options.host, std::to_string(options.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, error);
  if (error || endpoints.empty()) {
    return make_error(ErrorKind::kInvalidArgument,
                      "cannot resolve the listen address " + options.host + ": " + error.message());
  }
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  acceptor.open(endpoint.protocol(), error);
  if (!error) acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
  // accept_loop() takes waiting connections without blocking after each wake-up.
  if (!error) acceptor.non_blocking(true, error);
  if (error) {
    return make_error(ErrorKind::kIo, "cannot listen on " + options.host + ":" +
                                          std::to_string(options.port) + ": " + error.message());
  }
  bound_port = acceptor.local_endpoint(error).port();
  return ok_status();
}

void HttpServer::Impl::start() {
  if (started.exchange(true)) return;
  spawn(accepting, accept_loop(), "accept");
  std::lock_guard lock(threads_mutex);
  for (unsigned index = 0; index < thread_count; ++index) {
    threads.emplace_back([this] {
      for (int restarts = 0; restarts < kMaxRunRestarts; ++restarts) {
        try {
          io.run();
          return;
        } catch (const std::exception& caught) {
          log::error("server_thread_exception", {log::field("error", caught.what())});
        }
      }
    });
  }
}

void HttpServer::Impl::stop() {
  if (stopping.exchange(true)) return;
  if (!started) return;
  asio::post(accepting, [this] {
    log::info("server_stopping", {log::field("drain_ms", options.drain_timeout.count())});
    error_code ignored;
    acceptor.close(ignored);
    close_connections(/*idle_only=*/true);
    spawn(io.get_executor(), drain(), "drain");
  });
}

void HttpServer::Impl::wait() {
  std::vector<std::thread> joining;
  {
    std::lock_guard lock(threads_mutex);
    joining.swap(threads);
  }
  for (std::thread& thread : joining) {
    if (thread.joinable()) thread.join();
  }
  // A flush queued when the threads stopped never ran: the waiting access lines go out
  // now, and the next line queues a flush again.
  g_access_flush_queued.store(false);
  log::flush_deferred();
}

void HttpServer::Impl::close_connections(bool idle_only) {
  std::lock_guard lock(connections_mutex);
  for (const std::shared_ptr<ConnectionState>& state : connections) {
    asio::post(state->executor, [state, idle_only] {
      if ((!idle_only || state->idle) && state->close) state->close();
    });
  }
}

asio::awaitable<void> HttpServer::Impl::drain() {
  asio::steady_timer timer(io);
  auto connections_left = [this] {
    std::lock_guard lock(connections_mutex);
    return connections.size();
  };
  Clock::time_point deadline = Clock::now() + options.drain_timeout;
  while (connections_left() > 0 && Clock::now() < deadline) {
    timer.expires_after(kPollInterval);
    error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  if (size_t left = connections_left(); left > 0) {
    log::warn("server_drain_timeout", {log::field("connections", left)});
    close_connections(/*idle_only=*/false);
    deadline = Clock::now() + kForceCloseGrace;
    while (connections_left() > 0 && Clock::now() < deadline) {
      timer.expires_after(kPollInterval);
      error_code ignored;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
  }
  error_code ignored;
  signals.cancel(ignored);
  log::info("server_stopped");
  io.stop();
}

void HttpServer::Impl::stop_on_signals() {
  signals.add(SIGTERM);
  signals.add(SIGINT);
  signals.async_wait([this](const error_code& error, int number) { on_signal(error, number); });
}

void HttpServer::Impl::on_signal(const error_code& error, int signal_number) {
  if (error) return;
  ++signals_received;
  log::info("signal_received", {log::field("signal", signal_number)});
  if (signals_received == 1) {
    stop();
  } else {
    close_connections(/*idle_only=*/false);
  }
  signals.async_wait(
      [this](const error_code& next_error, int number) { on_signal(next_error, number); });
}

tcp::socket HttpServer::Impl::new_socket() {
  // A connection's handlers must not run concurrently: a strand keeps them apart when
  // several threads run the io_context. With one thread nothing runs concurrently, and
  // the strand would only add a second trip through the scheduler per completion.
  return thread_count > 1 ? tcp::socket(asio::make_strand(io)) : tcp::socket(io.get_executor());
}

void HttpServer::Impl::admit(tcp::socket socket) {
  size_t open_connections = 0;
  {
    std::lock_guard lock(connections_mutex);
    open_connections = connections.size();
  }
  if (open_connections >= options.max_connections) {
    if (metrics) metrics->connection_rejected();
    error_code ignored;
    socket.close(ignored);
    return;
  }
  // A response's head and body may go out as separate writes; without this, Nagle's
  // algorithm holds the second until the client's delayed ACK (~40 ms per answer).
  error_code no_delay_error;
  socket.set_option(tcp::no_delay(true), no_delay_error);
  asio::any_io_executor executor = socket.get_executor();
  spawn(executor, connection(std::move(socket)), "connection");
}

asio::awaitable<void> HttpServer::Impl::accept_loop() {
  asio::steady_timer backoff(io);
  while (!stopping) {
    error_code error;
    tcp::socket socket = new_socket();
    co_await acceptor.async_accept(socket, asio::redirect_error(asio::use_awaitable, error));
    if (error) {
      if (stopping || error == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      // Out of file descriptors and the like: wait a little instead of spinning.
      log::warn("accept_failed", {log::field("error", error.message())});
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, error));
      continue;
    }
    admit(std::move(socket));
    // Then every connection already waiting, up to a bound. One accept per wake-up would
    // queue each behind a whole round of the open connections' handlers: with hundreds
    // busy and hundreds arriving, the last waited seconds to be accepted. A failure here
    // (nothing waiting, or out of descriptors) is left to the next async_accept.
    for (size_t more = 0; more < kAcceptBatch && !stopping; ++more) {
      tcp::socket waiting = new_socket();
      acceptor.accept(waiting, error);
      if (error) break;
      admit(std::move(waiting));
    }
  }
}

template <typename Stream>
asio::awaitable<bool> HttpServer::Impl::write_response(Stream& stream, HttpResponse response,
                                                       unsigned version, bool keep_alive) {
  http::response<http::string_body> message =
      to_beast_response(std::move(response), version, keep_alive);
  beast::get_lowest_layer(stream).expires_after(options.write_timeout);
  error_code error;
  co_await http::async_write(stream, message, asio::redirect_error(asio::use_awaitable, error));
  co_return !error;
}

template <typename Stream>
asio::awaitable<void> HttpServer::Impl::serve_requests(Stream& stream, ConnectionState& state,
                                                       const std::string& remote_address) {
  beast::flat_buffer buffer(options.max_header_bytes + kReadChunkBytes);
  for (size_t served = 0; served < options.max_requests_per_connection; ++served) {
    state.idle = true;
    if (stopping) co_return;
    RequestParser parser;
    parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    beast::get_lowest_layer(stream).expires_after(options.header_timeout);
    error_code error;
    co_await http::async_read_header(stream, buffer, parser,
                                     asio::redirect_error(asio::use_awaitable, error));
    state.idle = false;
    Clock::time_point started_at = Clock::now();
    std::string method = "-";
    std::string route(kUnmatchedRoute);
    auto finish = [&](const HttpRequest& request, int status) {
      double seconds = std::chrono::duration<double>(Clock::now() - started_at).count();
      if (metrics) metrics->record_request(route, method, status, seconds);
      access_log(request, method, route, status, seconds, stream.get_executor());
    };
    if (error) {
      std::optional<HttpResponse> answer = response_for_read_error(error);
      if (!answer) co_return;
      finish(HttpRequest{}, answer->status);
      co_await write_response(stream, std::move(*answer), 11, false);
      co_return;
    }
    method = std::string(parser.method());
    unsigned version = parser.version();
    HeaderDecision decision = decide_after_header(parser, *router);
    route = decision.match.route;
    bool body_left_unread =
        decision.match.outcome != RouteMatch::Outcome::kFound && has_body(parser);
    if (decision.early_response) {
      finish(HttpRequest{}, decision.early_response->status);
      co_await write_response(stream, std::move(*decision.early_response), version, false);
      co_return;
    }
    if (decision.match.outcome == RouteMatch::Outcome::kFound && has_body(parser)) {
      if (ascii_iequals(parser.expect(), "100-continue")) {
        http::response<http::empty_body> proceed{http::status::continue_, version};
        beast::get_lowest_layer(stream).expires_after(options.write_timeout);
        co_await http::async_write(stream, proceed,
                                   asio::redirect_error(asio::use_awaitable, error));
        if (error) co_return;
      }
      parser.body_limit(decision.body_limit);
      parser.eager(true);
      Clock::time_point body_deadline = Clock::now() + options.body_timeout;
      // Each round makes progress or fails, and the deadline bounds the loop in time. What
      // is buffered already (usually the whole body, read with the header) is parsed at
      // once, without a trip through the executor.
      bool try_buffered = true;
      while (!parser.is_done()) {
        if (try_buffered && buffer.size() > 0) {
          const size_t used = parser.put(buffer.data(), error);
          buffer.consume(used);
          if (error == http::error::need_more) error = {};
          try_buffered = used > 0;
        } else {
          Clock::time_point now = Clock::now();
          if (now >= body_deadline) co_return;
          beast::get_lowest_layer(stream).expires_at(
              std::min(now + options.body_idle_timeout, body_deadline));
          co_await http::async_read_some(stream, buffer, parser,
                                         asio::redirect_error(asio::use_awaitable, error));
          try_buffered = true;
        }
        if (error) {
          std::optional<HttpResponse> answer =
              response_for_body_error(error, *router, decision, parser);
          if (!answer) co_return;
          finish(HttpRequest{}, answer->status);
          co_await write_response(stream, std::move(*answer), version, false);
          co_return;
        }
      }
    }
    HttpRequest request = to_request(parser, std::move(decision.query), remote_address);
    // `stopping` is checked again once the handler is done: a stop during a slow
    // handler must still answer with Connection: close.
    bool may_keep_alive = parser.keep_alive() && !body_left_unread &&
                          served + 1 < options.max_requests_per_connection;
    HttpResponse response;
    if (decision.match.outcome == RouteMatch::Outcome::kFound && decision.match.stream) {
      StreamDispatch dispatch = router->dispatch_stream(request, decision.raw_path, decision.match);
      if (dispatch.route) {
        StreamServeOptions stream_options;
        stream_options.version = version;
        stream_options.keep_alive = may_keep_alive;  // and !stopping, checked at begin()
        stream_options.write_timeout = options.write_timeout;
        stream_options.stopping = &stopping;
        stream_options.router = router.get();
        stream_options.raw_path = decision.raw_path;
        StreamOutcome outcome =
            co_await serve_stream_route(stream, buffer, *dispatch.route, request, stream_options);
        finish(request, outcome.status);
        if (!outcome.keep_alive) co_return;
        continue;
      }
      response = std::move(dispatch.refusal);
    } else {
      response = router->handle(request, decision.raw_path, decision.match);
    }
    int status = response.status;
    bool keep_alive = may_keep_alive && !stopping;
    // Counted before the write, so a client that has read its answer sees it in /metrics.
    finish(request, status);
    bool written = co_await write_response(stream, std::move(response), version, keep_alive);
    if (!written || !keep_alive) co_return;
  }
}

asio::awaitable<void> HttpServer::Impl::connection(tcp::socket socket) {
  auto state = std::make_shared<ConnectionState>(socket.get_executor());
  {
    std::lock_guard lock(connections_mutex);
    connections.insert(state);
  }
  if (metrics) metrics->connection_opened();
  struct Unregister {
    Impl& server;
    std::shared_ptr<ConnectionState> state;
    ~Unregister() {
      state->close = nullptr;
      if (server.metrics) server.metrics->connection_closed();
      std::lock_guard lock(server.connections_mutex);
      server.connections.erase(state);
    }
  } unregister{*this, state};

  error_code error;
  std::string remote_address = socket.remote_endpoint(error).address().to_string();
  if (stopping) co_return;
  if (tls) {
    beast::ssl_stream<TimedStream> stream(std::move(socket), *tls);
    state->close = [&stream] { beast::get_lowest_layer(stream).close(); };
    beast::get_lowest_layer(stream).expires_after(options.header_timeout);
    co_await stream.async_handshake(asio::ssl::stream_base::server,
                                    asio::redirect_error(asio::use_awaitable, error));
    if (error) co_return;
    co_await serve_requests(stream, *state, remote_address);
    // close_notify, without waiting for the client's: OpenSSL fails a shutdown that
    // reads application data, and a client still uploading sends nothing else. What it
    // sends is dropped undecrypted by the lingering close below.
    SSL_set_shutdown(stream.native_handle(),
                     SSL_get_shutdown(stream.native_handle()) | SSL_RECEIVED_SHUTDOWN);
    beast::get_lowest_layer(stream).expires_after(kTlsShutdownTimeout);
    co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, error));
    if (!error) co_await linger_close(beast::get_lowest_layer(stream));
  } else {
    TimedStream stream(std::move(socket));
    state->close = [&stream] { stream.close(); };
    co_await serve_requests(stream, *state, remote_address);
    co_await linger_close(stream);
  }
  state->close = nullptr;
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  impl_->stop();
  impl_->wait();
}

Result<std::unique_ptr<HttpServer>> HttpServer::create(ServerOptions options,
                                                       std::shared_ptr<const Router> router,
                                                       std::shared_ptr<HttpMetrics> metrics) {
  try {
    auto impl = std::make_unique<Impl>(std::move(options), std::move(router), std::move(metrics));
    TRY(impl->open());
    return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
  } catch (const std::exception& caught) {
    return make_error(ErrorKind::kIo,
                      std::string("cannot start the HTTP server: ") + caught.what());
  }
}

uint16_t HttpServer::port() const { return impl_->bound_port; }

std::string HttpServer::url() const {
  std::string host = impl_->options.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return std::string(impl_->tls ? "https://" : "http://") + host + ":" + std::to_string(port());
}

void HttpServer::stop_on_signals() { impl_->stop_on_signals(); }
void HttpServer::start() { impl_->start(); }
void HttpServer::stop() { impl_->stop(); }
void HttpServer::wait() { impl_->wait(); }
bool HttpServer::stopping() const { return impl_->stopping; }

}  // namespace joey::cloud
JOEY_COROUTINES_END
