#include "mcp/sse_transport.h"

#include <algorithm>

#include "base/json.h"
#include "base/log.h"
#include "mcp/event_stream.h"

namespace joey::mcp {
namespace {

constexpr auto kConnectTimeout = std::chrono::milliseconds(10'000);
constexpr size_t kMaxEndpointBytes = 2048;
constexpr size_t kErrorExcerptBytes = 300;

// "scheme://authority" of a URL, or "" when it has none.
std::string origin_of(const std::string& url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos || scheme_end == 0) return "";
  const size_t path_start = url.find_first_of("/?#", scheme_end + 3);
  std::string origin = url.substr(0, path_start);
  std::transform(origin.begin(), origin.end(), origin.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return origin;
}

std::chrono::milliseconds remaining(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  return std::max(left, std::chrono::milliseconds(1));
}

}  // namespace

std::string resolve_sse_endpoint(const std::string& base, const std::string& data) {
  if (data.empty() || data.size() > kMaxEndpointBytes) return "";
  if (std::any_of(data.begin(), data.end(),
                  [](unsigned char c) { return c <= 0x20 || c == 0x7f; })) {
    return "";
  }
  const std::string origin = origin_of(base);
  if (origin.empty()) return "";
  if (data.find("://") != std::string::npos && data.find("://") < data.find_first_of("/?#")) {
    return origin_of(data) == origin ? data : "";
  }
  if (data.rfind("//", 0) == 0) return "";  // scheme-relative: another host
  if (data[0] == '/') return origin + data;
  // Relative to the base URL's directory.
  std::string path = base.substr(origin.size());
  path = path.substr(0, path.find_first_of("?#"));
  const size_t slash = path.rfind('/');
  path = slash == std::string::npos ? "/" : path.substr(0, slash + 1);
  return origin + path + data;
}

SseTransport::SseTransport(ServerConfig config, HttpTransportFactory factory)
    : config_(std::move(config)), factory_(std::move(factory)) {}

SseTransport::~SseTransport() { shutdown(); }

Status SseTransport::start(TransportHandlers handlers) {
  TRY(check_http_config(config_, factory_));
  handlers_ = std::move(handlers);
  alive_ = true;
  stream_ = std::thread([this] { stream_loop(); });
  std::unique_lock lock(mutex_);
  const Clock::time_point deadline = Clock::now() + config_.timeout;
  while (endpoint_.empty() && !stream_ended_ && Clock::now() < deadline) {
    changed_.wait_until(lock, deadline);
  }
  if (!endpoint_.empty()) return ok_status();
  const std::string error = stream_error_;
  lock.unlock();
  if (error.empty()) {
    return make_error(ErrorKind::kTimeout, "the MCP server " + config_.name +
                                               " sent no endpoint event on its SSE stream");
  }
  return make_error(ErrorKind::kNetwork, error);
}

void SseTransport::stream_loop() {
  llm::HttpRequest request;
  request.method = "GET";
  request.url = config_.url;
  request.purpose = "mcp";
  request.headers = config_.headers;
  request.headers.emplace_back("Accept", "text/event-stream");
  llm::HttpTimeouts timeouts;
  timeouts.connect = std::min(kConnectTimeout, config_.timeout);
  timeouts.first_byte = config_.timeout;
  timeouts.idle = kSseIdleLimit;

  SseMessageHandlers handlers;
  handlers.on_message = handlers_.on_message;
  handlers.on_other_event = [this](const llm::SseEvent& event) -> Status {
    if (event.event != "endpoint") return ok_status();
    const std::string endpoint = resolve_sse_endpoint(config_.url, event.data);
    std::lock_guard lock(mutex_);
    if (endpoint.empty()) {
      stream_error_ =
          "the MCP server " + config_.name + " named an endpoint that is not on its own origin";
      return make_error(ErrorKind::kProtocol, stream_error_);
    }
    endpoint_ = endpoint;
    changed_.notify_all();
    return ok_status();
  };
  SseMessageReader reader(config_.name, std::move(handlers));
  std::unique_ptr<llm::HttpTransport> http = factory_(&stream_cancel_);
  std::string reason;
  if (!http) {
    reason = "no HTTP transport for MCP";
  } else {
    const EventStreamEnd end = read_event_stream(*http, request, timeouts, reader, stopping_);
    if (!end.ended.ok()) {
      reason = "the MCP server " + config_.name + " (" + llm::url_host(config_.url) +
               "): " + end.ended.error().message;
    } else if (end.status != 200) {
      reason = "the MCP server " + config_.name + " answered HTTP " + std::to_string(end.status) +
               ": " + body_excerpt(end.error_body, kErrorExcerptBytes);
    } else if (!end.event_stream) {
      reason = "the MCP server " + config_.name + " answered its SSE URL without an event stream";
    } else {
      reason = "the MCP server " + config_.name + " closed its SSE stream";
    }
  }
  alive_ = false;
  {
    std::lock_guard lock(mutex_);
    stream_ended_ = true;
    if (stream_error_.empty()) stream_error_ = reason;
    changed_.notify_all();
  }
  if (!stopping_ && handlers_.on_closed) handlers_.on_closed(reason);
}

Status SseTransport::post(const std::string& endpoint, const std::string& text,
                          Clock::time_point deadline) {
  llm::HttpRequest request;
  request.method = "POST";
  request.url = endpoint;
  request.purpose = "mcp";
  request.body = text;
  request.headers = config_.headers;
  request.headers.emplace_back("Content-Type", "application/json");
  llm::HttpTimeouts timeouts;
  timeouts.connect = std::min(kConnectTimeout, remaining(deadline));
  timeouts.first_byte = remaining(deadline);
  timeouts.idle = remaining(deadline);
  std::string body;
  llm::HttpCallbacks callbacks;
  callbacks.on_body = [&body](std::string_view chunk) {
    if (body.size() < kErrorExcerptBytes) body.append(chunk);
    return ok_status();
  };
  std::unique_ptr<llm::HttpTransport> http = factory_(nullptr);
  if (!http) return make_error(ErrorKind::kInternal, "no HTTP transport for MCP");
  Result<llm::HttpResponseHead> performed = http->perform(request, timeouts, callbacks);
  if (!performed.ok()) {
    return std::move(performed).error().with_context("the MCP server " + config_.name + " (" +
                                                     llm::url_host(endpoint) + ")");
  }
  if (performed->status < 200 || performed->status >= 300) {
    return make_error(performed->status >= 500 ? ErrorKind::kServer : ErrorKind::kProtocol,
                      "the MCP server " + config_.name + " answered HTTP " +
                          std::to_string(performed->status) + ": " +
                          body_excerpt(body, kErrorExcerptBytes));
  }
  return ok_status();
}

Status SseTransport::send(const std::string& text, const std::optional<RequestId>& /*awaited*/,
                          Clock::time_point deadline, const std::atomic<bool>* cancel) {
  if (cancel && cancel->load()) {
    return make_error(ErrorKind::kCancelled,
                      "cancelled before sending to the MCP server " + config_.name);
  }
  std::string endpoint;
  {
    std::lock_guard lock(mutex_);
    endpoint = endpoint_;
  }
  if (!alive_ || endpoint.empty()) {
    return make_error(ErrorKind::kIo, "the MCP server " + config_.name + " session has ended");
  }
  return post(endpoint, text, deadline);
}

void SseTransport::shutdown() {
  if (!stream_.joinable()) return;
  stopping_ = true;
  stream_cancel_.request();  // ends the GET even while the server is silent
  stream_.join();
  alive_ = false;
}

}  // namespace joey::mcp
