// joeyd's HTTP/1.1 transport: Boost.Beast and Asio with C++20 coroutines, several
// threads on one io_context (each connection on a strand; with one thread, on the
// io_context itself), keep-alive, optional TLS. It turns bytes into HttpRequest
// values, hands them to a Router (the error boundary) and writes the HttpResponse back.
// Nothing outside http_server.cpp includes Beast.
//
// Limits protect the server from slow or hostile clients:
//   - a request header larger than max_header_bytes gets 431 and the connection closes;
//   - a body larger than its route's limit gets 413, decided from Content-Length before
//     any of it is read, and enforced while reading a chunked body (nothing past the
//     limit is buffered); the connection then closes;
//   - header_timeout bounds the wait for a complete header (a keep-alive connection's
//     idle time included), body_idle_timeout the gap between body bytes and body_timeout
//     the whole body; a client that is too slow is disconnected without stalling others;
//   - at max_connections, new connections are closed at once and counted.
//
// Shutdown: stop() (or SIGTERM/SIGINT after stop_on_signals()) closes the listener,
// closes idle keep-alive connections, lets requests in flight finish within
// drain_timeout (answering them with Connection: close), then closes whatever is left
// and lets wait() return. A second signal closes everything at once.
//
// Streaming: a stream route (Router::add_stream(), cloud/stream_route.h) writes its
// response piece by piece on the connection's coroutine, each write bounded by
// write_timeout, while the connection watches for the client closing its side; keep-alive
// continues after a stream that ended normally. Graceful stop drains streams like any
// request in flight (closing them at drain_timeout).
//
// Thread-safety: port(), url(), stop() and wait() may be called from any thread;
// start() and stop_on_signals() once, from the thread that created the server.
// Handlers run on the server's threads, concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "cloud/http_types.h"
#include "cloud/metrics.h"
#include "cloud/router.h"

namespace joey::cloud {

struct TlsFiles {
  std::filesystem::path certificate_file;  // PEM, the certificate chain
  std::filesystem::path private_key_file;  // PEM
};

// Connections a server keeps open at most (ServerOptions::max_connections' default).
inline constexpr size_t kDefaultMaxConnections = 1024;

struct ServerOptions {
  std::string host = "127.0.0.1";  // an address or a name that resolves to one
  uint16_t port = 8420;            // 0 picks a free port; port() reports it
  unsigned threads = 0;            // 0: one per core
  size_t max_header_bytes = 16 * 1024;
  size_t max_connections = kDefaultMaxConnections;
  size_t max_requests_per_connection = 1000;
  std::chrono::milliseconds header_timeout{20'000};
  std::chrono::milliseconds body_idle_timeout{20'000};
  std::chrono::milliseconds body_timeout{120'000};
  std::chrono::milliseconds write_timeout{30'000};
  std::chrono::milliseconds drain_timeout{10'000};
  std::optional<TlsFiles> tls;
};

class HttpServer {
 public:
  // Loads the TLS files (when given), resolves and binds the address and listens, so
  // that port() is known before start(). Errors: kInvalidArgument for an address that
  // does not resolve, kIo when the port is in use or a TLS file cannot be loaded.
  // `metrics` may be null.
  static Result<std::unique_ptr<HttpServer>> create(ServerOptions options,
                                                    std::shared_ptr<const Router> router,
                                                    std::shared_ptr<HttpMetrics> metrics);
  // Stops (gracefully) and waits.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  // "http://127.0.0.1:PORT" (https with TLS); IPv6 hosts in brackets.
  std::string url() const;

  // SIGTERM and SIGINT start a graceful stop; call before start().
  void stop_on_signals();
  // Starts the threads and accepts connections; returns at once.
  void start();
  // Begins a graceful stop; returns at once. Idempotent.
  void stop();
  // Blocks until the server has stopped and its threads have exited.
  void wait();
  // True once a stop has begun (for /readyz while draining).
  bool stopping() const;

  class Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Parses `bytes` as one request with the server's limits (`options`) and routes it
// through `router`, producing the response a connection would send; no socket. A
// request that is cut short gets 400. For the fuzz target and tests.
HttpResponse serve_request_bytes(std::string_view bytes, const Router& router,
                                 const ServerOptions& options);

}  // namespace joey::cloud
