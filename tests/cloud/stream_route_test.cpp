// Stream routes through the real transport on 127.0.0.1: pieces reach the client as they
// are written (proved by handshakes: the handler writes piece N+1 only after the client
// has received piece N), chunked and Content-Length bodies, keep-alive and pipelining
// after a stream, HTTPS, client disconnects seen while the handler waits, a slow reader
// bounding the producer, the error boundary, the router's checks and graceful stop.
// Every wait is bounded in count and time; nothing asserts a duration.
#include "cloud/stream_route.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "base/ids.h"
#include "base/json.h"
#include "base/subprocess.h"
#include "cloud/http_server.h"
#include "cloud/raw_socket.h"
#include "cloud/test_certificate.h"

JOEY_COROUTINES_BEGIN
namespace joey::cloud {
namespace {

using namespace std::chrono_literals;

constexpr auto kWaitLimit = 5s;  // bounds every wait on a socket or a flag

// ---- raw sockets ----

struct ReadOutcome {
  std::string data;
  bool closed = false;  // the server closed (EOF or reset)
};

// Reads into `outcome` until `done(data)` holds, the peer closes, or kWaitLimit.
void read_until(int fd, ReadOutcome& outcome, const std::function<bool(const std::string&)>& done) {
  auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
  while (!done(outcome.data) && std::chrono::steady_clock::now() < deadline) {
    pollfd poll_fd{fd, POLLIN, 0};
    if (::poll(&poll_fd, 1, 50) <= 0) continue;
    char buffer[8192];
    ssize_t got = ::recv(fd, buffer, sizeof(buffer), 0);
    if (got <= 0) {
      outcome.closed = true;
      return;
    }
    outcome.data.append(buffer, static_cast<size_t>(got));
  }
}

auto contains(std::string needle) {
  return [needle](const std::string& data) { return data.find(needle) != std::string::npos; };
}

size_t count_of(const std::string& text, std::string_view needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

// ---- libcurl ----

struct CurlClient {
  std::string body;
  std::string headers;
  std::atomic<int> pieces{0};  // "piece-" markers received so far
};

size_t on_body(char* data, size_t size, size_t count, void* target) {
  auto* client = static_cast<CurlClient*>(target);
  client->body.append(data, size * count);
  client->pieces = static_cast<int>(count_of(client->body, "piece-"));
  return size * count;
}

size_t on_header(char* data, size_t size, size_t count, void* target) {
  static_cast<CurlClient*>(target)->headers.append(data, size * count);
  return size * count;
}

struct CurlResult {
  CURLcode code = CURLE_OK;
  long status = 0;
  long new_connections = -1;
};

CurlResult perform(CURL* curl, const std::string& method, const std::string& url,
                   CurlClient& client, const std::string& body = "",
                   const std::vector<std::string>& headers = {}) {
  client.body.clear();
  client.headers.clear();
  client.pieces = 0;
  curl_slist* list = nullptr;
  for (const std::string& header : headers) list = curl_slist_append(list, header.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &client);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &client);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  } else {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  }
  CurlResult result;
  result.code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &result.new_connections);
  curl_slist_free_all(list);
  return result;
}

// ---- handler helpers ----

// Waits on the handler's executor (without blocking it) until `condition` holds, polling;
// false after kWaitLimit. This is the handshake, not a timing: a missed condition fails
// the test through what the client then receives.
asio::awaitable<bool> wait_until(std::function<bool()> condition) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (int round = 0; round < 1000 && !condition(); ++round) {
    timer.expires_after(5ms);
    boost::system::error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  co_return condition();
}

bool wait_in_test(const std::function<bool()>& condition) {
  for (int round = 0; round < 1000 && !condition(); ++round) std::this_thread::sleep_for(5ms);
  return condition();
}

std::string piece(int number) { return "data: piece-" + std::to_string(number) + "\n\n"; }

ServerOptions fast_options() {
  ServerOptions options;
  options.port = 0;
  options.threads = 2;
  options.header_timeout = 2s;
  options.body_idle_timeout = 300ms;
  options.body_timeout = 2s;
  options.write_timeout = 2s;
  options.drain_timeout = 3s;
  return options;
}

class StreamRouteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_ = std::make_shared<Router>();
    metrics_ = std::make_shared<HttpMetrics>(registry_);
    router_->add("GET", "/plain", [](const HttpRequest&) -> Result<HttpResponse> {
      return HttpResponse::json(200, {{"plain", true}});
    });
    // Writes three pieces; piece N+1 only once the client has received piece N.
    add_stream(
        "GET", "/stream/{mode}",
        [this](HttpRequest& request, ResponseStream& response) -> asio::awaitable<void> {
          std::optional<uint64_t> length;
          if (request.path_param("mode") == "length") length = 3 * piece(1).size();
          // A named vector: g++ 12 miscompiles a braced list inside co_await.
          std::vector<std::pair<std::string, std::string>> headers;
          headers.emplace_back("Cache-Control", "no-cache");
          Status begun =
              co_await response.begin(200, "text/event-stream", std::move(headers), length);
          if (!begun.ok()) co_return;
          for (int number = 1; number <= 3; ++number) {
            if (number > 1 && !co_await wait_until([&] { return client_.pieces >= number - 1; })) {
              co_return;  // the client never saw the previous piece: no end()
            }
            std::string text = piece(number);
            if (!(co_await response.write(text)).ok()) co_return;
          }
          Status ended = co_await response.end();
          ended_ok_ = ended.ok();
        });
  }

  void add_stream(std::string method, std::string path, StreamHandler handler,
                  RouteOptions options = {}) {
    router_->add_stream(std::move(method), std::move(path),
                        std::make_shared<const StreamRoute>(std::move(handler)), options);
  }

  // GET /gated: held open until release_ (while the watcher reads what the client sends
  // meanwhile), then answers piece 1 whole. gated_entered_ once the handler runs.
  void add_gated_stream() {
    add_stream("GET", "/gated",
               [this](HttpRequest&, ResponseStream& response) -> asio::awaitable<void> {
                 gated_entered_ = true;
                 if (!co_await wait_until([&] { return release_.load(); })) co_return;
                 std::string text = piece(1);
                 Status done = co_await response.respond(HttpResponse::text(200, text));
                 ended_ok_ = done.ok();
               });
  }

  void start(ServerOptions options = fast_options()) {
    Result<std::unique_ptr<HttpServer>> server = HttpServer::create(options, router_, metrics_);
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(server).value();
    server_->start();
  }

  std::string url(const std::string& path) const { return server_->url() + path; }

  MetricsRegistry registry_;
  std::shared_ptr<Router> router_;
  std::shared_ptr<HttpMetrics> metrics_;
  std::unique_ptr<HttpServer> server_;
  CurlClient client_;
  std::atomic<bool> ended_ok_{false};
  std::atomic<bool> handler_done_{false};
  std::atomic<bool> release_{false};
  std::atomic<bool> gated_entered_{false};
  std::atomic<bool> gone_called_{false};
};

TEST_F(StreamRouteTest, ChunkedPiecesReachTheClientBeforeTheNextIsWritten) {
  start();
  CURL* curl = curl_easy_init();
  CurlResult result = perform(curl, "GET", url("/stream/chunked"), client_);
  curl_easy_cleanup(curl);
  ASSERT_EQ(result.code, CURLE_OK) << curl_easy_strerror(result.code);
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(client_.body, piece(1) + piece(2) + piece(3));
  EXPECT_NE(client_.headers.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(client_.headers.find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_NE(client_.headers.find("Cache-Control: no-cache"), std::string::npos);
  // The client may finish before the handler resumes from end(), and the status is
  // counted once the handler has returned and the disconnect watcher has stopped.
  EXPECT_TRUE(wait_in_test([&] { return ended_ok_.load(); }));
  const std::string counted =
      "joeyd_http_requests_total{route=\"/stream/{mode}\",method=\"GET\",status=\"200\"} 1";
  EXPECT_TRUE(wait_in_test([&] { return registry_.render().find(counted) != std::string::npos; }))
      << registry_.render();
}

TEST_F(StreamRouteTest, ContentLengthBodyStreamsAndKeepAliveServesTheNextRequests) {
  start();
  CURL* curl = curl_easy_init();
  CurlResult chunked = perform(curl, "GET", url("/stream/chunked"), client_);
  std::string chunked_body = client_.body;
  CurlResult length = perform(curl, "GET", url("/stream/length"), client_);
  std::string length_body = client_.body;
  std::string length_headers = client_.headers;
  CurlResult plain = perform(curl, "GET", url("/plain"), client_);
  curl_easy_cleanup(curl);
  ASSERT_EQ(chunked.code, CURLE_OK);
  ASSERT_EQ(length.code, CURLE_OK);
  ASSERT_EQ(plain.code, CURLE_OK);
  EXPECT_EQ(chunked_body, piece(1) + piece(2) + piece(3));
  EXPECT_EQ(length_body, piece(1) + piece(2) + piece(3));
  EXPECT_NE(length_headers.find("Content-Length: " + std::to_string(3 * piece(1).size())),
            std::string::npos);
  EXPECT_EQ(length_headers.find("chunked"), std::string::npos);
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(chunked.new_connections, 1);
  EXPECT_EQ(length.new_connections, 0);
  EXPECT_EQ(plain.new_connections, 0);
}

TEST_F(StreamRouteTest, BodyBytesGivenToBeginFollowTheHeadOnEveryBodyMode) {
  std::atomic<int> misuse_kind{-1};
  add_stream(
      "GET", "/first/{mode}",
      [&misuse_kind](HttpRequest& request, ResponseStream& response) -> asio::awaitable<void> {
        const std::string mode(request.path_param("mode"));
        std::optional<uint64_t> length;
        if (mode == "length") length = 11;
        if (mode == "too-long") length = 3;
        const std::string first = "hello ";
        std::vector<std::pair<std::string, std::string>> headers;
        Status begun =
            co_await response.begin(200, "application/json", std::move(headers), length, first);
        if (!begun.ok()) {
          misuse_kind = static_cast<int>(begun.error().kind);
          co_return;
        }
        const std::string rest = mode == "only" ? "" : "world";
        if (!rest.empty() && !(co_await response.write(rest)).ok()) co_return;
        (void)co_await response.end();
      });
  start();
  CURL* curl = curl_easy_init();
  CurlResult chunked = perform(curl, "GET", url("/first/chunked"), client_);
  const std::string chunked_body = client_.body;
  const std::string chunked_headers = client_.headers;
  CurlResult length = perform(curl, "GET", url("/first/length"), client_);
  const std::string length_body = client_.body;
  const std::string length_headers = client_.headers;
  CurlResult only = perform(curl, "GET", url("/first/only"), client_);
  const std::string only_body = client_.body;
  CurlResult too_long = perform(curl, "GET", url("/first/too-long"), client_);
  curl_easy_cleanup(curl);
  ASSERT_EQ(chunked.code, CURLE_OK);
  ASSERT_EQ(length.code, CURLE_OK);
  ASSERT_EQ(only.code, CURLE_OK);
  ASSERT_EQ(too_long.code, CURLE_OK);
  EXPECT_EQ(chunked_body, "hello world");
  EXPECT_NE(chunked_headers.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_EQ(length_body, "hello world");
  EXPECT_NE(length_headers.find("Content-Length: 11"), std::string::npos);
  EXPECT_EQ(only_body, "hello ");
  // The connection served all four: the first bytes never broke the framing.
  EXPECT_EQ(length.new_connections, 0);
  EXPECT_EQ(only.new_connections, 0);
  // More first bytes than the promised length is a handler bug: nothing was sent, so the
  // client gets the generic 500.
  EXPECT_EQ(misuse_kind.load(), static_cast<int>(ErrorKind::kInternal));
  EXPECT_EQ(too_long.status, 500);
}

// joeyd writes a streamed response's head itself: byte for byte, with the server's
// framing (a handler's own Content-Length or Connection is dropped) and Connection as
// each HTTP version wants it.
TEST_F(StreamRouteTest, StreamedHeadsAreExactForEachVersionAndFraming) {
  add_stream("GET", "/head/{mode}",
             [](HttpRequest& request, ResponseStream& response) -> asio::awaitable<void> {
               std::optional<uint64_t> length;
               if (request.path_param("mode") == "length") length = 5;
               std::vector<std::pair<std::string, std::string>> headers;
               headers.emplace_back("X-Request-Id", "req-1");
               headers.emplace_back("Content-Length", "999");
               headers.emplace_back("connection", "upgrade");
               Status begun = co_await response.begin(202, "application/json", std::move(headers),
                                                      length, "hello");
               if (begun.ok() && !length) (void)co_await response.end();
             });
  start();
  auto head_of = [this](const std::string& request) {
    int fd = connect_to(server_->port());
    EXPECT_GE(fd, 0);
    if (fd < 0) return std::string();
    EXPECT_TRUE(send_all(fd, request));
    ReadOutcome outcome;
    read_until(fd, outcome,
               [](const std::string& data) { return data.find("hello") != std::string::npos; });
    ::close(fd);
    return outcome.data.substr(0, outcome.data.find("\r\n\r\n") + 4);
  };
  const std::string common =
      "Server: joeyd\r\nContent-Type: application/json\r\nX-Content-Type-Options: "
      "nosniff\r\nX-Request-Id: req-1\r\n";
  EXPECT_EQ(head_of("GET /head/length HTTP/1.1\r\nHost: x\r\n\r\n"),
            "HTTP/1.1 202 Accepted\r\n" + common + "Content-Length: 5\r\n\r\n");
  EXPECT_EQ(head_of("GET /head/chunked HTTP/1.1\r\nHost: x\r\n\r\n"),
            "HTTP/1.1 202 Accepted\r\n" + common + "Transfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(
      head_of("GET /head/length HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
      "HTTP/1.1 202 Accepted\r\n" + common + "Content-Length: 5\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(
      head_of("GET /head/length HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"),
      "HTTP/1.0 202 Accepted\r\n" + common + "Content-Length: 5\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(head_of("GET /head/length HTTP/1.0\r\nHost: x\r\n\r\n"),
            "HTTP/1.0 202 Accepted\r\n" + common + "Content-Length: 5\r\n\r\n");
  EXPECT_EQ(head_of("GET /head/chunked HTTP/1.0\r\nHost: x\r\n\r\n"),
            "HTTP/1.0 202 Accepted\r\n" + common + "\r\n");
}

TEST_F(StreamRouteTest, StreamIdleLongerThanWriteTimeoutStaysOpen) {
  ServerOptions options = fast_options();
  options.write_timeout = 100ms;  // bounds each write, not the wait between writes
  start(options);
  int fd = connect_to(server_->port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "GET /stream/chunked HTTP/1.1\r\nHost: x\r\n\r\n"));
  ReadOutcome outcome;
  read_until(fd, outcome, contains("piece-1"));
  // The handler now waits for client_.pieces; hold it idle for several write timeouts.
  std::this_thread::sleep_for(500ms);
  client_.pieces = 2;
  read_until(fd, outcome, contains("\r\n0\r\n\r\n"));
  ::close(fd);
  EXPECT_NE(outcome.data.find("piece-3"), std::string::npos) << outcome.data;
  EXPECT_FALSE(outcome.closed);
}

TEST_F(StreamRouteTest, PipelinedRequestReadByTheWatcherIsServedAfterTheStream) {
  add_gated_stream();
  start();
  int fd = connect_to(server_->port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd,
                       "GET /gated HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  release_ = true;
  ReadOutcome outcome;
  read_until(fd, outcome, [](const std::string&) { return false; });
  ::close(fd);
  EXPECT_TRUE(outcome.closed);
  EXPECT_EQ(count_of(outcome.data, "HTTP/1.1 200 OK"), 2u) << outcome.data;
  EXPECT_NE(outcome.data.find("piece-1"), std::string::npos);
  EXPECT_NE(outcome.data.find("{\"plain\":true}"), std::string::npos);
}

// The watcher starts before the next request arrives, here 20 KiB of it (more than one
// of the watcher's reads takes): it reads all of it as it comes, and the request is
// served whole after the stream.
TEST_F(StreamRouteTest, APipelinedRequestSentWhileTheHandlerWaitsIsServedAfterIt) {
  add_gated_stream();
  router_->add("POST", "/size", [](const HttpRequest& request) -> Result<HttpResponse> {
    return HttpResponse::json(200, {{"size", request.body.size()}});
  });
  start();
  int fd = connect_to(server_->port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "GET /gated HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(wait_in_test([&] { return gated_entered_.load(); }));
  const std::string body = "\"" + std::string(20 * 1024, 'a') + "\"";
  ASSERT_TRUE(send_all(fd,
                       "POST /size HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Connection: close\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body));
  // Time for the watcher to read it all before the handler answers.
  std::this_thread::sleep_for(100ms);
  release_ = true;
  ReadOutcome outcome;
  read_until(fd, outcome, [](const std::string&) { return false; });
  ::close(fd);
  EXPECT_TRUE(outcome.closed);
  EXPECT_EQ(count_of(outcome.data, "HTTP/1.1 200 OK"), 2u) << outcome.data;
  EXPECT_NE(outcome.data.find("piece-1"), std::string::npos);
  EXPECT_NE(outcome.data.find("{\"size\":" + std::to_string(body.size()) + "}"), std::string::npos)
      << outcome.data;
}

TEST_F(StreamRouteTest, ClientDisconnectIsReportedWhileTheHandlerWaits) {
  std::atomic<bool> gone_before_write{false};
  std::atomic<int> late_write_kind{-1};
  add_stream("GET", "/watched",
             [&, this](HttpRequest&, ResponseStream& response) -> asio::awaitable<void> {
               response.on_client_gone([this] { gone_called_ = true; });
               std::string first = piece(1);
               if ((co_await response.begin(200, "text/event-stream")).ok() &&
                   (co_await response.write(first)).ok()) {
                 // Waiting on something else (as the proxy waits on upstream bytes).
                 co_await wait_until([this] { return gone_called_.load(); });
                 gone_before_write = gone_called_.load() && response.client_gone();
                 std::string second = piece(2);
                 Status late = co_await response.write(second);
                 if (!late.ok()) late_write_kind = static_cast<int>(late.error().kind);
               }
               handler_done_ = true;
             });
  start();
  int fd = connect_to(server_->port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "GET /watched HTTP/1.1\r\nHost: x\r\n\r\n"));
  ReadOutcome outcome;
  read_until(fd, outcome, contains("piece-1"));
  ASSERT_NE(outcome.data.find("piece-1"), std::string::npos);
  ::close(fd);
  ASSERT_TRUE(wait_in_test([&] { return handler_done_.load(); }));
  EXPECT_TRUE(gone_before_write);
  EXPECT_EQ(late_write_kind, static_cast<int>(ErrorKind::kCancelled));
  // The server goes on serving others.
  CURL* curl = curl_easy_init();
  CurlResult plain = perform(curl, "GET", url("/plain"), client_);
  curl_easy_cleanup(curl);
  EXPECT_EQ(plain.status, 200);
}

TEST_F(StreamRouteTest, SlowReaderBlocksTheWriterUntilWriteTimeout) {
  constexpr size_t kPiece = 64 * 1024;
  constexpr size_t kTotal = 64 * 1024 * 1024;
  std::atomic<size_t> written{0};
  std::atomic<int> failure_kind{-1};
  add_stream("GET", "/flood",
             [&, this](HttpRequest&, ResponseStream& response) -> asio::awaitable<void> {
               std::string block(kPiece, 'x');
               if ((co_await response.begin(200, "application/octet-stream")).ok()) {
                 while (written < kTotal) {
                   Status status = co_await response.write(block);
                   if (!status.ok()) {
                     failure_kind = static_cast<int>(status.error().kind);
                     break;
                   }
                   written += kPiece;
                 }
               }
               handler_done_ = true;
             });
  ServerOptions options = fast_options();
  options.write_timeout = 500ms;
  start(options);
  int fd = connect_to(server_->port(), /*receive_buffer=*/64 * 1024);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "GET /flood HTTP/1.1\r\nHost: x\r\n\r\n"));
  // The client reads nothing.
  bool done = wait_in_test([&] { return handler_done_.load(); });
  ::close(fd);
  ASSERT_TRUE(done) << "the handler never stopped (" << written << " bytes written)";
  EXPECT_EQ(failure_kind, static_cast<int>(ErrorKind::kTimeout));
  EXPECT_GT(written, 0u);
  EXPECT_LT(written, 16u * 1024 * 1024) << "the producer ran ahead of the socket";
}

TEST_F(StreamRouteTest, ErrorsBeforeBeginBecome500AndAfterBeginCutTheBody) {
  add_stream("GET", "/throw-early", [](HttpRequest&, ResponseStream&) -> asio::awaitable<void> {
    throw std::runtime_error("early detail 5c1d");
    co_return;
  });
  add_stream("GET", "/silent",
             [](HttpRequest&, ResponseStream&) -> asio::awaitable<void> { co_return; });
  add_stream("GET", "/throw-late",
             [](HttpRequest&, ResponseStream& response) -> asio::awaitable<void> {
               std::string first = piece(1);
               if ((co_await response.begin(200, "text/event-stream")).ok()) {
                 (void)co_await response.write(first);
               }
               throw std::runtime_error("late detail");
             });
  start();
  CURL* curl = curl_easy_init();
  CurlResult early = perform(curl, "GET", url("/throw-early"), client_);
  std::string early_body = client_.body;
  CurlResult silent = perform(curl, "GET", url("/silent"), client_);
  std::string silent_body = client_.body;
  curl_easy_cleanup(curl);
  EXPECT_EQ(early.status, 500);
  EXPECT_EQ(parse_json(early_body)["error"]["code"], "internal");
  EXPECT_EQ(early_body.find("5c1d"), std::string::npos);
  EXPECT_EQ(silent.status, 500);
  EXPECT_EQ(parse_json(silent_body)["error"]["code"], "internal");
  EXPECT_EQ(early.new_connections + silent.new_connections, 1) << "a 500 keeps the connection";

  int fd = connect_to(server_->port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "GET /throw-late HTTP/1.1\r\nHost: x\r\n\r\n"));
  ReadOutcome late;
  read_until(fd, late, [](const std::string&) { return false; });
  ::close(fd);
  EXPECT_TRUE(late.closed);
  EXPECT_NE(late.data.find("piece-1"), std::string::npos);
  EXPECT_EQ(late.data.find("\r\n0\r\n\r\n"), std::string::npos) << "the body must look cut";
}

// The transport's own 500 speaks the error dialect of the stream's path, as the router's
// refusals do.
TEST_F(StreamRouteTest, TheTransportsOwn500SpeaksThePathsDialect) {
  add_stream("GET", "/dialect/silent",
             [](HttpRequest&, ResponseStream&) -> asio::awaitable<void> { co_return; });
  router_->set_error_dialect("/dialect/", [](std::string_view raw_path, const HeaderFields&,
                                             int status, std::string_view code,
                                             std::string_view message) {
    return HttpResponse::json(status, {{"shaped", raw_path}, {"code", code}, {"said", message}});
  });
  start();
  CURL* curl = curl_easy_init();
  CurlResult silent = perform(curl, "GET", url("/dialect/silent"), client_);
  curl_easy_cleanup(curl);
  EXPECT_EQ(silent.status, 500);
  const nlohmann::json body = parse_json(client_.body);
  EXPECT_EQ(body["shaped"], "/dialect/silent") << client_.body;
  EXPECT_EQ(body["code"], "internal");
}

TEST_F(StreamRouteTest, RouterChecksApplyBeforeTheStreamHandlerRuns) {
  std::atomic<int> runs{0};
  RouteOptions small;
  small.max_body_bytes = 1024;
  add_stream(
      "POST", "/items/{id}/stream",
      [&](HttpRequest& request, ResponseStream& response) -> asio::awaitable<void> {
        ++runs;
        nlohmann::json echo = {{"route", request.route},
                               {"id", request.path_param("id")},
                               {"body", parse_json(request.body)}};
        HttpResponse answer = HttpResponse::json(200, echo);
        (void)co_await response.respond(std::move(answer));
      },
      small);
  start();
  int fd = connect_to(server_->port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd,
                       "POST /items/a/stream HTTP/1.1\r\nHost: x\r\nContent-Type: "
                       "application/json\r\nContent-Length: 50000\r\n\r\n"));
  ReadOutcome oversized;
  read_until(fd, oversized, [](const std::string&) { return false; });
  ::close(fd);
  EXPECT_EQ(oversized.data.rfind("HTTP/1.1 413", 0), 0u) << oversized.data;

  CURL* curl = curl_easy_init();
  CurlResult wrong_type =
      perform(curl, "POST", url("/items/a/stream"), client_, "{}", {"Content-Type: text/plain"});
  EXPECT_EQ(wrong_type.status, 415);
  CurlResult wrong_method = perform(curl, "GET", url("/items/a/stream"), client_);
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(runs, 0);
  CurlResult ok = perform(curl, "POST", url("/items/a%20b/stream"), client_, R"({"n":1})",
                          {"Content-Type: application/json"});
  curl_easy_cleanup(curl);
  EXPECT_EQ(ok.status, 200);
  nlohmann::json body = parse_json(client_.body);
  EXPECT_EQ(body["route"], "/items/{id}/stream");
  EXPECT_EQ(body["id"], "a b");
  EXPECT_EQ(body["body"]["n"], 1);
  EXPECT_EQ(runs, 1);
  bool listed = false;
  for (const auto& [method, path] : router_->routes()) {
    listed = listed || (method == "POST" && path == "/items/{id}/stream");
  }
  EXPECT_TRUE(listed);
}

TEST(StreamRouterTest, HandleWithoutATransportRefusesAStreamRouteAfterItsChecks) {
  Router router;
  router.add_stream("POST", "/s",
                    std::make_shared<const StreamRoute>(
                        [](HttpRequest&, ResponseStream&) -> asio::awaitable<void> { co_return; }));
  HttpRequest request;
  request.method = "POST";
  request.body = "x";
  request.headers.emplace_back("content-type", "text/plain");
  RouteMatch match = router.match("POST", "/s");
  EXPECT_TRUE(match.stream);
  EXPECT_EQ(router.handle(request, "/s").status, 415);
  StreamDispatch refused = router.dispatch_stream(request, "/s", match);
  EXPECT_EQ(refused.route, nullptr);
  EXPECT_EQ(refused.refusal.status, 415);
  request.headers.clear();
  request.body.clear();
  EXPECT_EQ(router.handle(request, "/s").status, 500);
  EXPECT_NE(router.dispatch_stream(request, "/s", match).route, nullptr);
}

TEST_F(StreamRouteTest, GracefulStopLetsAStreamInFlightFinish) {
  add_stream("GET", "/long",
             [this](HttpRequest&, ResponseStream& response) -> asio::awaitable<void> {
               std::string first = piece(1);
               std::string second = piece(2);
               if (!(co_await response.begin(200, "text/event-stream")).ok()) co_return;
               if (!(co_await response.write(first)).ok()) co_return;
               if (!co_await wait_until([this] { return release_.load(); })) co_return;
               if (!(co_await response.write(second)).ok()) co_return;
               ended_ok_ = (co_await response.end()).ok();
             });
  start();
  CurlResult result;
  std::thread client([&] {
    CURL* curl = curl_easy_init();
    result = perform(curl, "GET", url("/long"), client_);
    curl_easy_cleanup(curl);
  });
  ASSERT_TRUE(wait_in_test([&] { return client_.pieces >= 1; }));
  server_->stop();
  bool refused = wait_in_test([&] {
    int fd = connect_to(server_->port());
    if (fd >= 0) ::close(fd);
    return fd < 0;
  });
  release_ = true;
  client.join();
  server_->wait();
  EXPECT_TRUE(refused);
  EXPECT_EQ(result.code, CURLE_OK);
  EXPECT_EQ(client_.body, piece(1) + piece(2));
  EXPECT_TRUE(ended_ok_);  // wait() returned: every handler has finished
}

TEST_F(StreamRouteTest, DrainTimeoutClosesAStuckStreamAndTellsTheHandler) {
  add_stream("GET", "/stuck",
             [this](HttpRequest&, ResponseStream& response) -> asio::awaitable<void> {
               response.on_client_gone([this] { gone_called_ = true; });
               std::string first = piece(1);
               if ((co_await response.begin(200, "text/event-stream")).ok() &&
                   (co_await response.write(first)).ok()) {
                 co_await wait_until([this] { return gone_called_.load(); });
               }
               handler_done_ = true;
             });
  ServerOptions options = fast_options();
  options.drain_timeout = 200ms;
  start(options);
  int fd = connect_to(server_->port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n"));
  ReadOutcome outcome;
  read_until(fd, outcome, contains("piece-1"));
  server_->stop();
  server_->wait();
  read_until(fd, outcome, [](const std::string&) { return false; });
  ::close(fd);
  EXPECT_TRUE(outcome.closed);
  EXPECT_TRUE(gone_called_);
  EXPECT_TRUE(handler_done_);
}

// ---- TLS ----

TEST_F(StreamRouteTest, StreamsOverHttpsAndKeepsTheConnection) {
  TestCertificate files;
  ASSERT_TRUE(files.ok()) << "openssl could not make a test certificate";
  ServerOptions options = fast_options();
  options.tls = TlsFiles{files.certificate(), files.key()};
  start(options);
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_CAINFO, files.certificate().c_str());
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  CurlResult streamed = perform(curl, "GET", url("/stream/chunked"), client_);
  std::string streamed_body = client_.body;
  CurlResult plain = perform(curl, "GET", url("/plain"), client_);
  curl_easy_cleanup(curl);
  ASSERT_EQ(streamed.code, CURLE_OK) << curl_easy_strerror(streamed.code);
  EXPECT_EQ(streamed_body, piece(1) + piece(2) + piece(3));
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.new_connections, 0);
}

}  // namespace
}  // namespace joey::cloud
JOEY_COROUTINES_END
