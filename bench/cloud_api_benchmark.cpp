// joeyd's authenticated API against its own floor: requests per second and latency
// (p50, p99) of `GET /api/me` with a personal access token — token digest lookup, user
// and memberships from the database, JSON — beside `GET /healthz` on the same server in
// the same run (the HTTP stack alone). On SQLite (a file in a temporary directory) and,
// when JOEY_BENCH_POSTGRES_URL names a superuser URL (scripts/test-postgres start DIR),
// on a fresh PostgreSQL database with a least-privilege server role.
//
//   BUILD_DIR/bench/cloud_api_benchmark [SECONDS_PER_CASE] [CONNECTIONS]
//
// The client is a small keep-alive HTTP/1.1 loop on raw sockets, one thread per
// connection, so the client costs little beside the server. Bounded in time; binds
// 127.0.0.1 only; removes what it creates.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/ids.h"
#include "base/json.h"
#include "cloud/cloud_app.h"
#include "cloud/http_server.h"
#include "cloud/server_routes.h"

#include "bench_postgres.h"

namespace {

using namespace joey;
using joey::bench::pg_exec;
using joey::bench::with_user_and_database;
using Clock = std::chrono::steady_clock;

// One keep-alive connection to 127.0.0.1:port.
class Connection {
 public:
  explicit Connection(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends `request` and reads one response; returns its status (0 on failure) and fills
  // `body` and `head` (status line and headers) when given.
  int exchange(const std::string& request, std::string* body = nullptr,
               std::string* head = nullptr) {
    if (fd_ < 0 || ::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
                       static_cast<ssize_t>(request.size())) {
      return 0;
    }
    std::string buffer;
    size_t header_end = std::string::npos;
    size_t length = 0;
    char chunk[16384];
    while (true) {
      if (header_end == std::string::npos) {
        header_end = buffer.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          const std::string lowered = [&] {
            std::string head = buffer.substr(0, header_end);
            std::transform(head.begin(), head.end(), head.begin(), ::tolower);
            return head;
          }();
          const size_t at = lowered.find("content-length:");
          length =
              at == std::string::npos ? 0 : std::strtoul(lowered.c_str() + at + 15, nullptr, 10);
        }
      }
      if (header_end != std::string::npos && buffer.size() >= header_end + 4 + length) break;
      const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
      if (got <= 0) return 0;
      buffer.append(chunk, static_cast<size_t>(got));
    }
    if (body) *body = buffer.substr(header_end + 4, length);
    if (head) *head = buffer.substr(0, header_end);
    return std::atoi(buffer.c_str() + 9);
  }

 private:
  int fd_ = -1;
};

std::string get(const std::string& path, const std::string& token) {
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  return request + "\r\n";
}

std::string post(const std::string& path, const std::string& json, const std::string& cookie) {
  std::string request = "POST " + path +
                        " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        "Content-Type: application/json\r\nContent-Length: " +
                        std::to_string(json.size()) + "\r\n";
  if (!cookie.empty()) request += "Cookie: " + cookie + "\r\n";
  return request + "\r\n" + json;
}

struct Figures {
  double requests_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  size_t failures = 0;
};

Figures load(uint16_t port, const std::string& request, double seconds, int connections) {
  std::vector<std::vector<double>> latencies(static_cast<size_t>(connections));
  std::atomic<size_t> failures{0};
  const Clock::time_point deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                        std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int index = 0; index < connections; ++index) {
    threads.emplace_back([&, index] {
      auto connection = std::make_unique<Connection>(port);
      std::vector<double>& mine = latencies[static_cast<size_t>(index)];
      while (Clock::now() < deadline) {
        const Clock::time_point start = Clock::now();
        std::string body;
        int status = connection->exchange(request, &body);
        if (status == 0) {
          // The server closes a keep-alive connection after its request limit (1,000):
          // reconnect, as an HTTP client does.
          connection = std::make_unique<Connection>(port);
          status = connection->exchange(request, &body);
        }
        if (status != 200) {
          if (failures++ == 0)
            std::fprintf(stderr, "request failed: %d %s\n", status, body.c_str());
          break;
        }
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::vector<double> all;
  for (const auto& mine : latencies) all.insert(all.end(), mine.begin(), mine.end());
  std::sort(all.begin(), all.end());
  Figures figures;
  figures.failures = failures;
  if (all.empty()) return figures;
  figures.requests_per_second = static_cast<double>(all.size()) / seconds;
  figures.p50_ms = all[all.size() / 2];
  figures.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  return figures;
}

int run_case(const std::string& label, cloud::CloudAppOptions options, double seconds,
             int connections) {
  Result<std::unique_ptr<cloud::CloudApp>> app = cloud::CloudApp::open(options);
  if (!app.ok()) {
    std::fprintf(stderr, "%s: %s\n", label.c_str(), app.error().message.c_str());
    return 1;
  }
  auto registry = std::make_shared<cloud::MetricsRegistry>();
  auto router = std::make_shared<cloud::Router>();
  cloud::add_server_routes(*router, *registry, [] { return ok_status(); });
  (*app)->register_routes(*router);
  cloud::ServerOptions server_options;
  server_options.port = 0;
  server_options.threads = 2;
  Result<std::unique_ptr<cloud::HttpServer>> server = cloud::HttpServer::create(
      server_options, router, std::make_shared<cloud::HttpMetrics>(*registry));
  if (!server.ok()) {
    std::fprintf(stderr, "%s: %s\n", label.c_str(), server.error().message.c_str());
    return 1;
  }
  (*server)->start();
  const uint16_t port = (*server)->port();

  // An account (its session cookie) and a token, through the API.
  Connection setup(port);
  std::string body;
  std::string head;
  if (setup.exchange(
          post("/api/auth/signup",
               R"({"email":"bench@example.com","password":"a long passphrase","name":"Bench"})",
               ""),
          &body, &head) != 201) {
    std::fprintf(stderr, "%s: signup failed\n", label.c_str());
    return 1;
  }
  const size_t at = head.find("joey_session=");
  const std::string cookie =
      at == std::string::npos ? "" : head.substr(at, head.find(';', at) - at);
  if (setup.exchange(post("/api/tokens", R"({"name":"bench"})", cookie), &body) != 201) {
    std::fprintf(stderr, "%s: token creation failed\n", label.c_str());
    return 1;
  }
  const std::string token = parse_json(body).value("token", "");

  const Figures floor = load(port, get("/healthz", ""), seconds, connections);
  const Figures me = load(port, get("/api/me", token), seconds, connections);
  std::printf("%-10s /healthz  %8.0f req/s  p50 %6.3f ms  p99 %6.3f ms\n", label.c_str(),
              floor.requests_per_second, floor.p50_ms, floor.p99_ms);
  std::printf("%-10s /api/me   %8.0f req/s  p50 %6.3f ms  p99 %6.3f ms  (%zu failed)\n",
              label.c_str(), me.requests_per_second, me.p50_ms, me.p99_ms,
              me.failures + floor.failures);
  std::printf("%-10s ratio /api/me : /healthz = %.2f of the throughput, %.2fx the p99\n\n",
              label.c_str(), me.requests_per_second / std::max(floor.requests_per_second, 1.0),
              me.p99_ms / std::max(floor.p99_ms, 1e-9));
  (*server)->stop();
  (*server)->wait();
  return me.failures + floor.failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  const int connections = argc > 2 ? std::atoi(argv[2]) : 8;
  if (seconds <= 0 || seconds > 60 || connections < 1 || connections > 256) {
    std::fprintf(stderr, "usage: cloud_api_benchmark [SECONDS 0-60] [CONNECTIONS 1-256]\n");
    return 2;
  }
  std::printf("joeyd API: %d keep-alive connections, %.1f s per case, 2 server threads\n\n",
              connections, seconds);
  std::string pattern =
      (std::filesystem::temp_directory_path() / "joey-bench-cloud-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) return 1;
  const std::filesystem::path root = pattern;
  std::filesystem::create_directories(root / "sqlite");
  cloud::CloudAppOptions sqlite_options;
  sqlite_options.data_dir = root / "sqlite";
  int status = run_case("sqlite", sqlite_options, seconds, connections);

  const char* admin = std::getenv("JOEY_BENCH_POSTGRES_URL");
  if (admin && *admin) {
    const std::string name = "joey_bench_" + random_hex(4);
    std::string error = pg_exec(admin, "CREATE DATABASE " + name);
    // The server's login role is a member of joey_app, the role migrations grant to.
    (void)pg_exec(admin, "CREATE ROLE joey_app NOLOGIN");  // may exist already
    if (error.empty())
      error = pg_exec(admin, "CREATE ROLE " + name + "_login LOGIN IN ROLE joey_app");
    if (!error.empty()) {
      std::fprintf(stderr, "postgres: %s\n", error.c_str());
      status = 1;
    } else {
      std::filesystem::create_directories(root / "postgres");
      // Migrations as the cluster's superuser (the owner), serving as the login role.
      cloud::CloudAppOptions options;
      options.data_dir = root / "postgres";
      options.database_url = with_user_and_database(admin, name + "_login", name);
      options.database_owner_url = with_user_and_database(admin, "postgres", name);
      status |= run_case("postgres", options, seconds, connections);
    }
    pg_exec(admin, "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    pg_exec(admin, "DROP ROLE IF EXISTS " + name + "_login");
  } else {
    std::printf(
        "postgres: skipped (set JOEY_BENCH_POSTGRES_URL to a superuser URL from "
        "scripts/test-postgres start DIR)\n");
  }
  std::filesystem::remove_all(root);
  return status;
}
