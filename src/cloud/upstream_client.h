// joeyd's outbound HTTP/1.1 client for the model proxy: it sends one request to an
// upstream (OpenAI, Anthropic, OpenRouter, any OpenAI-compatible base URL) and hands
// the response body back piece by piece as it arrives, so nothing is buffered whole.
//
// Connections are pooled per origin (scheme://host:port) with keep-alive; TLS verifies
// the certificate chain (system store plus UpstreamOptions::extra_ca_file) and the host
// name (SNI is sent for names), and TLS sessions are resumed per origin. Every wait is
// bounded: connect_timeout covers DNS, TCP connect and the TLS handshake,
// first_byte_timeout the time from sending the request to the response head,
// idle_timeout each gap between body bytes.
//
// Privacy (P6, P12): nothing here logs or keeps a body, a header value, a path or a
// query string; logs and error messages name only the host, port, status, byte counts
// and the transport error.
//
// Executors: send() runs on the calling coroutine's executor and creates sockets on it.
// That executor must not run two handlers of one exchange at once: a strand (as joeyd's
// connections are) or an io_context run by one thread. A pooled connection may be
// reused by a coroutine on another strand: every completion of its I/O runs on the
// executor of the coroutine awaiting it.
//
// Lifetime: the pool may be destroyed while exchanges are alive (they keep its state);
// idle pooled connections hold sockets of the io_context they were opened on, so
// destroy the pool (or call shutdown()) before that io_context.
//
// This header includes cloud/asio.h: include it before any other header (see there).
#pragma once

#include "cloud/asio.h"  // first: <utility> before Asio, and clang's attribute pragma

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

// Coroutines declared here get the same sanitizer exemption as their definitions.
JOEY_COROUTINES_BEGIN
namespace joey::cloud {

struct UpstreamOptions {
  std::chrono::milliseconds connect_timeout{10'000};      // DNS + TCP connect + TLS handshake
  std::chrono::milliseconds first_byte_timeout{120'000};  // request sent -> response head
  std::chrono::milliseconds idle_timeout{120'000};        // longest gap between body bytes
  size_t max_idle_per_host = 64;                          // pooled idle connections per origin
  std::chrono::seconds max_idle_age{30};  // pooled connections idle longer are closed
  std::string extra_ca_file;              // PEM trusted in addition to the system store (tests)
  size_t max_header_bytes = 64 * 1024;    // a larger response head fails with kProtocol
};

struct UpstreamRequest {
  std::string method = "POST";  // an HTTP token, sent as given
  std::string url;              // http://host[:port]/path?query or https://...
  // Sent as given, in order. Host, Content-Length, Transfer-Encoding, Connection,
  // Keep-Alive, TE, Upgrade and Proxy-Connection are the client's framing: the
  // caller's values for them are ignored. A name that is not an HTTP token or a value
  // holding CR, LF or NUL fails the request with kInvalidArgument.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent with Content-Length
};

struct UpstreamHead {
  int status = 0;
  // Names lower case; a repeated header appears once per occurrence, in order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<uint64_t> content_length;  // absent for chunked or close-delimited bodies

  // The first header called `name` (any case), or "" when there is none.
  std::string header(std::string_view name) const;
};

// The parts of an upstream URL; exposed for tests and the fuzz target.
struct UpstreamUrl {
  bool tls = false;
  std::string host;  // lower case; an IPv6 address without brackets
  uint16_t port = 0;
  std::string target = "/";  // path and query, never logged

  std::string origin() const;       // "https://host:port": the pool key
  std::string host_header() const;  // "host" or "host:port" when the port is not the default
};

// Parses an absolute http or https URL. Refuses (kInvalidArgument) other schemes, user
// info, an empty host, a bad port, whitespace and control characters. A fragment is
// dropped. The message never repeats the path or query.
Result<UpstreamUrl> parse_upstream_url(std::string_view url);

// What parse_upstream_answer() read: the final head, and the whole body.
struct UpstreamAnswer {
  UpstreamHead head;
  std::string body;
  bool keep_alive = false;  // whether the exchange would return the connection to the pool
};

// For tests and the fuzz target: parses `bytes` as all an upstream sends for one request
// before it closes the connection (interim 1xx heads, the head, the body), with the
// exchange's response parser, limits and interim rules. `head_only`: the request was a
// HEAD. Errors: kProtocol (a malformed or oversized head, malformed chunks, too many
// interim heads), kNetwork (cut short).
Result<UpstreamAnswer> parse_upstream_answer(std::string_view bytes,
                                             size_t max_header_bytes = 64 * 1024,
                                             bool head_only = false);

namespace detail {
struct UpstreamConnection;
struct UpstreamPoolState;
struct WireRequest;
}  // namespace detail

// One response being read. Not thread-safe: use it from the executor of the coroutine
// that called send().
class UpstreamExchange {
 public:
  ~UpstreamExchange();
  UpstreamExchange(const UpstreamExchange&) = delete;
  UpstreamExchange& operator=(const UpstreamExchange&) = delete;

  const UpstreamHead& head() const { return head_; }

  // The next piece of the body as it arrives (chunked encoding already decoded; at most
  // kPieceBytes), or nullopt at the end. Errors: kTimeout (nothing for idle_timeout),
  // kNetwork (reset, cut short), kCancelled (after cancel()), kProtocol (malformed
  // framing). After an error every later call fails too. One call at a time.
  asio::awaitable<Result<std::optional<std::string>>> read_some();

  // Closes the upstream connection at once; a pending read_some fails with kCancelled.
  // Call it from the exchange's executor, at any time, also from a callback while
  // read_some is pending. Idempotent.
  void cancel();

  // Body bytes received so far (for usage logs and metrics).
  uint64_t body_bytes() const { return body_bytes_; }
  // True when this exchange's connection resumed a TLS session (for tests and metrics).
  bool tls_session_reused() const { return tls_session_reused_; }

  static constexpr size_t kPieceBytes = 16 * 1024;

  // Destroying the exchange returns the connection to the pool only when the body was
  // read to its end and the response allowed keep-alive; otherwise it is closed.

 private:
  friend class UpstreamPool;
  struct Reader;
  UpstreamExchange(std::shared_ptr<detail::UpstreamPoolState> pool,
                   std::unique_ptr<detail::UpstreamConnection> connection);
  // Writes the request and reads the response head; `retryable` is set when a reused
  // connection was found closed before any response byte.
  asio::awaitable<Status> begin(const detail::WireRequest& request, bool& retryable);

  std::shared_ptr<detail::UpstreamPoolState> pool_;
  std::unique_ptr<detail::UpstreamConnection> connection_;
  std::unique_ptr<Reader> reader_;
  UpstreamHead head_;
  uint64_t body_bytes_ = 0;
  bool tls_session_reused_ = false;
  bool cancelled_ = false;
  bool failed_ = false;
};

// Thread-safe; one per joeyd process.
class UpstreamPool {
 public:
  // Loads the system CA store and extra_ca_file. Errors: kIo when extra_ca_file cannot
  // be read or holds no certificate, kInternal when OpenSSL cannot make a context.
  static Result<std::shared_ptr<UpstreamPool>> create(UpstreamOptions options);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // Connects (or reuses an idle pooled connection to the same origin), sends the
  // request and waits for the response head (1xx interim answers are skipped). A reused
  // connection that turns out closed by the server before any response byte is retried
  // once on a fresh connection. Errors: kInvalidArgument (bad URL, method or header),
  // kNetwork (DNS, connect, TLS — the message says when certificate verification
  // failed — reset), kTimeout, kProtocol (malformed or oversized response head).
  asio::awaitable<Result<std::unique_ptr<UpstreamExchange>>> send(UpstreamRequest request);

  size_t idle_connections() const;      // for tests and /metrics
  size_t connections_opened() const;    // total ever opened (tests prove reuse with it)
  size_t tls_sessions_resumed() const;  // handshakes that resumed a cached session
  // Closes every idle pooled connection (call from any thread, with no I/O pending).
  void close_idle_connections();
  // Closes every idle pooled connection and stops pooling: a connection released later
  // is closed at once. Call once the io_context the connections use has stopped and
  // before it is destroyed — its pending exchanges, destroyed with it, release their
  // connections then, and an idle socket must not outlive its io_context.
  void shutdown();

 private:
  explicit UpstreamPool(std::shared_ptr<detail::UpstreamPoolState> state);
  std::shared_ptr<detail::UpstreamPoolState> state_;
};

}  // namespace joey::cloud
JOEY_COROUTINES_END
