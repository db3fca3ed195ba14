// The data joey::mcp exchanges with its callers: a server's configuration and what
// tools and resources look like. Plain values; copy freely.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/cancel.h"
#include "llm/http_transport.h"

namespace joey::mcp {

// Builds the HTTP transport for one request (the caller's CA settings and egress
// log); called once per HTTP request, possibly from several threads at once.
// `cancellation` null: the request is aborted as the caller's other requests are (the
// agent's Ctrl-C). Not null: that one aborts it instead — background streams, which
// outlive a task and must stop when their transport does, pass their own.
using HttpTransportFactory =
    std::function<std::unique_ptr<llm::HttpTransport>(const Cancellation* cancellation)>;

// The protocol version joey asks for, and the ones it accepts in answer.
inline constexpr const char* kProtocolVersion = "2025-06-18";
inline constexpr const char* kAcceptedProtocolVersions[] = {"2025-06-18", "2025-03-26",
                                                            "2024-11-05"};

// A server's configuration (the caller parses mcp.json into this).
struct ServerConfig {
  std::string name;
  // stdio
  std::string command;
  std::vector<std::string> args;
  std::string cwd;                         // empty: inherit
  std::map<std::string, std::string> env;  // added to the inherited environment
  std::vector<std::string> unset_env;      // removed from it (provider keys)
  // HTTP
  enum class Kind { kStdio, kStreamableHttp, kSse } kind = Kind::kStdio;
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{60'000};  // per request, and for initialize
};

struct Tool {
  std::string name;
  std::string title;
  std::string description;
  nlohmann::json input_schema;

  friend bool operator==(const Tool&, const Tool&) = default;
};

struct Content {
  std::string type;  // "text" | "image" | "audio" | "resource" | "resource_link"
  std::string text;  // text; the text of an embedded text resource
  std::string mime_type;
  std::string data;  // base64 for image/audio and for an embedded blob resource
  std::string uri;   // resource and resource_link
};

struct ToolResult {
  std::vector<Content> content;
  bool is_error = false;
  nlohmann::json structured;  // structuredContent, null when absent
};

struct Resource {
  std::string uri;
  std::string name;
  std::string description;
  std::string mime_type;
};

struct ResourceContents {
  std::string uri;
  std::string mime_type;
  std::string text;
  std::string blob;  // base64
};

}  // namespace joey::mcp
