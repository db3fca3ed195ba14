// Streaming responses: a route whose handler writes its response piece by piece as the
// bytes arrive (the model proxy relaying an SSE stream) instead of returning one
// complete HttpResponse, and learns at once when the client goes away.
//
// Register one with Router::add_stream(). Matching, path parameters, the body limit
// (413, from Content-Length before the body is read), the JSON content-type check (415)
// and the `route` label work exactly as for ordinary routes; the handler runs only after
// the whole request body has been read.
//
// The handler is a coroutine running on the connection's executor (executor(): a strand
// when the server runs several threads). It either
// calls respond() once (a complete response: errors found before streaming), or begin(),
// any number of write()s and end(). Only one ResponseStream call may be in flight at a
// time. The handler may co_await anything else meanwhile (upstream bytes): the
// transport watches the client's side of the connection while the handler runs, and
// on_client_gone() tells the handler when the client disconnected.
//
// The error boundary (what the transport does when the handler returns or throws):
//   - nothing sent yet (an exception, or the handler returned without respond() or
//     begin()): a 500 JSON error "internal" with a generic message; the detail is logged;
//   - after begin() and an exception, or a failed write: the connection is closed, so the
//     client sees a truncated body (chunked: no last chunk; else fewer bytes than
//     Content-Length);
//   - after begin() without end(): when the client is still there and nothing failed,
//     the transport calls end() for the handler (with Content-Length, only when every
//     byte was written; otherwise the connection is closed).
// The access log and metrics record the status sent by respond()/begin() (or the 500),
// once the handler has finished; 499 when the client went away before any status was
// sent.
//
// Keep-alive: after a response that ended normally, the connection serves the next
// request. Bytes the client sent early (pipelined requests) that the disconnect watcher
// read are kept in the connection's buffer for the next request, never lost. The
// watcher reads at most as much as the connection's header buffer holds; past that it
// stops reading, and a disconnect is then learned only from a failed write. A client
// that half-closes its side (shutdown(SHUT_WR)) while the handler runs counts as gone.
//
// Graceful stop: a stream in flight is part of the drain; the response ends with
// Connection: close when the stop began before begin(), and the connection closes after
// it in any case. At drain_timeout the connection is closed, which the handler learns
// as a disconnect (on_client_gone, failed writes).
//
// Thread-safety: a ResponseStream is used from its handler's coroutine only (the
// connection's strand); client_gone() is not thread-safe either. StreamRoute is
// immutable and shared by all connections.
//
// This header includes Asio (cloud/asio.h): only translation units that drive streams
// (the transport, the proxy routes) include it; router.h only forward-declares
// StreamRoute.
#pragma once

#include "cloud/asio.h"  // first: <utility> before Asio (DESIGN.md §6)

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "cloud/http_types.h"
#include "cloud/timed_stream.h"

// Coroutines declared here get the same sanitizer exemption as their definitions.
JOEY_COROUTINES_BEGIN
namespace joey::cloud {

class Router;  // cloud/router.h

class ResponseStream {
 public:
  virtual ~ResponseStream() = default;

  // Sends the status line and headers, and `first_bytes` of the body with them in one
  // write (as write() would send them next; a handler that already holds the start of the
  // body saves the client a packet and joeyd a system call). With `content_length` the
  // body is exactly that many raw bytes (keep-alive stays possible); without it, chunked
  // transfer-encoding. Content-Type, Content-Length/Transfer-Encoding and Connection are
  // set by the transport; a header with CR, LF or NUL is dropped (logged). Errors:
  // kInternal when called twice, after respond(), or with first_bytes past the
  // Content-Length; kCancelled when the client is gone; kTimeout/kNetwork when the
  // header could not be written.
  virtual asio::awaitable<Status> begin(
      int status, std::string content_type,
      std::vector<std::pair<std::string, std::string>> headers = {},
      std::optional<uint64_t> content_length = std::nullopt, std::string_view first_bytes = {}) = 0;

  // Writes one piece of the body and returns once the socket took it, so a slow client
  // slows the producer and memory stays bounded (a piece is never copied). An empty
  // piece is a no-op. Errors: kCancelled once the client is gone; kTimeout when the
  // client took nothing for ServerOptions::write_timeout (the connection is closed);
  // kNetwork for another socket error; kInternal before begin(), after end(), or past
  // the promised Content-Length. After any error the response is over: the connection
  // will be closed.
  virtual asio::awaitable<Status> write(std::string_view bytes) = 0;

  // Ends the body (the last chunk; with Content-Length, checks every byte was written —
  // kInternal otherwise, and the connection closes). Afterwards the connection may serve
  // the next request.
  virtual asio::awaitable<Status> end() = 0;

  // Sends a complete response instead of begin/write/end (errors found before
  // streaming). kInternal after begin() or a first respond().
  virtual asio::awaitable<Status> respond(HttpResponse response) = 0;

  // True once the client disconnected (seen by the watcher or a failed write).
  virtual bool client_gone() const = 0;

  // `callback` runs once, on the connection's executor, when the client disconnects
  // while the handler is still running — even while the handler waits on something else
  // (upstream bytes): the proxy uses it to cancel its upstream request at once. It never
  // runs after the handler has returned. Registered after the client is already gone, it
  // runs soon (posted), not inside this call. A second registration replaces the first.
  virtual void on_client_gone(std::function<void()> callback) = 0;

  // The connection's executor: where the handler runs and callbacks are called.
  virtual asio::any_io_executor executor() const = 0;
};

// `request` is the routed request (route, path_params, body filled in); it and
// `response` stay valid until the returned awaitable completes.
using StreamHandler =
    std::function<asio::awaitable<void>(HttpRequest& request, ResponseStream& response)>;

class StreamRoute {
 public:
  explicit StreamRoute(StreamHandler stream_handler) : handler(std::move(stream_handler)) {}
  const StreamHandler handler;
};

// ---- For the transport (http_server.cpp) only; handlers never use what follows. ----

struct StreamServeOptions {
  unsigned version = 11;    // the request's HTTP version (11 = HTTP/1.1)
  bool keep_alive = false;  // whether the connection may stay open after this response
  std::chrono::milliseconds write_timeout{30'000};
  const std::atomic<bool>* stopping = nullptr;  // the server's graceful-stop flag
  // The transport's own 500 is built by router->refuse for raw_path (the error dialect
  // of the request's path); without a router, joeyd's HttpResponse::error.
  const Router* router = nullptr;
  std::string_view raw_path;
};

struct StreamOutcome {
  int status = 500;         // for the access log and metrics
  bool keep_alive = false;  // false: close the connection now
};

// Runs `route` for `request` on `stream`: watches for a disconnect (reading into
// `buffer`, the connection's read buffer, so pipelined bytes stay there), runs the
// handler behind the error boundary above, and stops the watcher before returning.
// Must be called on the stream's strand with no read or write in flight. Defined for
// TimedStream and beast::ssl_stream<TimedStream>.
template <typename Stream>
asio::awaitable<StreamOutcome> serve_stream_route(Stream& stream, beast::flat_buffer& buffer,
                                                  const StreamRoute& route, HttpRequest& request,
                                                  const StreamServeOptions& options);

extern template asio::awaitable<StreamOutcome> serve_stream_route<TimedStream>(
    TimedStream&, beast::flat_buffer&, const StreamRoute&, HttpRequest&, const StreamServeOptions&);
extern template asio::awaitable<StreamOutcome> serve_stream_route<beast::ssl_stream<TimedStream>>(
    beast::ssl_stream<TimedStream>&, beast::flat_buffer&, const StreamRoute&, HttpRequest&,
    const StreamServeOptions&);

// `response` as a Beast message: the transport's headers (Server, Content-Type,
// X-Content-Type-Options, Connection) plus the handler's, minus any with CR, LF or NUL.
http::response<http::string_body> to_beast_response(HttpResponse response, unsigned version,
                                                    bool keep_alive);

}  // namespace joey::cloud
JOEY_COROUTINES_END
