// The model proxy's upstream client against real sockets on 127.0.0.1: joeyd's own
// HttpServer (plain and TLS) for ordinary answers, and a scripted raw-socket upstream
// (one thread, blocking reads bounded by poll) for chunked, slow, cut, oversized and
// closing answers. Each test drives the client on its own io_context with a bounded
// run; nothing asserts a duration.
#include "cloud/upstream_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "base/ids.h"
#include "base/subprocess.h"
#include "cloud/http_server.h"
#include "cloud/proxy_routes.h"
#include "cloud/raw_socket.h"
#include "cloud/test_certificate.h"
#include "cloud/timed_stream.h"

JOEY_COROUTINES_BEGIN
namespace joey::cloud {
namespace {

using namespace std::chrono_literals;

constexpr auto kSocketLimit = 5s;  // bounds every blocking wait of the scripted upstream
constexpr auto kRunLimit = 30s;    // bounds every client run

// ---- running coroutines ----

// Runs `task` on `io` (with `threads` threads) until it finishes or kRunLimit passes;
// true when it finished without throwing.
bool run(asio::io_context& io, asio::awaitable<void> task, int threads = 1) {
  std::atomic<bool> finished{false};
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr error) {
    finished = error == nullptr;
    io.stop();
  });
  io.restart();
  std::vector<std::thread> extra;
  for (int index = 1; index < threads; ++index) extra.emplace_back([&] { io.run_for(kRunLimit); });
  io.run_for(kRunLimit);
  for (std::thread& thread : extra) thread.join();
  return finished;
}

// ---- TimedStream, the deadline-keeping stream under the client and the server ----

// A connected pair on 127.0.0.1: `ours` wrapped in a TimedStream, `peer` a plain socket.
struct StreamPair {
  explicit StreamPair(asio::io_context& io) : peer(io) {
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    peer.connect(acceptor.local_endpoint());
    ours = std::make_unique<TimedStream>(acceptor.accept());
  }
  asio::ip::tcp::socket peer;
  std::unique_ptr<TimedStream> ours;
};

asio::awaitable<void> pause(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::use_awaitable);
}

TEST(TimedStreamTest, AReadTimesOutAtItsDeadlineAndClosesTheSocket) {
  asio::io_context io;
  StreamPair pair(io);
  boost::system::error_code error;
  ASSERT_TRUE(run(io, [&]() -> asio::awaitable<void> {
    std::array<char, 16> buffer{};
    pair.ours->expires_after(20ms);
    co_await pair.ours->async_read_some(asio::buffer(buffer),
                                        asio::redirect_error(asio::use_awaitable, error));
  }()));
  EXPECT_EQ(error, beast::error::timeout);
  EXPECT_FALSE(pair.ours->socket().is_open());
}

// beast::tcp_stream's rule, which the disconnect watcher relies on: a deadline set while
// a read is pending is the next write's, not that read's; an operation started after its
// deadline times out at once.
TEST(TimedStreamTest, APendingReadKeepsItsDeadlineWhenANewOneIsSet) {
  asio::io_context io;
  StreamPair pair(io);
  boost::system::error_code read_error;
  boost::system::error_code write_error;
  size_t read_bytes = 0;
  bool read_done = false;
  bool done_before_peer_wrote = true;
  ASSERT_TRUE(run(io, [&]() -> asio::awaitable<void> {
    std::array<char, 16> buffer{};
    pair.ours->expires_never();
    pair.ours->async_read_some(asio::buffer(buffer),
                               [&](const boost::system::error_code& error, size_t bytes) {
                                 read_error = error;
                                 read_bytes = bytes;
                                 read_done = true;
                               });
    pair.ours->expires_after(1ms);  // the next write's deadline
    co_await pause(50ms);           // long past it
    done_before_peer_wrote = read_done;
    co_await asio::async_write(pair.peer, asio::buffer("x", 1), asio::use_awaitable);
    while (!read_done) co_await pause(1ms);
    co_await pair.ours->async_write_some(asio::buffer("y", 1),
                                         asio::redirect_error(asio::use_awaitable, write_error));
  }()));
  EXPECT_FALSE(done_before_peer_wrote);
  EXPECT_FALSE(read_error) << read_error.message();
  EXPECT_EQ(read_bytes, 1u);
  EXPECT_EQ(write_error, beast::error::timeout);
}

// The timer is armed lazily for a far deadline; a read with a nearer one must still
// time out at its own (else this run would last until the far one, past kRunLimit).
TEST(TimedStreamTest, ANearerDeadlineAfterFarOnesStillTimesOut) {
  asio::io_context io;
  StreamPair pair(io);
  int answered = 0;
  boost::system::error_code last_error;
  ASSERT_TRUE(run(io, [&]() -> asio::awaitable<void> {
    std::array<char, 16> buffer{};
    for (int round = 0; round < 3; ++round) {
      pair.ours->expires_after(10min);
      co_await asio::async_write(pair.peer, asio::buffer("z", 1), asio::use_awaitable);
      co_await pair.ours->async_read_some(asio::buffer(buffer), asio::use_awaitable);
      ++answered;
    }
    pair.ours->expires_after(20ms);
    co_await pair.ours->async_read_some(asio::buffer(buffer),
                                        asio::redirect_error(asio::use_awaitable, last_error));
  }()));
  EXPECT_EQ(answered, 3);
  EXPECT_EQ(last_error, beast::error::timeout);
}

UpstreamOptions fast_options() {
  UpstreamOptions options;
  options.connect_timeout = 5s;
  options.first_byte_timeout = 5s;
  options.idle_timeout = 5s;
  return options;
}

std::shared_ptr<UpstreamPool> make_pool(UpstreamOptions options = fast_options()) {
  Result<std::shared_ptr<UpstreamPool>> pool = UpstreamPool::create(std::move(options));
  EXPECT_TRUE(pool.ok()) << (pool.ok() ? "" : pool.error().message);
  return pool.ok() ? *pool : nullptr;
}

struct Answer {
  Result<int> status = make_error(ErrorKind::kInternal, "not run");
  std::string body;
};

// Sends `request` and reads the whole body.
asio::awaitable<Answer> fetch(UpstreamPool& pool, UpstreamRequest request) {
  Answer answer;
  auto exchange = co_await pool.send(std::move(request));
  if (!exchange.ok()) {
    answer.status = exchange.error();
    co_return answer;
  }
  for (int piece = 0; piece < 100000; ++piece) {
    auto next = co_await (*exchange)->read_some();
    if (!next.ok()) {
      answer.status = next.error();
      co_return answer;
    }
    if (!*next) break;
    answer.body += **next;
  }
  answer.status = (*exchange)->head().status;
  co_return answer;
}

// Sends `request` on `io` and runs it to its end (a run that does not end fails the test).
Answer fetch_one(asio::io_context& io, UpstreamPool& pool, UpstreamRequest request) {
  Answer answer;
  EXPECT_TRUE(run(
      io, [&]() -> asio::awaitable<void> { answer = co_await fetch(pool, std::move(request)); }()));
  return answer;
}

UpstreamRequest get(std::string url) {
  UpstreamRequest request;
  request.method = "GET";
  request.url = std::move(url);
  return request;
}

// ---- a scripted raw-socket upstream ----

// Reads one request (head and Content-Length body); "" when the peer closed or
// kSocketLimit passed.
std::string read_request(int fd) {
  std::string data;
  auto deadline = std::chrono::steady_clock::now() + kSocketLimit;
  while (std::chrono::steady_clock::now() < deadline) {
    size_t head_end = data.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      size_t length = 0;
      size_t at = data.find("Content-Length: ");
      if (at != std::string::npos && at < head_end) length = std::stoul(data.substr(at + 16));
      if (data.size() >= head_end + 4 + length) return data;
    }
    pollfd poll_fd{fd, POLLIN, 0};
    if (::poll(&poll_fd, 1, 50) <= 0) continue;
    char buffer[8192];
    ssize_t got = ::recv(fd, buffer, sizeof(buffer), 0);
    if (got <= 0) return "";
    data.append(buffer, static_cast<size_t>(got));
  }
  return "";
}

// True when the peer closes the connection within kSocketLimit.
bool wait_for_close(int fd) {
  auto deadline = std::chrono::steady_clock::now() + kSocketLimit;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd poll_fd{fd, POLLIN, 0};
    if (::poll(&poll_fd, 1, 50) <= 0) continue;
    char buffer[4096];
    if (::recv(fd, buffer, sizeof(buffer), 0) <= 0) return true;
  }
  return false;
}

std::string fmt_hex(size_t value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%zx", value);
  return text;
}

std::string ok_response(std::string_view body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

// Accepts connections one after another on 127.0.0.1 and runs `script` on each (the
// connection index counts from 0); the socket closes when the script returns.
class ScriptedUpstream {
 public:
  using Script = std::function<void(int fd, int connection_index)>;

  explicit ScriptedUpstream(Script script) : script_(std::move(script)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof(address);
    bool ok = ::bind(listener_, reinterpret_cast<sockaddr*>(&address), size) == 0 &&
              ::listen(listener_, 16) == 0 &&
              ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) == 0;
    EXPECT_TRUE(ok) << "cannot listen on 127.0.0.1";
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedUpstream() {
    stopping_ = true;
    thread_.join();
    ::close(listener_);
  }

  std::string url(std::string_view path = "/v1/chat/completions") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  int connections() const { return accepted_; }
  int port() const { return port_; }

 private:
  void serve() {
    constexpr int kMaxConnections = 16;
    auto deadline = std::chrono::steady_clock::now() + kRunLimit;
    while (!stopping_ && accepted_ < kMaxConnections &&
           std::chrono::steady_clock::now() < deadline) {
      pollfd poll_fd{listener_, POLLIN, 0};
      if (::poll(&poll_fd, 1, 20) <= 0) continue;
      int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) continue;
      script_(fd, accepted_++);
      ::close(fd);
    }
  }

  Script script_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// A one-shot flag one thread waits for (bounded by kSocketLimit).
class Signal {
 public:
  void notify() {
    std::lock_guard lock(mutex_);
    set_ = true;
    condition_.notify_all();
  }
  bool wait() {
    std::unique_lock lock(mutex_);
    return condition_.wait_for(lock, kSocketLimit, [this] { return set_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable condition_;
  bool set_ = false;
};

// ---- URLs and request validation ----

TEST(UpstreamUrlTest, ParsesSchemesHostsPortsAndTargets) {
  Result<UpstreamUrl> plain = parse_upstream_url("http://127.0.0.1:8080/v1/models?x=1#frag");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(plain->host, "127.0.0.1");
  EXPECT_EQ(plain->port, 8080);
  EXPECT_EQ(plain->target, "/v1/models?x=1");
  EXPECT_EQ(plain->host_header(), "127.0.0.1:8080");
  Result<UpstreamUrl> secure = parse_upstream_url("HTTPS://API.OpenAI.com");
  ASSERT_TRUE(secure.ok());
  EXPECT_TRUE(secure->tls);
  EXPECT_EQ(secure->port, 443);
  EXPECT_EQ(secure->target, "/");
  EXPECT_EQ(secure->host_header(), "api.openai.com");
  EXPECT_EQ(secure->origin(), "https://api.openai.com:443");
  Result<UpstreamUrl> six = parse_upstream_url("http://[::1]:9000?q");
  ASSERT_TRUE(six.ok());
  EXPECT_EQ(six->host, "::1");
  EXPECT_EQ(six->target, "/?q");
  EXPECT_EQ(six->host_header(), "[::1]:9000");
}

TEST(UpstreamUrlTest, RefusesMalformedUrlsWithoutEchoingThem) {
  for (const char* bad :
       {"", "ftp://host/", "http://", "http:///path", "http://host:/", "http://host:0/",
        "http://host:65536/", "http://host:12ab/", "http://user:secret@host/", "http://ho st/",
        "http://host/pa\nth", "http://[::1/", "http://[::1]x/", "//host/", "http://ho%st/"}) {
    Result<UpstreamUrl> parsed = parse_upstream_url(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().kind, ErrorKind::kInvalidArgument) << bad;
    EXPECT_EQ(parsed.error().message.find("secret"), std::string::npos);
  }
}

TEST(UpstreamClientTest, HeaderWithCrLfOrBadNameIsInvalidArgument) {
  asio::io_context io;
  auto pool = make_pool();
  ASSERT_TRUE(pool);
  std::vector<Answer> answers;
  ASSERT_TRUE(run(io, [&]() -> asio::awaitable<void> {
    for (auto header :
         std::vector<std::pair<std::string, std::string>>{{"x-test", "a\r\nInjected: yes"},
                                                          {"x-test", std::string("a\0b", 3)},
                                                          {"bad name", "v"},
                                                          {"", "v"},
                                                          {"x\r\ny", "v"}}) {
      UpstreamRequest request = get("http://127.0.0.1:9/");
      request.headers.push_back(header);
      answers.push_back(co_await fetch(*pool, request));
    }
    UpstreamRequest bad_method = get("http://127.0.0.1:9/");
    bad_method.method = "GE T";
    answers.push_back(co_await fetch(*pool, bad_method));
    answers.push_back(co_await fetch(*pool, get("gopher://127.0.0.1/")));
  }()));
  ASSERT_EQ(answers.size(), 7u);
  for (const Answer& answer : answers) {
    ASSERT_FALSE(answer.status.ok());
    EXPECT_EQ(answer.status.error().kind, ErrorKind::kInvalidArgument);
  }
  EXPECT_EQ(pool->connections_opened(), 0u);
}

// ---- framing and streaming ----

TEST(UpstreamClientTest, SendsHostContentLengthAndCallerHeadersButNotCallerFraming) {
  std::string received;
  ScriptedUpstream upstream([&](int fd, int) {
    received = read_request(fd);
    send_all(fd, ok_response("done"));
  });
  asio::io_context io;
  auto pool = make_pool();
  ASSERT_TRUE(pool);
  Answer answer;
  ASSERT_TRUE(run(io, [&]() -> asio::awaitable<void> {
    UpstreamRequest request;
    request.url = upstream.url("/v1/chat/completions?beta=1");
    request.headers = {{"Authorization", "Bearer sk-test"},
                       {"Content-Type", "application/json"},
                       {"Content-Length", "999"},
                       {"Transfer-Encoding", "chunked"}};
    request.body = R"({"model":"m"})";
    answer = co_await fetch(*pool, request);
  }()));
  ASSERT_TRUE(answer.status.ok()) << answer.status.error().message;
  EXPECT_EQ(*answer.status, 200);
  EXPECT_EQ(answer.body, "done");
  EXPECT_EQ(received.rfind("POST /v1/chat/completions?beta=1 HTTP/1.1\r\n", 0), 0u) << received;
  EXPECT_NE(received.find("Host: 127.0.0.1:"), std::string::npos);
  EXPECT_NE(received.find("Authorization: Bearer sk-test\r\n"), std::string::npos);
  EXPECT_NE(received.find("Content-Length: 13\r\n"), std::string::npos);
  EXPECT_EQ(received.find("999"), std::string::npos);
  EXPECT_EQ(received.find("chunked"), std::string::npos);
  EXPECT_NE(received.find("\r\n\r\n{\"model\":\"m\"}"), std::string::npos);
}

// The head is written by joeyd, not Beast: byte for byte what HTTP wants, with
// Content-Length where Beast's prepare_payload would put it (a body, or POST, PUT and
// OPTIONS without one) and nowhere else.
TEST(UpstreamClientTest, RequestHeadsAreExactAndCarryContentLengthOnlyWhereDue) {
  std::vector<std::string> received;
  ScriptedUpstream upstream([&](int fd, int) {
    for (int i = 0; i < 4; ++i) {
      std::string request = read_request(fd);
      if (request.empty()) return;
      received.push_back(std::move(request));
      send_all(fd, ok_response("done"));
    }
  });
  asio::io_context io;
  auto pool = make_pool();
  ASSERT_TRUE(pool);
  std::vector<Answer> answers;
  ASSERT_TRUE(run(io, [&]() -> asio::awaitable<void> {
    UpstreamRequest post;
    post.url = upstream.url("/v1/messages");
    post.headers = {
        {"x-api-key", "sk-ant-test"}, {"Connection", "close"}, {"anthropic-version", "1"}};
    post.body = "{}";
    answers.push_back(co_await fetch(*pool, post));
    UpstreamRequest empty_post;
    empty_post.url = upstream.url("/v1/empty");
    answers.push_back(co_await fetch(*pool, empty_post));
    answers.push_back(co_await fetch(*pool, get(upstream.url("/v1/models"))));
    UpstreamRequest custom = get(upstream.url("/x"));
    custom.method = "PROPFIND";
    answers.push_back(co_await fetch(*pool, custom));
    UpstreamRequest trace = get(upstream.url("/t"));
    trace.method = "TRACE";
    trace.body = "not allowed";
    answers.push_back(co_await fetch(*pool, trace));
  }()));
  ASSERT_EQ(answers.size(), 5u);
  for (size_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(answers[i].status.ok()) << i << ": " << answers[i].status.error().message;
  }
  ASSERT_FALSE(answers[4].status.ok());
  EXPECT_EQ(answers[4].status.error().kind, ErrorKind::kInvalidArgument);
  ASSERT_EQ(received.size(), 4u);
  const std::string host = "Host: 127.0.0.1:" + std::to_string(upstream.port()) + "\r\n";
  EXPECT_EQ(received[0], "POST /v1/messages HTTP/1.1\r\n" + host +
                             "x-api-key: sk-ant-test\r\nanthropic-version: 1\r\n"
                             "Content-Length: 2\r\n\r\n{}");
  EXPECT_EQ(received[1], "POST /v1/empty HTTP/1.1\r\n" + host + "Content-Length: 0\r\n\r\n");
  EXPECT_EQ(received[2], "GET /v1/models HTTP/1.1\r\n" + host + "\r\n");
  EXPECT_EQ(received[3], "PROPFIND /x HTTP/1.1\r\n" + host + "\r\n");
}

// Parsed upstream URLs are remembered per thread (a few at a time): requests that cycle
// through more URLs than are remembered, on two upstreams, each reach the host and path
// their own URL names.
TEST(UpstreamClientTest, ManyUrlsOnTwoUpstreamsEachReachTheirOwnPath) {
  constexpr int kRounds = 3;
  constexpr int kPaths = 6;
  std::vector<std::string> received_a;
  std::vector<std::string> received_b;
  const auto serve_into = [](std::vector<std::string>& received) {
    return [&received](int fd, int) {
      for (int i = 0; i < kRounds * kPaths; ++i) {
        std::string request = read_request(fd);
        if (request.empty()) return;
        received.push_back(request.substr(0, request.find("\r\n\r\n")));
        send_all(fd, ok_response("done"));
      }
    };
  };
  ScriptedUpstream upstream_a(serve_into(received_a));
  ScriptedUpstream upstream_b(serve_into(received_b));
  asio::io_context io;
  auto pool = make_pool();
  ASSERT_TRUE(pool);
  std::vector<Answer> answers;
  ASSERT_TRUE(run(io, [&]() -> asio::awaitable<void> {
    for (int round = 0; round < kRounds; ++round) {
      for (int path = 0; path < kPaths; ++path) {
        const std::string target = "/p" + std::to_string(path);
        answers.push_back(co_await fetch(*pool, get(upstream_a.url(target))));
        answers.push_back(co_await fetch(*pool, get(upstream_b.url(target + "?b"))));
      }
    }
  }()));
  ASSERT_EQ(answers.size(), size_t{2 * kRounds * kPaths});
  for (const Answer& answer : answers) ASSERT_TRUE(answer.status.ok());
  ASSERT_EQ(received_a.size(), size_t{kRounds * kPaths});
  ASSERT_EQ(received_b.size(), size_t{kRounds * kPaths});
  for (int i = 0; i < kRounds * kPaths; ++i) {
    const std::string target = "/p" + std::to_string(i % kPaths);
    EXPECT_EQ(received_a[i], "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" +
                                 std::to_string(upstream_a.port()));
    EXPECT_EQ(received_b[i], "GET " + target + "?b HTTP/1.1\r\nHost: 127.0.0.1:" +
                                 std::to_string(upstream_b.port()));
  }
  // One pooled connection per upstream: the remembered pool key is the upstream's own.
  EXPECT_EQ(upstream_a.connections(), 1);
  EXPECT_EQ(upstream_b.connections(), 1);
}

TEST(UpstreamClientTest, ChunkedBodyArrivesPieceByPiece) {
  Signal first_piece_seen;
  ScriptedUpstream upstream([&](int fd, int) {
    read_request(fd);
    send_all(fd,
             "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: "
             "chunked\r\n\r\n7\r\npiece-1\r\n");
    if (!first_piece_seen.wait()) return;  // the client never saw piece 1 alone
    send_all(fd, "7\r\npiece-2\r\n0\r\n\r\n");
  });
  asio::io_context io;
  auto pool = make_pool();
  ASSERT_TRUE(pool);
  std::string first;
  std::string rest;
  bool ended = false;
  int status = 0;
  std::string content_type;
  ASSERT_TRUE(run(io, [&]() -> asio::awaitable<void> {
    auto exchange = co_await pool->send(get(upstream.url()));
    if (!exchange.ok()) co_return;
    status = (*exchange)->head().status;
    content_type = (*exchange)->head().header("Content-Type");
    for (int reads = 0; reads < 100 && first.size() < 7; ++reads) {
      auto piece = co_await (*exchange)->read_some();
      if (!piece.ok() || !*piece) co_return;
      first += **piece;
    }
    first_piece_seen.notify();
    for (int reads = 0; reads < 100; ++reads) {
      auto piece = co_await (*exchange)->read_some();
      if (!piece.ok()) co_return;
      if (!*piece) {
        ended = true;
        break;
      }
      rest += **piece;
    }
  }()));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(content_type, "text/event-stream");
  EXPECT_EQ(first, "piece-1");
  EXPECT_EQ(rest, "piece-2");
  EXPECT_TRUE(ended);
  EXPECT_EQ(pool->idle_connections(), 1u);
}

// ---- pooling ----

class UpstreamServerTest : public ::testing::Test {
 protected:
  void start(ServerOptions options = {}) {
    auto router = std::make_shared<Router>();
    router->add("GET", "/hello", [](const HttpRequest&) -> Result<HttpResponse> {
      return HttpResponse::text(200, "hello");
    });
    router->add(
        "POST", "/echo",
        [](const HttpRequest& request) -> Result<HttpResponse> {
          return HttpResponse::text(200, request.body);
        },
        RouteOptions{.max_body_bytes = 1024, .body_kind = BodyKind::kAny});
    options.host = "127.0.0.1";
    options.port = 0;
    if (options.threads == 0) options.threads = 1;
    Result<std::unique_ptr<HttpServer>> server = HttpServer::create(options, router, nullptr);
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(*server);
    server_->start();
  }
  std::string url(std::string_view path) const { return server_->url() + std::string(path); }

  std::unique_ptr<HttpServer> server_;
};

TEST_F(UpstreamServerTest, TwentySequentialRequestsShareOneConnection) {
  start();
  asio::io_context io;
  auto pool = make_pool();
  ASSERT_TRUE(pool);
  int successes = 0;
  ASSERT_TRUE(run(io, [&]() -> asio::awaitable<void> {
    for (int index = 0; index < 20; ++index) {
      Answer answer = co_await fetch(*pool, get(url("/hello")));
      if (answer.status.ok() && *answer.status == 200 && answer.body == "hello") ++successes;
    }
  }()));
  EXPECT_EQ(successes, 20);
  EXPECT_EQ(pool->connections_opened(), 1u);
  EXPECT_EQ(pool->idle_connections(), 1u);
}

TEST(UpstreamClientTest, IdleConnectionClosedByServerIsReplaced) {
  Signal closed;
  ScriptedUpstream upstream([&](int fd, int index) {
    read_request(fd);
    send_all(fd, ok_response(index == 0 ? "first" : "second"));
    if (index == 0) {
      ::shutdown(fd, SHUT_RDWR);
      closed.notify();
    } else {
      wait_for_close(fd);
    }
  });
  asio::io_context io;
  auto pool = make_pool();
  ASSERT_TRUE(pool);
  Answer first;
  Answer second;
  ASSERT_TRUE(run(io, [&]() -> asio::awaitable<void> {
    first = co_await fetch(*pool, get(upstream.url()));
    closed.wait();
    second = co_await fetch(*pool, get(upstream.url()));
  }()));
  EXPECT_EQ(first.body, "first");
  ASSERT_TRUE(second.status.ok()) << second.status.error().message;
  EXPECT_EQ(second.body, "second");
  EXPECT_EQ(pool->connections_opened(), 2u);
}

TEST(UpstreamClientTest, ReusedConnectionClosedBeforeAnsweringIsRetriedOnce) {
  std::atomic<int> requests{0};
  ScriptedUpstream upstream([&](int fd, int index) {
    if (!read_request(fd).empty()) ++requests;
    send_all(fd, ok_response(index == 0 ? "first" : "retried"));
    if (index == 0 && !read_request(fd).empty()) ++requests;  // then close without answering
  });
  asio::io_context io;
  auto pool = make_pool();
  ASSERT_TRUE(pool);
  Answer first;
  Answer second;
  ASSERT_TRUE(run(io, [&]() -> asio::awaitable<void> {
    first = co_await fetch(*pool, get(upstream.url()));
    second = co_await fetch(*pool, get(upstream.url()));
  }()));
  EXPECT_EQ(first.body, "first");
  ASSERT_TRUE(second.status.ok()) << second.status.error().message;
  EXPECT_EQ(second.body, "retried");
  EXPECT_EQ(requests.load(), 3);  // the second request was sent twice
  EXPECT_EQ(pool->connections_opened(), 2u);
}

TEST_F(UpstreamServerTest, ThousandConcurrentRequestsAllSucceed) {
  ServerOptions options;
  options.threads = 2;
  options.max_connections = 4096;
  start(options);
  asio::io_context io(2);
  UpstreamOptions client_options = fast_options();
  client_options.max_idle_per_host = 1000;
  client_options.connect_timeout = 20s;  // 1,000 connects at once on a busy machine
  client_options.first_byte_timeout = 20s;
  auto pool = make_pool(client_options);
  ASSERT_TRUE(pool);
  constexpr int kRequests = 1000;
  std::atomic<int> successes{0};
  std::atomic<int> finished{0};
  for (int index = 0; index < kRequests; ++index) {
    asio::co_spawn(
        asio::make_strand(io),
        [&, index]() -> asio::awaitable<void> {
          UpstreamRequest request;
          request.url = url("/echo");
          request.body = "request " + std::to_string(index);
          Answer answer = co_await fetch(*pool, request);
          if (answer.status.ok() && *answer.status == 200 && answer.body == request.body) {
            ++successes;
          }
          ++finished;
        },
        asio::detached);
  }
  std::thread second([&] { io.run_for(kRunLimit); });
  io.run_for(kRunLimit);
  second.join();
  EXPECT_EQ(finished.load(), kRequests);
  EXPECT_EQ(successes.load(), kRequests);
  EXPECT_LE(pool->connections_opened(), static_cast<size_t>(kRequests));
  EXPECT_LE(pool->idle_connections(), pool->connections_opened());
}

// The proxy's pool (make_upstream_pool) keeps every connection a burst needed: a pool
// smaller than the concurrency would close connections only to open them again.
TEST_F(UpstreamServerTest, TheProxysPoolKeepsAsManyIdleConnectionsAsABurstUsed) {
  start();
  asio::io_context io;
  Result<std::shared_ptr<UpstreamPool>> created = make_upstream_pool(UpstreamSettings{});
  ASSERT_TRUE(created.ok()) << created.error().message;
  std::shared_ptr<UpstreamPool> pool = *created;
  // All start before any answer is read, so each needs a connection of its own.
  constexpr int kInFlight = 100;
  int successes = 0;
  for (int index = 0; index < kInFlight; ++index) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          Answer answer = co_await fetch(*pool, get(url("/hello")));
          if (answer.status.ok() && *answer.status == 200) ++successes;
        },
        asio::detached);
  }
  io.run_for(kRunLimit);
  EXPECT_EQ(successes, kInFlight);
  EXPECT_EQ(pool->connections_opened(), static_cast<size_t>(kInFlight));
  EXPECT_EQ(pool->idle_connections(), static_cast<size_t>(kInFlight));
  pool->shutdown();
}

// With several threads each client connection runs on its own strand, and a pooled
// upstream connection moves between them; its deadline timer moves with it
// (TimedStream::rebind). Deadlines short enough to pass while it waits in the pool.
TEST_F(UpstreamServerTest, APooledConnectionServesOneStrandAfterAnother) {
  ServerOptions options;
  options.threads = 2;
  start(options);
  asio::io_context io(2);
  UpstreamOptions client_options = fast_options();
  client_options.first_byte_timeout = 100ms;
  client_options.idle_timeout = 100ms;
  auto pool = make_pool(client_options);
  ASSERT_TRUE(pool);
  constexpr int kRounds = 6;
  std::atomic<int> successes{0};
  std::atomic<bool> finished{false};
  asio::co_spawn(
      asio::make_strand(io),
      [&]() -> asio::awaitable<void> {
        for (int round = 0; round < kRounds; ++round) {
          co_await asio::co_spawn(
              asio::make_strand(io),
              [&]() -> asio::awaitable<void> {
                Answer answer = co_await fetch(*pool, get(url("/hello")));
                if (answer.status.ok() && answer.body == "hello") ++successes;
                co_await pause(150ms);  // past the deadlines, the connection idle in the pool
              },
              asio::use_awaitable);
        }
        finished = true;
      },
      asio::detached);
  const auto give_up = std::chrono::steady_clock::now() + kRunLimit;
  const auto drive = [&] {
    while (!finished && std::chrono::steady_clock::now() < give_up) io.run_one_for(100ms);
  };
  std::thread second(drive);
  drive();
  second.join();
  EXPECT_TRUE(finished.load());
  EXPECT_EQ(successes.load(), kRounds);
  EXPECT_EQ(pool->connections_opened(), 1u);
}

// ---- TLS ----

// joeyd stops its server, shuts the pool down, then destroys the server's io_context
// while the pool lives on: no pooled connection may keep a socket of that io_context
// (the sanitizer build reports one closed after it is gone).
TEST_F(UpstreamServerTest, ShutDownPoolKeepsNoConnectionAndOutlivesItsIoContext) {
  start();
  auto pool = make_pool();
  ASSERT_TRUE(pool);
  {
    asio::io_context io;
    Answer first;
    Answer second;
    ASSERT_TRUE(run(io, [&]() -> asio::awaitable<void> {
      first = co_await fetch(*pool, get(url("/hello")));
    }()));
    ASSERT_TRUE(first.status.ok()) << first.status.error().message;
    EXPECT_EQ(pool->idle_connections(), 1u);
    pool->shutdown();
    EXPECT_EQ(pool->idle_connections(), 0u);
    ASSERT_TRUE(run(io, [&]() -> asio::awaitable<void> {
      second = co_await fetch(*pool, get(url("/hello")));
    }()));
    ASSERT_TRUE(second.status.ok()) << second.status.error().message;
    EXPECT_EQ(second.body, "hello");
    EXPECT_EQ(pool->idle_connections(), 0u);  // released after shutdown: closed, not kept
  }
  EXPECT_EQ(pool->connections_opened(), 2u);
}

TEST_F(UpstreamServerTest, HttpsVerifiesTheCertificateAndResumesTheSession) {
  TestCertificate certificate("IP:127.0.0.1,DNS:localhost");
  ASSERT_TRUE(certificate.ok()) << "openssl could not make a test certificate";
  ServerOptions options;
  options.tls = TlsFiles{certificate.certificate(), certificate.key()};
  start(options);
  asio::io_context io;
  UpstreamOptions client_options = fast_options();
  client_options.extra_ca_file = certificate.certificate().string();
  auto pool = make_pool(client_options);
  ASSERT_TRUE(pool);
  Answer by_address;
  Answer by_name;
  Answer after_reconnect;
  bool reconnect_resumed = false;
  ASSERT_TRUE(run(io, [&]() -> asio::awaitable<void> {
    by_address = co_await fetch(*pool, get(url("/hello")));
    by_name = co_await fetch(
        *pool, get("https://localhost:" + std::to_string(server_->port()) + "/hello"));
    pool->close_idle_connections();
    auto exchange = co_await pool->send(get(url("/hello")));
    if (!exchange.ok()) co_return;
    reconnect_resumed = (*exchange)->tls_session_reused();
    after_reconnect.status = (*exchange)->head().status;
  }()));
  ASSERT_TRUE(by_address.status.ok()) << by_address.status.error().message;
  EXPECT_EQ(by_address.body, "hello");
  ASSERT_TRUE(by_name.status.ok()) << by_name.status.error().message;
  EXPECT_EQ(by_name.body, "hello");
  ASSERT_TRUE(after_reconnect.status.ok());
  EXPECT_TRUE(reconnect_resumed);
  EXPECT_GE(pool->tls_sessions_resumed(), 1u);
}

TEST_F(UpstreamServerTest, UntrustedCertificateFailsVerification) {
  TestCertificate certificate("IP:127.0.0.1");
  ASSERT_TRUE(certificate.ok());
  ServerOptions options;
  options.tls = TlsFiles{certificate.certificate(), certificate.key()};
  start(options);
  asio::io_context io;
  auto pool = make_pool();  // trusts only the system store
  ASSERT_TRUE(pool);
  const Answer answer = fetch_one(io, *pool, get(url("/hello")));
  ASSERT_FALSE(answer.status.ok());
  EXPECT_EQ(answer.status.error().kind, ErrorKind::kNetwork);
  EXPECT_NE(answer.status.error().message.find("TLS certificate verification failed"),
            std::string::npos)
      << answer.status.error().message;
}

TEST_F(UpstreamServerTest, HostNameOrAddressMismatchFailsVerification) {
  TestCertificate certificate("DNS:upstream.example");
  ASSERT_TRUE(certificate.ok());
  ServerOptions options;
  options.tls = TlsFiles{certificate.certificate(), certificate.key()};
  start(options);
  asio::io_context io;
  UpstreamOptions client_options = fast_options();
  client_options.extra_ca_file = certificate.certificate().string();
  auto pool = make_pool(client_options);
  ASSERT_TRUE(pool);
  Answer by_address;
  Answer by_name;
  ASSERT_TRUE(run(io, [&]() -> asio::awaitable<void> {
    by_address = co_await fetch(*pool, get(url("/hello")));
    by_name = co_await fetch(
        *pool, get("https://localhost:" + std::to_string(server_->port()) + "/hello"));
  }()));
  for (const Answer* answer : {&by_address, &by_name}) {
    ASSERT_FALSE(answer->status.ok());
    EXPECT_EQ(answer->status.error().kind, ErrorKind::kNetwork);
    EXPECT_NE(answer->status.error().message.find("TLS certificate verification failed"),
              std::string::npos)
        << answer->status.error().message;
  }
}

// ---- failures ----

TEST(UpstreamClientTest, CancelDuringPendingReadFailsItAndClosesTheConnection) {
  std::atomic<bool> upstream_saw_close{false};
  Signal script_done;
  ScriptedUpstream upstream([&](int fd, int) {
    read_request(fd);
    send_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n");
    upstream_saw_close = wait_for_close(fd);
    script_done.notify();
  });
  asio::io_context io;
  UpstreamOptions options = fast_options();
  options.idle_timeout = 60s;  // a timeout must not stand in for the cancellation
  auto pool = make_pool(options);
  ASSERT_TRUE(pool);
  std::string first;
  Result<std::optional<std::string>> pending = make_error(ErrorKind::kInternal, "not run");
  Result<std::optional<std::string>> after = make_error(ErrorKind::kInternal, "not run");
  ASSERT_TRUE(run(io, [&]() -> asio::awaitable<void> {
    auto exchange = co_await pool->send(get(upstream.url()));
    if (!exchange.ok()) co_return;
    for (int reads = 0; reads < 100 && first.size() < 5; ++reads) {
      auto piece = co_await (*exchange)->read_some();
      if (!piece.ok() || !*piece) co_return;
      first += **piece;
    }
    // One thread: the timer's handler runs only once read_some below is suspended.
    asio::steady_timer timer(co_await asio::this_coro::executor, 0ms);
    UpstreamExchange* raw = exchange->get();
    timer.async_wait([raw](const boost::system::error_code&) { raw->cancel(); });
    pending = co_await (*exchange)->read_some();
    after = co_await (*exchange)->read_some();
  }()));
  EXPECT_EQ(first, "first");
  ASSERT_FALSE(pending.ok());
  EXPECT_EQ(pending.error().kind, ErrorKind::kCancelled);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().kind, ErrorKind::kCancelled);
  EXPECT_EQ(pool->idle_connections(), 0u);
  EXPECT_TRUE(script_done.wait());
  EXPECT_TRUE(upstream_saw_close.load());
}

TEST(UpstreamClientTest, ClosedPortIsANetworkError) {
  int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&address), size), 0);
  ASSERT_EQ(::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &size), 0);
  ::close(probe);  // nothing listens on this port now
  asio::io_context io;
  auto pool = make_pool();
  ASSERT_TRUE(pool);
  Answer answer;
  ASSERT_TRUE(run(io, [&]() -> asio::awaitable<void> {
    answer = co_await fetch(
        *pool, get("http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/secret?q=1"));
  }()));
  ASSERT_FALSE(answer.status.ok());
  EXPECT_EQ(answer.status.error().kind, ErrorKind::kNetwork);
  EXPECT_NE(answer.status.error().message.find("127.0.0.1"), std::string::npos);
  EXPECT_EQ(answer.status.error().message.find("secret"), std::string::npos);
}

// An address is connected to as it is; a name still goes through the resolver, and one
// that names nothing (RFC 6761's .invalid) fails there, within the connect timeout.
TEST(UpstreamClientTest, AHostNameThatResolvesToNothingIsANetworkErrorOrATimeout) {
  asio::io_context io;
  UpstreamOptions options = fast_options();
  options.connect_timeout = 2s;
  auto pool = make_pool(options);
  ASSERT_TRUE(pool);
  const Answer answer =
      fetch_one(io, *pool, get("http://upstream.example.invalid:8080/secret?q=1"));
  ASSERT_FALSE(answer.status.ok());
  const Error& error = answer.status.error();
  EXPECT_TRUE(error.kind == ErrorKind::kNetwork || error.kind == ErrorKind::kTimeout)
      << error.message;
  EXPECT_TRUE(error.message.find("cannot resolve the upstream host upstream.example.invalid") !=
                  std::string::npos ||
              error.message.find("resolving") != std::string::npos)
      << error.message;
  EXPECT_EQ(error.message.find("secret"), std::string::npos);
}

TEST(UpstreamClientTest, UpstreamThatNeverAnswersTimesOut) {
  ScriptedUpstream upstream([&](int fd, int) {
    read_request(fd);
    wait_for_close(fd);
  });
  asio::io_context io;
  UpstreamOptions options = fast_options();
  options.first_byte_timeout = 200ms;
  auto pool = make_pool(options);
  ASSERT_TRUE(pool);
  const Answer answer = fetch_one(io, *pool, get(upstream.url()));
  ASSERT_FALSE(answer.status.ok());
  EXPECT_EQ(answer.status.error().kind, ErrorKind::kTimeout);
}

TEST(UpstreamClientTest, StalledBodyTimesOut) {
  ScriptedUpstream upstream([&](int fd, int) {
    read_request(fd);
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome");
    wait_for_close(fd);
  });
  asio::io_context io;
  UpstreamOptions options = fast_options();
  options.idle_timeout = 200ms;
  auto pool = make_pool(options);
  ASSERT_TRUE(pool);
  const Answer answer = fetch_one(io, *pool, get(upstream.url()));
  ASSERT_FALSE(answer.status.ok());
  EXPECT_EQ(answer.status.error().kind, ErrorKind::kTimeout);
  EXPECT_EQ(pool->idle_connections(), 0u);
}

TEST(UpstreamClientTest, ResponseCutMidBodyIsANetworkError) {
  ScriptedUpstream upstream([&](int fd, int) {
    read_request(fd);
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
  });
  asio::io_context io;
  auto pool = make_pool();
  ASSERT_TRUE(pool);
  const Answer answer = fetch_one(io, *pool, get(upstream.url()));
  ASSERT_FALSE(answer.status.ok());
  EXPECT_EQ(answer.status.error().kind, ErrorKind::kNetwork);
  EXPECT_EQ(pool->idle_connections(), 0u);
}

// ---- the response parser, on bytes ----

using Headers = std::vector<std::pair<std::string, std::string>>;

TEST(UpstreamAnswerTest, InterimHeadsAreSkippedAndTheHeadKeepsEveryFieldInOrder) {
  Result<UpstreamAnswer> answer = parse_upstream_answer(
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
      "HTTP/1.1 201 Created\r\nX-Request-ID: r1\r\nSet-Cookie: a=1\r\nset-COOKIE: b=2\r\n"
      "Content-Length: 5\r\n\r\nhello");
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->head.status, 201);
  EXPECT_EQ(answer->head.headers, (Headers{{"x-request-id", "r1"},
                                           {"set-cookie", "a=1"},
                                           {"set-cookie", "b=2"},
                                           {"content-length", "5"}}));
  EXPECT_EQ(answer->head.header("Set-Cookie"), "a=1");
  EXPECT_EQ(answer->head.content_length, 5u);
  EXPECT_EQ(answer->body, "hello");
  EXPECT_TRUE(answer->keep_alive);
}

TEST(UpstreamAnswerTest, ChunkedBodiesAreDecodedAndKeepTheConnection) {
  const std::string big(40000, 'x');  // more than one piece
  std::string bytes = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n";
  bytes += fmt_hex(big.size()) + "\r\n" + big + "\r\n0\r\nTrailer-Field: t\r\n\r\n";
  Result<UpstreamAnswer> answer = parse_upstream_answer(bytes);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->body, "abc" + big);
  EXPECT_FALSE(answer->head.content_length);
  EXPECT_TRUE(answer->keep_alive);
}

TEST(UpstreamAnswerTest, WhatEndsTheConnectionIsNotKeptAlive) {
  Result<UpstreamAnswer> until_close =
      parse_upstream_answer("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nread until close");
  ASSERT_TRUE(until_close.ok()) << until_close.error().message;
  EXPECT_EQ(until_close->body, "read until close");
  EXPECT_FALSE(until_close->keep_alive);

  Result<UpstreamAnswer> closing =
      parse_upstream_answer("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_TRUE(closing.ok());
  EXPECT_EQ(closing->body, "ok");
  EXPECT_FALSE(closing->keep_alive);

  Result<UpstreamAnswer> old =
      parse_upstream_answer("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_TRUE(old.ok());
  EXPECT_FALSE(old->keep_alive);
}

TEST(UpstreamAnswerTest, AHeadAnswerHasNoBodyWhateverItsLengthSays) {
  Result<UpstreamAnswer> answer = parse_upstream_answer(
      "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", 64 * 1024, /*head_only=*/true);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->head.content_length, 50u);
  EXPECT_EQ(answer->body, "");
  EXPECT_TRUE(answer->keep_alive);
}

TEST(UpstreamAnswerTest, NoContentAndNotModifiedHaveNoBodyWhateverTheirLengthSays) {
  for (const char* status : {"204 No Content", "304 Not Modified"}) {
    Result<UpstreamAnswer> answer =
        parse_upstream_answer(std::string("HTTP/1.1 ") + status + "\r\nContent-Length: 5\r\n\r\n");
    ASSERT_TRUE(answer.ok()) << answer.error().message;
    EXPECT_EQ(answer->head.content_length, 0u) << status;
    EXPECT_EQ(answer->body, "");
    EXPECT_TRUE(answer->keep_alive);
  }
}

TEST(UpstreamAnswerTest, BadAnswersAreProtocolErrorsAndCutOnesNetworkErrors) {
  struct Case {
    std::string bytes;
    ErrorKind kind;
  };
  std::string many_interim;
  for (int index = 0; index < 10; ++index) many_interim += "HTTP/1.1 100 Continue\r\n\r\n";
  const std::vector<Case> cases = {
      {"", ErrorKind::kNetwork},
      {"HTTP/1.1 200 OK\r\nContent-Len", ErrorKind::kNetwork},
      {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", ErrorKind::kNetwork},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", ErrorKind::kNetwork},
      {"HTTP/1.1 2x0 Nope\r\n\r\n", ErrorKind::kProtocol},
      {"HTTP/1.1 020 Low\r\nContent-Length: 0\r\n\r\n", ErrorKind::kProtocol},
      {"HTTP/1.1 600 High\r\nContent-Length: 0\r\n\r\n", ErrorKind::kProtocol},
      {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", ErrorKind::kProtocol},
      {"SSH-2.0-OpenSSH\r\n\r\n", ErrorKind::kProtocol},
      {"HTTP/1.1 200 OK\r\nBad Name: v\r\n\r\n", ErrorKind::kProtocol},
      {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", ErrorKind::kProtocol},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
       ErrorKind::kProtocol},
      {"HTTP/1.1 200 OK\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n", ErrorKind::kProtocol},
      {many_interim + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", ErrorKind::kProtocol},
  };
  for (const Case& bad : cases) {
    Result<UpstreamAnswer> answer = parse_upstream_answer(bad.bytes, 1024);
    ASSERT_FALSE(answer.ok()) << bad.bytes.substr(0, 80);
    EXPECT_EQ(answer.error().kind, bad.kind)
        << bad.bytes.substr(0, 80) << ": " << answer.error().message;
  }
}

TEST(UpstreamClientTest, InterimAnswersAreSkippedOnTheWireAndTheConnectionIsReused) {
  ScriptedUpstream upstream([&](int fd, int) {
    read_request(fd);
    send_all(fd,
             "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nX-B: 1\r\nx-a: 2\r\n"
             "Content-Length: 4\r\n\r\nwait");
    read_request(fd);
    send_all(fd, ok_response("second"));
    wait_for_close(fd);
  });
  asio::io_context io;
  auto pool = make_pool();
  ASSERT_TRUE(pool);
  Headers first_headers;
  Answer first;
  Answer second;
  ASSERT_TRUE(run(io, [&]() -> asio::awaitable<void> {
    {
      auto exchange = co_await pool->send(get(upstream.url()));
      if (exchange.ok()) {
        first_headers = (*exchange)->head().headers;
        first.status = (*exchange)->head().status;
        for (auto piece = co_await (*exchange)->read_some(); piece.ok() && *piece;
             piece = co_await (*exchange)->read_some()) {
          first.body += **piece;
        }
      }
    }  // the exchange returns its connection to the pool
    second = co_await fetch(*pool, get(upstream.url()));
  }()));
  ASSERT_TRUE(first.status.ok());
  EXPECT_EQ(*first.status, 202);
  EXPECT_EQ(first_headers, (Headers{{"x-b", "1"}, {"x-a", "2"}, {"content-length", "4"}}));
  EXPECT_EQ(first.body, "wait");
  ASSERT_TRUE(second.status.ok()) << second.status.error().message;
  EXPECT_EQ(second.body, "second");
  EXPECT_EQ(upstream.connections(), 1);
}

TEST(UpstreamClientTest, OversizedOrMalformedResponseHeadIsAProtocolError) {
  ScriptedUpstream upstream([&](int fd, int index) {
    read_request(fd);
    if (index == 0) {
      send_all(fd, "HTTP/1.1 200 OK\r\nX-Big: " + std::string(4096, 'a') +
                       "\r\nContent-Length: 0\r\n\r\n");
    } else {
      send_all(fd, "HTTP/1.1 2x0 Nope\r\n\r\n");
    }
  });
  asio::io_context io;
  UpstreamOptions options = fast_options();
  options.max_header_bytes = 1024;
  auto pool = make_pool(options);
  ASSERT_TRUE(pool);
  Answer oversized;
  Answer malformed;
  ASSERT_TRUE(run(io, [&]() -> asio::awaitable<void> {
    oversized = co_await fetch(*pool, get(upstream.url()));
    malformed = co_await fetch(*pool, get(upstream.url()));
  }()));
  ASSERT_FALSE(oversized.status.ok());
  EXPECT_EQ(oversized.status.error().kind, ErrorKind::kProtocol);
  EXPECT_NE(oversized.status.error().message.find("larger than 1024"), std::string::npos);
  ASSERT_FALSE(malformed.status.ok());
  EXPECT_EQ(malformed.status.error().kind, ErrorKind::kProtocol);
}

}  // namespace
}  // namespace joey::cloud
JOEY_COROUTINES_END
