#include "mcp/client.h"

#include <algorithm>
#include <thread>

#include "base/json.h"
#include "base/log.h"
#include "mcp/sse_transport.h"
#include "mcp/stdio_transport.h"
#include "mcp/streamable_http_transport.h"
#include "mcp/transport.h"

namespace joey::mcp {
namespace {

using nlohmann::json;

constexpr auto kWaitSlice = std::chrono::milliseconds(50);
constexpr auto kNotificationDeadline = std::chrono::seconds(5);
constexpr size_t kStderrExcerptBytes = 600;

std::string duration_text(std::chrono::milliseconds duration) {
  if (duration.count() % 1000 == 0) return std::to_string(duration.count() / 1000) + " s";
  return std::to_string(duration.count()) + " ms";
}

std::string text_of(const json& object, const char* key) {
  const std::string* value = string_field(object, key);
  return value ? *value : std::string();
}

Content parse_content(const json& item) {
  Content content;
  content.type = text_of(item, "type");
  content.text = text_of(item, "text");
  content.mime_type = text_of(item, "mimeType");
  content.data = text_of(item, "data");
  content.uri = text_of(item, "uri");
  if (content.type == "resource") {
    if (const json* resource = object_field(item, "resource")) {
      content.uri = text_of(*resource, "uri");
      content.mime_type = text_of(*resource, "mimeType");
      content.text = text_of(*resource, "text");
      content.data = text_of(*resource, "blob");
    }
  } else if (content.type == "resource_link" && content.text.empty()) {
    content.text = text_of(item, "name");
  }
  return content;
}

ErrorKind kind_for_rpc_error(int64_t code) {
  if (code == kMethodNotFound) return ErrorKind::kNotFound;
  if (code == kInvalidParams) return ErrorKind::kInvalidArgument;
  return ErrorKind::kProtocol;
}

// The end of the server's stderr, for an error message; empty when it wrote nothing.
std::string stderr_excerpt(const std::string& tail) {
  std::string_view text = tail;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  if (text.empty()) return "";
  if (text.size() > kStderrExcerptBytes) {
    text = text.substr(text.size() - kStderrExcerptBytes);
    while (!text.empty() && (static_cast<unsigned char>(text.front()) & 0xC0) == 0x80) {
      text.remove_prefix(1);
    }
    return "; its stderr ends with: …" + std::string(text);
  }
  return "; its stderr ends with: " + std::string(text);
}

}  // namespace

Client::Client(ServerConfig config, std::unique_ptr<Transport> transport)
    : config_(std::move(config)), transport_(std::move(transport)) {}

Client::~Client() {
  if (transport_) transport_->shutdown();
}

Result<std::unique_ptr<Client>> Client::connect(const ServerConfig& config,
                                                const HttpTransportFactory& http) {
  if (config.timeout.count() <= 0) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the MCP server " + config.name + " has a timeout that is not positive");
  }
  std::unique_ptr<Transport> transport;
  switch (config.kind) {
    case ServerConfig::Kind::kStdio:
      transport = std::make_unique<StdioTransport>(config);
      break;
    case ServerConfig::Kind::kStreamableHttp:
      transport = std::make_unique<StreamableHttpTransport>(config, http);
      break;
    case ServerConfig::Kind::kSse:
      transport = std::make_unique<SseTransport>(config, http);
      break;
  }
  std::unique_ptr<Client> client(new Client(config, std::move(transport)));
  Client* self = client.get();
  TransportHandlers handlers;
  handlers.on_message = [self](Message message) { self->on_message(std::move(message)); };
  handlers.on_closed = [self](const std::string& reason) { self->on_closed(reason); };
  TRY(self->transport_->start(std::move(handlers)));
  TRY(self->initialize());
  log::info("mcp_server_connected",
            {log::field("server", config.name), log::field("protocol", self->protocol_version_)});
  return client;
}

Status Client::initialize() {
  const json params = {
      {"protocolVersion", kProtocolVersion},
      {"capabilities", {{"roots", {{"listChanged", false}}}}},
      {"clientInfo", {{"name", "joey"}, {"version", JOEY_VERSION}}},
  };
  const json result = TRY(request_once("initialize", params, "initialize", nullptr));
  const std::string* version = string_field(result, "protocolVersion");
  if (!version) {
    return make_error(ErrorKind::kProtocol, "the MCP server " + config_.name +
                                                " did not say which protocol version it speaks");
  }
  const bool accepted =
      std::any_of(std::begin(kAcceptedProtocolVersions), std::end(kAcceptedProtocolVersions),
                  [&](const char* known) { return *version == known; });
  if (!accepted) {
    return make_error(ErrorKind::kProtocol,
                      "the MCP server " + config_.name + " speaks MCP version " +
                          body_excerpt(*version, 40) + ", but joey speaks " + kProtocolVersion +
                          " (and accepts 2025-03-26 and 2024-11-05)");
  }
  protocol_version_ = *version;
  if (const json* info = object_field(result, "serverInfo")) server_info_ = *info;
  if (const json* capabilities = object_field(result, "capabilities")) {
    server_capabilities_ = *capabilities;
  }
  transport_->set_protocol_version(protocol_version_);
  TRY(transport_->send(make_notification("notifications/initialized", json()), std::nullopt,
                       Clock::now() + config_.timeout, nullptr));
  initialized_ = true;
  transport_->on_initialized();
  return ok_status();
}

Result<json> Client::request(const std::string& method, const json& params, const std::string& what,
                             const std::atomic<bool>* cancel) {
  Result<json> answer = request_once(method, params, what, cancel);
  const bool session_expired =
      !answer.ok() && answer.error().kind == ErrorKind::kNotFound &&
      config_.kind != ServerConfig::Kind::kStdio &&
      answer.error().message.find("ended the session") != std::string::npos;
  if (!session_expired) return answer;
  {
    std::lock_guard lock(reinitialize_mutex_);
    log::info("mcp_session_expired", {log::field("server", config_.name)});
    transport_->reset_session();
    TRY(initialize());
  }
  return request_once(method, params, what, cancel);
}

Result<json> Client::request_once(const std::string& method, const json& params,
                                  const std::string& what, const std::atomic<bool>* cancel) {
  auto pending = std::make_shared<Pending>();
  int64_t id = 0;
  {
    std::unique_lock lock(mutex_);
    if (closed_) {
      lock.unlock();
      return closed_error(what);
    }
    id = next_id_++;
    pending_[id] = pending;
  }
  auto forget = [&] {
    std::lock_guard lock(mutex_);
    pending_.erase(id);
  };
  const Clock::time_point deadline = Clock::now() + config_.timeout;
  Status sent = transport_->send(make_request(id, method, params), RequestId(id), deadline, cancel);
  if (!sent.ok()) {
    forget();
    const ErrorKind kind = sent.error().kind;
    if (kind == ErrorKind::kTimeout) {
      send_cancelled(id, "timed out");
      return timeout_error(what);
    }
    if (kind == ErrorKind::kCancelled) {
      send_cancelled(id, "cancelled by the user");
      return make_error(ErrorKind::kCancelled,
                        what + " on the MCP server " + config_.name + " was cancelled");
    }
    if (!transport_->alive()) return closed_error(what);
    return std::move(sent).error();
  }
  std::unique_lock lock(mutex_);
  while (!pending->result && !closed_) {
    if (cancel && cancel->load()) {
      pending_.erase(id);
      lock.unlock();
      send_cancelled(id, "cancelled by the user");
      return make_error(ErrorKind::kCancelled,
                        what + " on the MCP server " + config_.name + " was cancelled");
    }
    const Clock::time_point now = Clock::now();
    if (now >= deadline) {
      pending_.erase(id);
      lock.unlock();
      send_cancelled(id, "timed out");
      return timeout_error(what);
    }
    answered_.wait_until(lock, std::min(deadline, now + kWaitSlice));
  }
  pending_.erase(id);
  if (!pending->result) {
    lock.unlock();
    return closed_error(what);
  }
  return std::move(*pending->result);
}

Error Client::timeout_error(const std::string& what) const {
  const size_t skipped = transport_->skipped_lines();
  if (!initialized_ && skipped > 0) {
    return make_error(ErrorKind::kProtocol,
                      "the MCP server " + config_.name + " does not speak MCP: within " +
                          duration_text(config_.timeout) + " it wrote only output that is not " +
                          "JSON-RPC (" + std::to_string(skipped) +
                          " line(s), the first: " + transport_->first_skipped_line() + ")");
  }
  std::string message = "the MCP server " + config_.name + " did not answer " + what + " within " +
                        duration_text(config_.timeout);
  if (skipped > 0) {
    message += " (it wrote " + std::to_string(skipped) + " line(s) that are not JSON-RPC)";
  }
  return make_error(ErrorKind::kTimeout, message);
}

Error Client::closed_error(const std::string& what) const {
  std::string reason;
  {
    std::lock_guard lock(mutex_);
    reason = closed_reason_;
  }
  if (reason.empty()) reason = "the MCP server " + config_.name + " is not running";
  std::string message = reason + " before answering " + what;
  if (!initialized_ && transport_->skipped_lines() > 0) {
    message +=
        "; it does not speak MCP (its output is not JSON-RPC: " + transport_->first_skipped_line() +
        ")";
    return make_error(ErrorKind::kProtocol, message + stderr_excerpt(transport_->stderr_tail()));
  }
  return make_error(ErrorKind::kIo, message + stderr_excerpt(transport_->stderr_tail()));
}

void Client::send_cancelled(int64_t id, const std::string& reason) {
  if (!transport_->alive()) return;
  const json params = {{"requestId", id}, {"reason", reason}};
  Status sent = transport_->send(make_notification("notifications/cancelled", params), std::nullopt,
                                 Clock::now() + kNotificationDeadline, nullptr);
  if (!sent.ok()) {
    log::info("mcp_cancel_not_sent",
              {log::field("server", config_.name), log::field("reason", sent.error().message)});
  }
}

void Client::on_message(Message message) {
  switch (message.type) {
    case Message::Type::kResponse:
    case Message::Type::kErrorResponse: {
      const int64_t* id = message.id ? std::get_if<int64_t>(&*message.id) : nullptr;
      std::lock_guard lock(mutex_);
      const auto found = id ? pending_.find(*id) : pending_.end();
      if (found == pending_.end()) {
        log::info("mcp_unexpected_response", {log::field("server", config_.name)});
        return;
      }
      if (message.type == Message::Type::kResponse) {
        found->second->result.emplace(std::move(message.result));
      } else {
        found->second->result.emplace(make_error(kind_for_rpc_error(message.error_code),
                                                 "the MCP server " + config_.name +
                                                     " answered with error " +
                                                     std::to_string(message.error_code) + ": " +
                                                     body_excerpt(message.error_message, 500)));
      }
      answered_.notify_all();
      return;
    }
    case Message::Type::kRequest:
      answer_server_request(message);
      return;
    case Message::Type::kNotification:
      if (message.method == "notifications/tools/list_changed") tools_changed_ = true;
      log::debug("mcp_notification",
                 {log::field("server", config_.name), log::field("method", message.method)});
      return;
  }
}

void Client::answer_server_request(const Message& message) {
  std::string answer;
  if (message.method == "ping") {
    answer = make_result(*message.id, json::object());
  } else if (message.method == "roots/list") {
    answer = make_result(*message.id, {{"roots", json::array()}});
  } else {
    answer = make_error_response(*message.id, kMethodNotFound,
                                 "joey does not support " + body_excerpt(message.method, 100));
  }
  log::debug("mcp_server_request",
             {log::field("server", config_.name), log::field("method", message.method)});
  Status sent =
      transport_->send(answer, std::nullopt, Clock::now() + kNotificationDeadline, nullptr);
  if (!sent.ok()) {
    log::info("mcp_answer_not_sent",
              {log::field("server", config_.name), log::field("reason", sent.error().message)});
  }
}

void Client::on_closed(const std::string& reason) {
  std::lock_guard lock(mutex_);
  closed_ = true;
  closed_reason_ = reason;
  answered_.notify_all();
}

Result<std::vector<json>> Client::list_paged(const std::string& method, const char* key) {
  std::vector<json> items;
  std::string cursor;
  for (int page = 0; page < kMaxListPages; ++page) {
    json params = json::object();
    if (!cursor.empty()) params["cursor"] = cursor;
    const json result = TRY(request(method, params, method, nullptr));
    const json* list = array_field(result, key);
    if (!list) {
      return make_error(ErrorKind::kProtocol, "the MCP server " + config_.name + " answered " +
                                                  method + " without a \"" + key + "\" list");
    }
    for (const json& item : *list) {
      if (item.is_object()) items.push_back(item);
    }
    const std::string* next = string_field(result, "nextCursor");
    if (!next || next->empty()) return items;
    cursor = *next;
  }
  return make_error(ErrorKind::kLimit, "the MCP server " + config_.name + " answered " + method +
                                           " with more than " + std::to_string(kMaxListPages) +
                                           " pages");
}

Result<std::vector<Tool>> Client::list_tools() {
  const std::vector<json> items = TRY(list_paged("tools/list", "tools"));
  std::vector<Tool> tools;
  for (const json& item : items) {
    Tool tool;
    tool.name = text_of(item, "name");
    if (tool.name.empty()) continue;
    tool.title = text_of(item, "title");
    tool.description = text_of(item, "description");
    if (const json* schema = object_field(item, "inputSchema")) {
      tool.input_schema = *schema;
    } else {
      tool.input_schema = {{"type", "object"}};
    }
    tools.push_back(std::move(tool));
  }
  return tools;
}

Result<ToolResult> Client::call_tool(const std::string& name, const json& arguments,
                                     const std::atomic<bool>* cancel) {
  const json params = {{"name", name},
                       {"arguments", arguments.is_null() ? json::object() : arguments}};
  const json result = TRY(request("tools/call", params, "tools/call " + name, cancel));
  ToolResult tool_result;
  if (const json* content = array_field(result, "content")) {
    for (const json& item : *content) {
      if (item.is_object()) tool_result.content.push_back(parse_content(item));
    }
  }
  if (const auto found = result.find("isError"); result.is_object() && found != result.end()) {
    tool_result.is_error = found->is_boolean() && found->get<bool>();
  }
  if (const json* structured = object_field(result, "structuredContent")) {
    tool_result.structured = *structured;
  }
  return tool_result;
}

Result<std::vector<Resource>> Client::list_resources() {
  const std::vector<json> items = TRY(list_paged("resources/list", "resources"));
  std::vector<Resource> resources;
  for (const json& item : items) {
    Resource resource;
    resource.uri = text_of(item, "uri");
    if (resource.uri.empty()) continue;
    resource.name = text_of(item, "name");
    resource.description = text_of(item, "description");
    resource.mime_type = text_of(item, "mimeType");
    resources.push_back(std::move(resource));
  }
  return resources;
}

Result<std::vector<ResourceContents>> Client::read_resource(const std::string& uri) {
  const json result =
      TRY(request("resources/read", {{"uri", uri}}, "resources/read " + uri, nullptr));
  const json* contents = array_field(result, "contents");
  if (!contents) {
    return make_error(ErrorKind::kProtocol, "the MCP server " + config_.name +
                                                " answered resources/read without \"contents\"");
  }
  std::vector<ResourceContents> out;
  for (const json& item : *contents) {
    if (!item.is_object()) continue;
    ResourceContents entry;
    entry.uri = text_of(item, "uri");
    entry.mime_type = text_of(item, "mimeType");
    entry.text = text_of(item, "text");
    entry.blob = text_of(item, "blob");
    out.push_back(std::move(entry));
  }
  return out;
}

Status Client::ping() {
  TRY(request("ping", json::object(), "ping", nullptr));
  return ok_status();
}

bool Client::tools_changed() { return tools_changed_.exchange(false); }

bool Client::alive() const {
  std::lock_guard lock(mutex_);
  return !closed_ && transport_->alive();
}

std::string Client::stderr_tail() const { return transport_->stderr_tail(); }

int Client::process_id() const { return transport_->process_id(); }

}  // namespace joey::mcp
