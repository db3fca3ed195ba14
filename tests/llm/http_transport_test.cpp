#include "llm/http_transport.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/redact.h"
#include "base/subprocess.h"
#include "llm/egress_log.h"
#include "llm/model_client.h"
#include "llm/provider.h"

namespace joey::llm {
namespace {

namespace fs = std::filesystem;

// A socket listening on 127.0.0.1 on a free port.
int listen_on_loopback(int& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) return -1;
  if (::listen(fd, 4) != 0) return -1;
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  port = ntohs(address.sin_port);
  return fd;
}

// Answers one HTTP request with 200 "ok" and keeps what it received.
class OneShotServer {
 public:
  OneShotServer() {
    fd_ = listen_on_loopback(port_);
    thread_ = std::thread([this] { serve(); });
  }
  ~OneShotServer() {
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  const std::string& received() const { return received_; }

 private:
  void serve() {
    const int client = ::accept(fd_, nullptr, nullptr);
    if (client < 0) return;
    char buffer[4096];
    while (true) {
      const ssize_t count = ::read(client, buffer, sizeof(buffer));
      if (count <= 0) break;
      received_.append(buffer, static_cast<size_t>(count));
      const size_t head_end = received_.find("\r\n\r\n");
      if (head_end == std::string::npos) continue;
      const size_t length_at = received_.find("Content-Length: ");
      const size_t length =
          length_at == std::string::npos ? 0 : std::stoul(received_.substr(length_at + 16));
      if (received_.size() >= head_end + 4 + length) break;
    }
    const std::string response =
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    (void)::write(client, response.data(), response.size());
    ::close(client);
  }

  int fd_ = -1;
  int port_ = 0;
  std::string received_;
  std::thread thread_;
};

class HttpTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/joey-transport-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    log_ = std::make_shared<EgressLog>(dir_ / "egress.log");
  }
  void TearDown() override {
    set_default_egress_log(nullptr);
    fs::remove_all(dir_);
  }

  std::vector<std::string> egress_lines() {
    std::ifstream in(log_->path());
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  fs::path dir_;
  std::shared_ptr<EgressLog> log_;
};

TEST_F(HttpTransportTest, RecordsEachRequestWithoutBodyHeadersOrQuery) {
  OneShotServer server;
  TransportOptions options;
  options.egress_log = log_;
  auto transport = make_curl_transport(nullptr, options);
  HttpRequest request;
  request.url = "http://user:pw@127.0.0.1:" + std::to_string(server.port()) +
                "/v1/chat?canary=query-canary-123";
  request.headers = {{"Authorization", "Bearer header-canary-456"}};
  request.body = "{\"text\":\"body-canary-789\"}";
  request.purpose = "model";
  std::string body;
  HttpCallbacks callbacks;
  callbacks.on_body = [&body](std::string_view chunk) {
    body.append(chunk);
    return ok_status();
  };
  Result<HttpResponseHead> head = transport->perform(request, HttpTimeouts{}, callbacks);
  ASSERT_TRUE(head.ok()) << head.error().message;
  EXPECT_EQ(body, "ok");
  EXPECT_NE(server.received().find("body-canary-789"), std::string::npos);

  const auto lines = egress_lines();
  ASSERT_EQ(lines.size(), 1u);
  for (const char* canary : {"query-canary", "header-canary", "body-canary", "user", "pw", "/v1"}) {
    EXPECT_EQ(lines[0].find(canary), std::string::npos) << canary << " in " << lines[0];
  }
  const auto record = parse_egress_line(lines[0]);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->host, "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(record->purpose, "model");
  EXPECT_EQ(record->method, "POST");
  EXPECT_EQ(record->status, "200");
  EXPECT_GE(record->bytes_sent, request.body.size());
  EXPECT_GE(record->bytes_received, 2u);
}

TEST_F(HttpTransportTest, UsesTheDefaultLogWhenOptionsNameNone) {
  OneShotServer server;
  set_default_egress_log(log_);
  auto transport = make_curl_transport(nullptr);
  HttpRequest request;
  request.method = "GET";
  request.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/models";
  ASSERT_TRUE(transport->perform(request, HttpTimeouts{}, HttpCallbacks{}).ok());
  const auto lines = egress_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(parse_egress_line(lines[0])->purpose, "other");
  EXPECT_EQ(parse_egress_line(lines[0])->method, "GET");
}

TEST_F(HttpTransportTest, RecordsAFailedConnectionByItsClass) {
  int port = 0;
  const int fd = listen_on_loopback(port);
  ::close(fd);  // nothing listens there now
  TransportOptions options;
  options.egress_log = log_;
  auto transport = make_curl_transport(nullptr, options);
  HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  request.purpose = "telemetry";
  Result<HttpResponseHead> head = transport->perform(request, HttpTimeouts{}, HttpCallbacks{});
  ASSERT_FALSE(head.ok());
  const auto lines = egress_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(parse_egress_line(lines[0])->status, "connect_failed");
  EXPECT_EQ(parse_egress_line(lines[0])->purpose, "telemetry");
}

TEST_F(HttpTransportTest, NoLogMeansNoFile) {
  OneShotServer server;
  auto transport = make_curl_transport(nullptr);
  HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  ASSERT_TRUE(transport->perform(request, HttpTimeouts{}, HttpCallbacks{}).ok());
  EXPECT_FALSE(fs::exists(log_->path()));
}

class CaBundleTest : public HttpTransportTest {
 protected:
  void SetUp() override {
    HttpTransportTest::SetUp();
    ProcessOptions openssl;
    openssl.argv = {"openssl",  "req",
                    "-x509",    "-newkey",
                    "rsa:2048", "-nodes",
                    "-days",    "1",
                    "-subj",    "/CN=127.0.0.1",
                    "-addext",  "subjectAltName=IP:127.0.0.1",
                    "-keyout",  (dir_ / "key.pem").string(),
                    "-out",     (dir_ / "cert.pem").string()};
    Result<ProcessResult> made = run_process(openssl);
    ASSERT_TRUE(made.ok() && made.value().exit_code == 0) << "openssl req failed";
  }
};

TEST_F(CaBundleTest, AddsTheUsersCertificateToTheDefaultStore) {
  Result<std::string> bundle = build_ca_bundle(dir_ / "cert.pem");
  ASSERT_TRUE(bundle.ok()) << bundle.error().message;
  std::ifstream cert(dir_ / "cert.pem");
  const std::string cert_text((std::istreambuf_iterator<char>(cert)), {});
  EXPECT_NE(bundle.value().find(cert_text), std::string::npos);
  if (fs::exists("/etc/ssl/certs/ca-certificates.crt") && !std::getenv("SSL_CERT_FILE")) {
    EXPECT_GT(bundle.value().size(), cert_text.size() * 10) << "the system store must be kept";
  }
}

TEST_F(CaBundleTest, RefusesAMissingOrNonCertificateFile) {
  Result<std::string> missing = build_ca_bundle(dir_ / "nope.pem");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(missing.error().message.find("nope.pem"), std::string::npos);
  Result<std::string> key = build_ca_bundle(dir_ / "key.pem");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().kind, ErrorKind::kInvalidArgument);
}

// A TLS server with the self-signed certificate: `openssl s_server -www` answers
// any GET with HTTP 200.
TEST_F(CaBundleTest, SelfSignedServerIsRefusedByNameAndAcceptedWithItsCa) {
  int port = 0;
  ::close(listen_on_loopback(port));
  std::atomic<bool> stop{false};
  std::atomic<bool> listening{false};
  std::thread server([&] {
    ProcessOptions options;
    options.argv = {"openssl",  "s_server",
                    "-accept",  std::to_string(port),
                    "-naccept", "4",
                    "-cert",    (dir_ / "cert.pem").string(),
                    "-key",     (dir_ / "key.pem").string(),
                    "-www"};
    options.stop = &stop;
    options.stdin_data = "";
    options.on_output = [&](std::string_view chunk, bool) {
      if (chunk.find("ACCEPT") != std::string_view::npos) listening = true;
    };
    (void)run_process(options);
    listening = true;
  });
  struct StopServer {
    std::atomic<bool>& stop;
    std::thread& server;
    ~StopServer() {
      stop = true;
      server.join();
    }
  } stop_server{stop, server};
  while (!listening) std::this_thread::sleep_for(std::chrono::milliseconds(20));

  HttpRequest request;
  request.method = "GET";
  request.url = "https://127.0.0.1:" + std::to_string(port) + "/";
  request.purpose = "model";

  TransportOptions untrusted;
  untrusted.egress_log = log_;
  Result<HttpResponseHead> refused =
      make_curl_transport(nullptr, untrusted)->perform(request, HttpTimeouts{}, HttpCallbacks{});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_NE(refused.error().message.find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("certificate"), std::string::npos);
  EXPECT_NE(refused.error().message.find("--ca-cert"), std::string::npos);

  TransportOptions trusted = untrusted;
  trusted.ca_bundle = build_ca_bundle(dir_ / "cert.pem").value();
  Result<HttpResponseHead> accepted =
      make_curl_transport(nullptr, trusted)->perform(request, HttpTimeouts{}, HttpCallbacks{});
  ASSERT_TRUE(accepted.ok()) << accepted.error().message;
  EXPECT_EQ(accepted.value().status, 200);

  const auto lines = egress_lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(parse_egress_line(lines[0])->status, "tls_failed");
  EXPECT_EQ(parse_egress_line(lines[1])->status, "200");
}

TEST(ProviderHttpError, RedactsKeysEchoedInTheErrorBody) {
  ProviderConfig config;
  config.info = find_provider("openai-compatible").value();
  config.base_url = "http://127.0.0.1:1/v1";
  config.model = "m";
  register_secret("my-registered-local-key");
  const Error error = provider_http_error(
      config, 401,
      "{\"error\":{\"message\":\"Incorrect API key provided: sk-test-0123456789abcdef0123 "
      "(was my-registered-local-key)\"}}");
  clear_registered_secrets_for_testing();
  EXPECT_EQ(error.message.find("0123456789abcdef"), std::string::npos) << error.message;
  EXPECT_EQ(error.message.find("my-registered-local-key"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("[REDACTED]"), std::string::npos) << error.message;
}

}  // namespace
}  // namespace joey::llm
