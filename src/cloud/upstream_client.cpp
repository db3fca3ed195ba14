#include "cloud/asio.h"  // first: <utility> before Asio (DESIGN.md §6)

#include "cloud/upstream_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <deque>
#include <exception>
#include <limits>
#include <mutex>
#include <unordered_map>

#include "base/log.h"
#include "base/strings.h"
#include "cloud/field_list_parser.h"
#include "cloud/http_types.h"
#include "cloud/timed_stream.h"

JOEY_COROUTINES_BEGIN
namespace joey::cloud {

using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;
using TlsStream = beast::ssl_stream<TimedStream>;

// Reads a response head into the field list UpstreamHead keeps (FieldListParser), and
// its body into the piece the caller points it at, as Beast's buffer_body does.
class ResponseParser final : public FieldListParser<false> {
 public:
  // A 1xx head (101 is refused): the real head follows it.
  bool interim() const { return status_ >= 100 && status_ < 200; }
  // Whether the connection may carry another request once this response is read.
  bool keeps_connection() const { return keep_alive() && !need_eof(); }
  // An exchange's limits: a head of at most `max_header_bytes`, a body of any length, and
  // none at all after a HEAD request.
  void set_limits(size_t max_header_bytes, bool head_only) {
    header_limit(static_cast<std::uint32_t>(
        std::min<size_t>(max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    body_limit(std::numeric_limits<std::uint64_t>::max());
    if (head_only) skip(true);
  }
  // The head read (once it is done; takes the field list).
  UpstreamHead take_head() {
    UpstreamHead head;
    head.status = status_;
    head.headers = std::move(fields());
    head.content_length = body_length();
    return head;
  }
  // Where the next body bytes go; nullptr: nowhere (the parser asks for a buffer).
  void set_piece(char* data, size_t size) {
    piece_ = data;
    room_ = size;
  }
  size_t room() const { return room_; }

 private:
  // The body's length when the head tells it: none follows a 204 or 304 whatever its
  // Content-Length says (for HEAD, that header's value describes what a GET would get).
  std::optional<uint64_t> body_length() const {
    if (status_ == 204 || status_ == 304) return 0;
    if (const boost::optional<std::uint64_t> length = content_length()) return *length;
    return std::nullopt;
  }
  void on_request_impl(http::verb /*method*/, beast::string_view /*method_text*/,
                       beast::string_view /*target*/, int /*version*/, error_code& error) override {
    error = http::error::bad_version;  // a response parser never reads a request line
  }
  void on_response_impl(int code, beast::string_view /*reason*/, int /*version*/,
                        error_code& error) override {
    // Three digits pass the grammar, but only 100-599 are statuses a client can relay;
    // 101 switches to a protocol joeyd never asks an upstream for.
    if (code < 100 || code > 599 || code == 101) {
      error = http::error::bad_status;
      return;
    }
    status_ = code;
    error = {};
  }
  size_t on_body_bytes(beast::string_view bytes, error_code& error) override {
    if (piece_ == nullptr) {
      error = http::error::need_buffer;
      return 0;
    }
    const size_t taken = std::min(room_, bytes.size());
    std::memcpy(piece_, bytes.data(), taken);
    piece_ += taken;
    room_ -= taken;
    error = taken == bytes.size() ? error_code() : error_code(http::error::need_buffer);
    return taken;
  }

  int status_ = 0;
  char* piece_ = nullptr;
  size_t room_ = 0;
};

namespace {

constexpr int kMaxInterimResponses = 8;         // 1xx answers skipped before the real head
constexpr int kMaxReadsPerPiece = 1 << 16;      // reads that may yield no body byte in a row
constexpr size_t kReadBufferSlack = 16 * 1024;  // beyond the head limit, for body bytes
// What a connection's read buffer keeps between requests. Beast reads at most the buffer's
// free room (at least 512 bytes) at a time: a buffer emptied to nothing would take a
// typical JSON answer in several system calls, and the client would get it in as many
// pieces.
constexpr size_t kReadBufferKept = 8 * 1024;
// A pooled connection idle for less than this is used without first checking whether the
// server closed it (a system call per request): servers close idle keep-alive connections
// after seconds, and a request that finds one closed anyway is retried on a new one.
constexpr std::chrono::milliseconds kCheckIdleAfter{1000};

bool is_token_char(char c) {
  if (c >= 'a' && c <= 'z') return true;
  if (c >= 'A' && c <= 'Z') return true;
  if (c >= '0' && c <= '9') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_token_char);
}

bool is_framing_header(std::string_view name) {
  for (std::string_view framing : {"host", "content-length", "transfer-encoding", "connection",
                                   "keep-alive", "te", "upgrade", "proxy-connection"}) {
    if (ascii_iequals(name, framing)) return true;
  }
  return false;
}

std::string describe(const UpstreamUrl& url) { return url.host + ":" + std::to_string(url.port); }

int tls_ex_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

namespace detail {

// One pooled (or about to be pooled) connection: the stream and its read buffer, which
// may hold bytes read past a response head.
struct UpstreamConnection {
  UpstreamPoolState* pool = nullptr;  // for the TLS session callback; outlives this
  std::string origin;
  std::string host;  // for logs
  std::unique_ptr<TimedStream> plain;
  std::unique_ptr<TlsStream> secure;
  beast::flat_buffer buffer;
  // Where body pieces are decoded; kept with the connection, so a pooled connection's
  // next exchange does not allocate it again.
  std::unique_ptr<char[]> piece;
  Clock::time_point idle_since;
  bool reused = false;

  explicit UpstreamConnection(size_t max_header_bytes)
      : buffer(max_header_bytes + kReadBufferSlack) {
    buffer.reserve(kReadBufferKept);
  }
  TimedStream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
  char* piece_buffer() {
    // Not zeroed: only the bytes a read writes are touched (and resident).
    if (!piece) piece.reset(new char[UpstreamExchange::kPieceBytes]);
    return piece.get();
  }
  void close() {
    error_code ignored;
    lowest().socket().close(ignored);
  }
};

struct UpstreamPoolState {
  explicit UpstreamPoolState(UpstreamOptions pool_options)
      : options(std::move(pool_options)), tls(asio::ssl::context::tls_client) {}
  ~UpstreamPoolState() {
    for (auto& [origin, session] : sessions) SSL_SESSION_free(session);
  }

  std::unique_ptr<UpstreamConnection> take_idle(const std::string& origin);
  void release(std::unique_ptr<UpstreamConnection> connection);
  void remember_session(const std::string& origin, SSL_SESSION* session);
  void resume_session(const std::string& origin, SSL* ssl);

  const UpstreamOptions options;
  asio::ssl::context tls;  // declared before the connections that use it
  std::atomic<size_t> opened{0};
  std::atomic<size_t> resumed{0};
  mutable std::mutex mutex;
  // GUARDED_BY(mutex):
  std::unordered_map<std::string, std::deque<std::unique_ptr<UpstreamConnection>>> idle;
  size_t idle_count = 0;
  bool closed = false;                                     // shutdown(): nothing is pooled any more
  std::unordered_map<std::string, SSL_SESSION*> sessions;  // owned references
};

namespace {

// True when the peer has closed (or sent unasked-for bytes on) an idle connection. Only
// a connection idle since before `check_before` is asked (see kCheckIdleAfter).
bool looks_closed(UpstreamConnection& connection, Clock::time_point check_before) {
  if (connection.buffer.size() > 0) return true;
  if (connection.idle_since >= check_before) return false;
  int fd = connection.lowest().socket().native_handle();
  char byte = 0;
  ssize_t got = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (got == 0 || got > 0) return true;
  return !(errno == EAGAIN || errno == EWOULDBLOCK);
}

int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* connection = static_cast<UpstreamConnection*>(SSL_get_ex_data(ssl, tls_ex_index()));
  if (connection == nullptr || connection->pool == nullptr) return 0;
  // A copy: OpenSSL marks the connection's own session not resumable when the
  // connection is dropped without a TLS shutdown, as pooled connections are.
  SSL_SESSION* copy = SSL_SESSION_dup(session);
  if (copy != nullptr) connection->pool->remember_session(connection->origin, copy);
  return 0;  // OpenSSL keeps its reference to `session`
}

}  // namespace

std::unique_ptr<UpstreamConnection> UpstreamPoolState::take_idle(const std::string& origin) {
  std::lock_guard lock(mutex);
  auto found = idle.find(origin);
  if (found == idle.end()) return nullptr;
  auto& queue = found->second;
  const Clock::time_point now = Clock::now();
  const Clock::time_point oldest_allowed = now - options.max_idle_age;
  // Most recently used first; the rest of the queue is older still.
  while (!queue.empty()) {
    std::unique_ptr<UpstreamConnection> connection = std::move(queue.back());
    queue.pop_back();
    --idle_count;
    if (connection->idle_since >= oldest_allowed &&
        !looks_closed(*connection, now - kCheckIdleAfter)) {
      return connection;
    }
    connection->close();
  }
  return nullptr;
}

void UpstreamPoolState::release(std::unique_ptr<UpstreamConnection> connection) {
  // Another strand may take the connection next: its timer must not fire on this one
  // meanwhile (see TimedStream::rebind).
  if (connection->lowest().on_strand()) connection->lowest().disarm();
  if (connection->buffer.capacity() > kReadBufferKept) {
    connection->buffer.shrink_to_fit();  // after a large head: back to the usual size
    connection->buffer.reserve(kReadBufferKept);
  }
  connection->idle_since = Clock::now();
  connection->reused = true;
  std::lock_guard lock(mutex);
  if (closed) return;  // closed on destruction
  auto& queue = idle[connection->origin];
  Clock::time_point oldest_allowed = connection->idle_since - options.max_idle_age;
  while (!queue.empty() && queue.front()->idle_since < oldest_allowed) {
    queue.pop_front();
    --idle_count;
  }
  if (queue.size() >= options.max_idle_per_host) return;  // closed on destruction
  queue.push_back(std::move(connection));
  ++idle_count;
}

void UpstreamPoolState::remember_session(const std::string& origin, SSL_SESSION* session) {
  std::lock_guard lock(mutex);
  SSL_SESSION*& slot = sessions[origin];
  if (slot != nullptr) SSL_SESSION_free(slot);
  slot = session;
}

void UpstreamPoolState::resume_session(const std::string& origin, SSL* ssl) {
  std::lock_guard lock(mutex);
  auto found = sessions.find(origin);
  if (found != sessions.end()) SSL_set_session(ssl, found->second);
}

// A request as it goes on the wire (build_wire_request).
struct WireRequest {
  std::string head;  // request line and fields, ending in the blank line
  std::string body;
  bool head_only = false;  // a HEAD request: the response has no body
};

}  // namespace detail

using detail::UpstreamConnection;
using detail::UpstreamPoolState;
using detail::WireRequest;

// ---- URLs ----

std::string UpstreamUrl::origin() const {
  return std::string(tls ? "https://" : "http://") +
         (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

std::string UpstreamUrl::host_header() const {
  std::string name = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (tls ? 443 : 80)) name += ":" + std::to_string(port);
  return name;
}

Result<UpstreamUrl> parse_upstream_url(std::string_view url) {
  auto invalid = [](std::string_view why) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the upstream URL is not valid: " + std::string(why));
  };
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return invalid("it holds whitespace or a control character");
    }
  }
  UpstreamUrl parsed;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos)
    return invalid("it must start with http:// or https://");
  std::string_view scheme = url.substr(0, scheme_end);
  if (ascii_iequals(scheme, "https")) {
    parsed.tls = true;
  } else if (!ascii_iequals(scheme, "http")) {
    return invalid("the scheme must be http or https");
  }
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('#'));
  size_t authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view target =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return invalid("credentials in the URL are not allowed; send them in a header");
  }
  std::string_view host = authority;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return invalid("an IPv6 address lacks its ']'");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return invalid("unexpected text after the IPv6 address");
      port_text = after.substr(1);
      if (port_text.empty()) return invalid("the port is empty");
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
    if (port_text.empty()) return invalid("the port is empty");
  }
  if (host.empty()) return invalid("the host is empty");
  for (char c : host) {
    if (!(is_token_char(c) || c == ':') || c == '%') return invalid("the host has a bad character");
  }
  parsed.port = parsed.tls ? 443 : 80;
  if (!port_text.empty()) {
    if (port_text.size() > 5 || !std::all_of(port_text.begin(), port_text.end(),
                                             [](char c) { return c >= '0' && c <= '9'; })) {
      return invalid("the port is not a number");
    }
    unsigned long port = std::stoul(std::string(port_text));
    if (port == 0 || port > 65535) return invalid("the port is out of range");
    parsed.port = static_cast<uint16_t>(port);
  }
  parsed.host = ascii_lower(host);
  if (target.empty()) {
    parsed.target = "/";
  } else if (target.front() == '?') {
    parsed.target = "/" + std::string(target);
  } else {
    parsed.target = std::string(target);
  }
  return parsed;
}

std::string UpstreamHead::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (ascii_iequals(key, name)) return value;
  }
  return "";
}

Result<UpstreamAnswer> parse_upstream_answer(std::string_view bytes, size_t max_header_bytes,
                                             bool head_only) {
  size_t used = 0;
  // Feeds the bytes left to `parser` until `done` holds; at their end the connection
  // closes (put_eof), as a server that stops sending would.
  auto feed = [&](ResponseParser& parser, auto done) -> error_code {
    error_code error;
    auto end_of_bytes = [&]() -> error_code {
      if (!parser.got_some()) return http::error::end_of_stream;  // put_eof requires bytes
      parser.put_eof(error);
      if (error) return error;
      return done() ? error_code() : error_code(http::error::partial_message);
    };
    while (!done()) {
      if (used == bytes.size()) return end_of_bytes();
      const size_t consumed =
          parser.put(asio::buffer(bytes.data() + used, bytes.size() - used), error);
      used += consumed;
      if (error == http::error::need_more || error == http::error::need_buffer) error = {};
      if (error) return error;
      // Nothing parsed: the rest is an incomplete piece that only more bytes could end.
      if (consumed == 0 && !done()) return end_of_bytes();
    }
    return {};
  };
  auto failure = [](const error_code& error) -> Error {
    if (error == http::error::partial_message || error == http::error::end_of_stream) {
      return make_error(ErrorKind::kNetwork, "the upstream answer was cut short");
    }
    return make_error(ErrorKind::kProtocol, "the upstream answer is malformed: " + error.message());
  };
  for (int interim = 0; interim <= kMaxInterimResponses; ++interim) {
    ResponseParser parser;
    parser.set_limits(max_header_bytes, head_only);
    if (error_code error = feed(parser, [&] { return parser.is_header_done(); })) {
      return failure(error);
    }
    if (parser.interim()) continue;
    UpstreamAnswer answer;
    answer.head = parser.take_head();
    answer.keep_alive = parser.keeps_connection();
    std::string piece(UpstreamExchange::kPieceBytes, '\0');
    error_code error;
    while (!parser.is_done() && !error) {
      parser.set_piece(piece.data(), piece.size());
      error = feed(parser, [&] { return parser.is_done() || parser.room() < piece.size(); });
      answer.body.append(piece.data(), piece.size() - parser.room());
    }
    if (error) return failure(error);
    return answer;
  }
  return make_error(ErrorKind::kProtocol, "the upstream sent too many interim responses");
}

// ---- the exchange ----

struct UpstreamExchange::Reader {
  ResponseParser parser;
  bool keep_alive = false;
};

UpstreamExchange::UpstreamExchange(std::shared_ptr<UpstreamPoolState> pool,
                                   std::unique_ptr<UpstreamConnection> connection)
    : pool_(std::move(pool)), connection_(std::move(connection)) {}

UpstreamExchange::~UpstreamExchange() {
  if (!connection_) return;
  bool reusable = reader_ && !cancelled_ && !failed_ && reader_->parser.is_done() &&
                  reader_->keep_alive && connection_->buffer.size() == 0;
  if (log::enabled(log::Level::kDebug)) {  // every request passes here: no fields unless shown
    log::debug("upstream_exchange_done",
               {log::field("host", connection_->host), log::field("bytes", body_bytes_),
                log::field("pooled", reusable)});
  }
  if (reusable) {
    pool_->release(std::move(connection_));
  } else {
    connection_->close();
  }
}

void UpstreamExchange::cancel() {
  if (cancelled_) return;
  cancelled_ = true;
  if (connection_) connection_->close();
}

namespace {

template <typename Stream>
asio::awaitable<error_code> read_body_some(Stream& stream, beast::flat_buffer& buffer,
                                           ResponseParser& parser) {
  error_code error;
  co_await http::async_read_some(stream, buffer, parser,
                                 asio::redirect_error(asio::use_awaitable, error));
  co_return error;
}

}  // namespace

asio::awaitable<Result<std::optional<std::string>>> UpstreamExchange::read_some() {
  const std::string& host = connection_->host;
  if (cancelled_) co_return make_error(ErrorKind::kCancelled, "the upstream request was cancelled");
  if (failed_) {
    co_return make_error(ErrorKind::kNetwork, "the upstream response from " + host + " failed");
  }
  ResponseParser& parser = reader_->parser;
  char* const piece = connection_->piece_buffer();
  // Bytes already read (with the head, or past the last piece) are parsed at once: an
  // asynchronous read would find them too, but only after a trip through the executor.
  bool try_buffered = true;
  for (int reads = 0; reads < kMaxReadsPerPiece; ++reads) {
    if (parser.is_done()) co_return std::optional<std::string>();
    parser.set_piece(piece, kPieceBytes);
    error_code error;
    if (try_buffered && connection_->buffer.size() > 0) {
      const size_t used = parser.put(connection_->buffer.data(), error);
      connection_->buffer.consume(used);
      if (error == http::error::need_more) error = {};
      // No progress (half a chunk header, say): what is missing comes from the socket.
      try_buffered = used > 0;
    } else {
      connection_->lowest().expires_after(pool_->options.idle_timeout);
      if (connection_->secure) {
        error = co_await read_body_some(*connection_->secure, connection_->buffer, parser);
      } else {
        error = co_await read_body_some(*connection_->plain, connection_->buffer, parser);
      }
      try_buffered = true;
    }
    if (error == http::error::need_buffer) error = {};
    size_t got = kPieceBytes - parser.room();
    if (cancelled_) {
      co_return make_error(ErrorKind::kCancelled, "the upstream request was cancelled");
    }
    if (error) {
      failed_ = true;
      log::debug("upstream_body_failed",
                 {log::field("host", host), log::field("bytes", body_bytes_),
                  log::field("error", error.message())});
      if (error == beast::error::timeout) {
        co_return make_error(ErrorKind::kTimeout,
                             "the upstream " + host + " sent nothing for " +
                                 std::to_string(pool_->options.idle_timeout.count()) + " ms");
      }
      if (error.category() == http::make_error_code(http::error::bad_chunk).category() &&
          error != http::error::partial_message && error != http::error::end_of_stream) {
        co_return make_error(ErrorKind::kProtocol,
                             "the upstream " + host + " sent a malformed body: " + error.message());
      }
      co_return make_error(ErrorKind::kNetwork, "the upstream response from " + host +
                                                    " was cut short: " + error.message());
    }
    if (got > 0) {
      body_bytes_ += got;
      co_return std::optional<std::string>(std::string(piece, got));
    }
  }
  failed_ = true;
  co_return make_error(ErrorKind::kProtocol,
                       "the upstream " + host + " sent too many pieces without body bytes");
}

// ---- sending ----

namespace {

template <typename Stream>
asio::awaitable<error_code> read_head(Stream& stream, beast::flat_buffer& buffer,
                                      ResponseParser& parser) {
  error_code error;
  co_await http::async_read_header(stream, buffer, parser,
                                   asio::redirect_error(asio::use_awaitable, error));
  co_return error;
}

// Errors meaning a kept-alive connection was closed by the server before it answered.
bool closed_before_answer(const error_code& error) {
  return error == http::error::end_of_stream || error == asio::error::eof ||
         error == asio::error::connection_reset || error == asio::error::broken_pipe ||
         error == asio::ssl::error::stream_truncated;
}

// The request as it goes on the wire, built from UpstreamRequest: the head is written
// here rather than by Beast's serializer (a field list and a serializer per request cost
// more than the bytes they produce), in the form and order Beast writes: the request line,
// Host, the caller's headers in order, then Content-Length as Beast's prepare_payload
// sets it (for a body, and for POST, PUT and OPTIONS even without one). Takes `request`'s
// body instead of copying it.
Result<WireRequest> build_wire_request(UpstreamRequest& request, const UpstreamUrl& url,
                                       std::string_view host_header) {
  if (!is_token(request.method)) {
    return make_error(ErrorKind::kInvalidArgument, "the upstream request method is not valid");
  }
  const std::string& method = request.method;
  if (method == "TRACE" && !request.body.empty()) {
    return make_error(ErrorKind::kInvalidArgument, "a TRACE request cannot carry a body");
  }
  WireRequest wire;
  wire.head_only = method == "HEAD";
  std::string& head = wire.head;
  head.reserve(256);
  head.append(method).append(" ").append(url.target).append(" HTTP/1.1\r\nHost: ");
  head.append(host_header).append("\r\n");
  for (const auto& [name, value] : request.headers) {
    if (!is_token(name)) {
      return make_error(ErrorKind::kInvalidArgument,
                        "an upstream request header name is not a valid HTTP token");
    }
    if (!is_safe_header_text(value)) {
      return make_error(ErrorKind::kInvalidArgument, "the upstream request header " +
                                                         std::string(utf8_prefix(name, 64)) +
                                                         " holds CR, LF or NUL");
    }
    if (is_framing_header(name)) continue;
    head.append(name).append(": ").append(value).append("\r\n");
  }
  if (!request.body.empty() || method == "POST" || method == "PUT" || method == "OPTIONS") {
    char length[24];
    const auto [end, ignored] = std::to_chars(length, length + sizeof length, request.body.size());
    head.append("Content-Length: ").append(length, end).append("\r\n");
  }
  head.append("\r\n");
  wire.body = std::move(request.body);
  return wire;
}

struct ResolveState {
  explicit ResolveState(const asio::any_io_executor& executor) : resolver(executor) {}
  tcp::resolver resolver;
  bool timed_out = false;
};

asio::awaitable<Result<std::unique_ptr<UpstreamConnection>>> connect_new(
    std::shared_ptr<UpstreamPoolState> pool, UpstreamUrl url, asio::any_io_executor executor) {
  const UpstreamOptions& options = pool->options;
  Clock::time_point deadline = Clock::now() + options.connect_timeout;
  std::string where = describe(url);
  auto timeout_error = [&](std::string_view stage) {
    return make_error(ErrorKind::kTimeout, std::string(stage) + " " + where + " took longer than " +
                                               std::to_string(options.connect_timeout.count()) +
                                               " ms");
  };

  error_code error;
  std::vector<tcp::endpoint> endpoints;
  error_code not_an_address;
  const asio::ip::address address = asio::ip::make_address(url.host, not_an_address);
  if (!not_an_address) {
    // Nothing to look up (a local model server, an address in the configuration): the
    // resolver would hand the name to its own thread and back, a pair of context switches
    // per new connection, which add up when a burst opens hundreds.
    endpoints.emplace_back(address, url.port);
  } else {
    auto resolving = std::make_shared<ResolveState>(executor);
    asio::steady_timer resolve_timer(executor, deadline);
    resolve_timer.async_wait([resolving](const error_code& waited) {
      if (waited) return;
      resolving->timed_out = true;
      resolving->resolver.cancel();
    });
    tcp::resolver::results_type found = co_await resolving->resolver.async_resolve(
        url.host, std::to_string(url.port), tcp::resolver::numeric_service,
        asio::redirect_error(asio::use_awaitable, error));
    resolve_timer.cancel();
    if (resolving->timed_out) co_return timeout_error("resolving");
    if (error || found.empty()) {
      co_return make_error(ErrorKind::kNetwork,
                           "cannot resolve the upstream host " + url.host + ": " + error.message());
    }
    for (const auto& entry : found) endpoints.push_back(entry.endpoint());
  }

  auto connection = std::make_unique<UpstreamConnection>(options.max_header_bytes);
  connection->pool = pool.get();
  connection->origin = url.origin();
  connection->host = where;
  if (url.tls) {
    connection->secure = std::make_unique<TlsStream>(executor, pool->tls);
  } else {
    connection->plain = std::make_unique<TimedStream>(executor);
  }
  pool->opened.fetch_add(1, std::memory_order_relaxed);
  connection->lowest().expires_at(deadline);
  co_await connection->lowest().async_connect(endpoints,
                                              asio::redirect_error(asio::use_awaitable, error));
  if (error == beast::error::timeout) co_return timeout_error("connecting to");
  if (error) {
    co_return make_error(ErrorKind::kNetwork,
                         "cannot connect to the upstream " + where + ": " + error.message());
  }
  connection->lowest().socket().set_option(tcp::no_delay(true), error);
  if (!url.tls) co_return connection;

  SSL* ssl = connection->secure->native_handle();
  SSL_set_ex_data(ssl, tls_ex_index(), connection.get());
  if (not_an_address) {
    // SNI and name verification; an IP address gets no SNI (RFC 6066) and is checked
    // against the certificate's IP entries.
    SSL_set_tlsext_host_name(ssl, url.host.c_str());
    SSL_set1_host(ssl, url.host.c_str());
  } else {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url.host.c_str());
  }
  pool->resume_session(connection->origin, ssl);
  co_await connection->secure->async_handshake(asio::ssl::stream_base::client,
                                               asio::redirect_error(asio::use_awaitable, error));
  if (error == beast::error::timeout) co_return timeout_error("the TLS handshake with");
  if (error) {
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
      co_return make_error(ErrorKind::kNetwork,
                           "TLS certificate verification failed for the upstream " + where + ": " +
                               X509_verify_cert_error_string(verify));
    }
    co_return make_error(ErrorKind::kNetwork, "the TLS handshake with the upstream " + where +
                                                  " failed: " + error.message());
  }
  if (SSL_session_reused(ssl)) pool->resumed.fetch_add(1, std::memory_order_relaxed);
  co_return connection;
}

}  // namespace

asio::awaitable<Status> UpstreamExchange::begin(const WireRequest& request, bool& retryable) {
  retryable = false;
  UpstreamConnection& connection = *connection_;
  const UpstreamOptions& options = pool_->options;
  if (connection.secure) {
    tls_session_reused_ = SSL_session_reused(connection.secure->native_handle()) == 1;
  }
  connection.lowest().expires_after(options.first_byte_timeout);
  error_code error;
  // One gathered write: a single sendmsg on a plain connection.
  const std::array<asio::const_buffer, 2> request_bytes{asio::buffer(request.head),
                                                        asio::buffer(request.body)};
  if (connection.secure) {
    co_await asio::async_write(*connection.secure, request_bytes,
                               asio::redirect_error(asio::use_awaitable, error));
  } else {
    co_await asio::async_write(*connection.plain, request_bytes,
                               asio::redirect_error(asio::use_awaitable, error));
  }
  auto fail = [&](const error_code& cause, std::string_view stage) -> Error {
    failed_ = true;
    log::debug("upstream_failed", {log::field("host", connection.host), log::field("stage", stage),
                                   log::field("error", cause.message())});
    if (cause == beast::error::timeout) {
      return make_error(ErrorKind::kTimeout,
                        "the upstream " + connection.host + " did not answer within " +
                            std::to_string(options.first_byte_timeout.count()) + " ms");
    }
    if (cause == http::error::header_limit || cause == http::error::buffer_overflow) {
      return make_error(ErrorKind::kProtocol, "the response head from the upstream " +
                                                  connection.host + " is larger than " +
                                                  std::to_string(options.max_header_bytes) +
                                                  " bytes");
    }
    if (cause.category() == http::make_error_code(http::error::bad_version).category() &&
        cause != http::error::end_of_stream && cause != http::error::partial_message) {
      return make_error(ErrorKind::kProtocol, "the upstream " + connection.host +
                                                  " sent a malformed response: " + cause.message());
    }
    return make_error(ErrorKind::kNetwork, "the connection to the upstream " + connection.host +
                                               " failed " + std::string(stage) + ": " +
                                               cause.message());
  };
  if (error) {
    retryable = closed_before_answer(error);
    co_return fail(error, "while sending the request");
  }
  for (int interim = 0; interim <= kMaxInterimResponses; ++interim) {
    reader_ = std::make_unique<Reader>();
    ResponseParser& parser = reader_->parser;
    parser.set_limits(options.max_header_bytes, request.head_only);
    if (connection.secure) {
      error = co_await read_head(*connection.secure, connection.buffer, parser);
    } else {
      error = co_await read_head(*connection.plain, connection.buffer, parser);
    }
    if (error) {
      retryable = interim == 0 && closed_before_answer(error);
      co_return fail(error, "before its response");
    }
    if (parser.interim()) continue;
    head_ = parser.take_head();
    reader_->keep_alive = parser.keeps_connection();
    if (log::enabled(log::Level::kDebug)) {
      log::debug("upstream_response",
                 {log::field("host", connection.host), log::field("status", head_.status),
                  log::field("reused", connection.reused)});
    }
    co_return ok_status();
  }
  failed_ = true;
  co_return make_error(ErrorKind::kProtocol,
                       "the upstream " + connection.host + " sent too many interim responses");
}

// ---- the pool ----

UpstreamPool::UpstreamPool(std::shared_ptr<UpstreamPoolState> state) : state_(std::move(state)) {}
UpstreamPool::~UpstreamPool() = default;

Result<std::shared_ptr<UpstreamPool>> UpstreamPool::create(UpstreamOptions options) {
  try {
    auto state = std::make_shared<UpstreamPoolState>(std::move(options));
    asio::ssl::context& tls = state->tls;
    tls.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                    asio::ssl::context::no_tlsv1_1);
    error_code error;
    tls.set_default_verify_paths(error);
    if (error) log::warn("upstream_system_ca_unavailable", {log::field("error", error.message())});
    if (!state->options.extra_ca_file.empty()) {
      tls.load_verify_file(state->options.extra_ca_file, error);
      if (error) {
        return make_error(
            ErrorKind::kIo,
            "cannot load the CA file " + state->options.extra_ca_file + ": " + error.message());
      }
    }
    tls.set_verify_mode(asio::ssl::verify_peer);
    SSL_CTX* context = tls.native_handle();
    SSL_CTX_set_session_cache_mode(context,
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(context, detail::on_new_session);
    return std::shared_ptr<UpstreamPool>(new UpstreamPool(std::move(state)));
  } catch (const std::exception& caught) {
    return make_error(ErrorKind::kInternal,
                      std::string("cannot set up the upstream client: ") + caught.what());
  }
}

namespace {

// An upstream URL parsed, with the pool key and Host value it gives.
struct ParsedUrl {
  std::string text;
  UpstreamUrl url;
  std::string origin;
  std::string host_header;
};

// Every request to a provider names one of a few URLs (its base URL and a route), so
// each thread keeps the last few parsed: parsing one cost more than writing the request
// head. Shared, so a coroutine that resumes on another thread keeps what it was given.
Result<std::shared_ptr<const ParsedUrl>> parse_upstream_url_cached(std::string_view text) {
  constexpr size_t kSlots = 4;
  thread_local std::array<std::shared_ptr<const ParsedUrl>, kSlots> slots;
  thread_local size_t next = 0;
  for (const std::shared_ptr<const ParsedUrl>& slot : slots) {
    if (slot && slot->text == text) return slot;
  }
  Result<UpstreamUrl> url = parse_upstream_url(text);
  if (!url) return url.error();
  auto parsed = std::make_shared<ParsedUrl>();
  parsed->text = std::string(text);
  parsed->origin = url->origin();
  parsed->host_header = url->host_header();
  parsed->url = std::move(*url);
  slots[next++ % kSlots] = parsed;
  return std::shared_ptr<const ParsedUrl>(std::move(parsed));
}

}  // namespace

asio::awaitable<Result<std::unique_ptr<UpstreamExchange>>> UpstreamPool::send(
    UpstreamRequest request) {
  std::shared_ptr<UpstreamPoolState> pool = state_;
  Result<std::shared_ptr<const ParsedUrl>> parsed = parse_upstream_url_cached(request.url);
  if (!parsed) co_return parsed.error();
  const UpstreamUrl* url = &(*parsed)->url;
  const std::string& origin = (*parsed)->origin;
  Result<WireRequest> wire = build_wire_request(request, *url, (*parsed)->host_header);
  if (!wire) co_return wire.error();
  asio::any_io_executor executor = co_await asio::this_coro::executor;
  try {
    for (int attempt = 0; attempt < 2; ++attempt) {
      // A retry always opens a fresh connection.
      std::unique_ptr<UpstreamConnection> connection =
          attempt == 0 ? pool->take_idle(origin) : nullptr;
      if (connection) connection->lowest().rebind(executor);
      if (!connection) {
        Result<std::unique_ptr<UpstreamConnection>> connected =
            co_await connect_new(pool, *url, executor);
        if (!connected) co_return connected.error();
        connection = std::move(*connected);
      }
      bool reused = connection->reused;
      std::unique_ptr<UpstreamExchange> exchange(new UpstreamExchange(pool, std::move(connection)));
      bool retryable = false;
      Status started = co_await exchange->begin(*wire, retryable);
      if (started.ok()) co_return exchange;
      if (!(reused && retryable)) co_return started.error();
      log::debug("upstream_retry", {log::field("host", describe(*url))});
    }
  } catch (const std::exception& caught) {
    co_return make_error(ErrorKind::kInternal,
                         std::string("the upstream request failed: ") + caught.what());
  }
  co_return make_error(ErrorKind::kNetwork,
                       "the upstream " + describe(*url) + " closed the connection twice");
}

size_t UpstreamPool::idle_connections() const {
  std::lock_guard lock(state_->mutex);
  return state_->idle_count;
}

size_t UpstreamPool::connections_opened() const { return state_->opened.load(); }

size_t UpstreamPool::tls_sessions_resumed() const { return state_->resumed.load(); }

void UpstreamPool::close_idle_connections() {
  std::unordered_map<std::string, std::deque<std::unique_ptr<UpstreamConnection>>> closing;
  {
    std::lock_guard lock(state_->mutex);
    closing.swap(state_->idle);
    state_->idle_count = 0;
  }
}

void UpstreamPool::shutdown() {
  {
    std::lock_guard lock(state_->mutex);
    state_->closed = true;
  }
  close_idle_connections();
}

}  // namespace joey::cloud
JOEY_COROUTINES_END
