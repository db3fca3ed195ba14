#include "mcp/server.h"

#include <algorithm>

#include "base/log.h"

namespace joey::mcp {
namespace {

// Replaced clients kept alive for callers that may still hold their pointer.
constexpr size_t kMaxRetiredClients = 4;
// A server that ran this long before crashing counts as healthy: its backoff restarts.
constexpr auto kHealthyUptime = std::chrono::seconds(30);

std::chrono::seconds backoff_for(int failures) {
  // failures 1 → retry at once; 2 → 1 s; 3 → 2 s; 4 → 4 s; … capped.
  if (failures <= 1) return std::chrono::seconds(0);
  const int exponent = std::min(failures - 2, 5);
  return std::min(std::chrono::seconds(1 << exponent), kMaxReconnectBackoff);
}

}  // namespace

Server::Server(ServerConfig config, HttpTransportFactory http)
    : config_(std::move(config)), http_(std::move(http)) {}

Server::~Server() { shutdown(); }

Result<Client*> Server::client() {
  std::lock_guard lock(mutex_);
  if (client_ && client_->alive()) return client_.get();
  const Clock::time_point now = Clock::now();
  if (client_) {
    // It crashed or its session ended.
    if (now - connected_at_ >= kHealthyUptime) failures_ = 0;
    ++failures_;
    next_attempt_ = now + backoff_for(failures_);
    last_error_ = make_error(ErrorKind::kIo, "the MCP server " + config_.name + " stopped");
    log::warn("mcp_server_crashed",
              {log::field("server", config_.name), log::field("failures", failures_)});
    retired_.push_back(std::move(client_));
    while (retired_.size() > kMaxRetiredClients) retired_.pop_front();
  }
  if (next_attempt_ && now < *next_attempt_) {
    const auto wait = std::chrono::ceil<std::chrono::seconds>(*next_attempt_ - now);
    const ErrorKind kind =
        config_.kind == ServerConfig::Kind::kStdio ? ErrorKind::kIo : ErrorKind::kNetwork;
    std::string message = "the MCP server " + config_.name + " is down";
    if (last_error_) message += " (" + last_error_->message + ")";
    return make_error(kind,
                      message + "; joey tries again in " + std::to_string(wait.count()) + " s");
  }
  Result<std::unique_ptr<Client>> connected = Client::connect(config_, http_);
  ++connect_count_;
  if (!connected.ok()) {
    ++failures_;
    next_attempt_ = Clock::now() + std::max(backoff_for(failures_), std::chrono::seconds(1));
    last_error_ = connected.error();
    return std::move(connected).error();
  }
  client_ = std::move(connected).value();
  connected_at_ = Clock::now();
  next_attempt_.reset();
  last_error_.reset();
  return client_.get();
}

Client* Server::connected_client() const {
  std::lock_guard lock(mutex_);
  return client_ && client_->alive() ? client_.get() : nullptr;
}

void Server::shutdown() {
  std::lock_guard lock(mutex_);
  client_.reset();
  retired_.clear();
  failures_ = 0;
  next_attempt_.reset();
  last_error_.reset();
}

int Server::connect_count() const {
  std::lock_guard lock(mutex_);
  return connect_count_;
}

}  // namespace joey::mcp
