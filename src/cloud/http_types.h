// Plain HTTP request and response values for joeyd's handlers. They know nothing of
// the HTTP library: the transport (cloud/http_server.h) fills an HttpRequest from the
// wire and writes an HttpResponse back, so handlers and their tests never include
// Beast.
//
// Handlers read JSON bodies with parse_json_body(), which refuses a wrong content
// type, invalid UTF-8, malformed JSON, a non-object and unknown fields, each with an
// Error whose kind the error boundary (cloud/router.h) maps to a 4xx status.
//
// Thread-safety: plain values; one request is handled by one thread at a time.
#pragma once

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace joey::cloud {

// What a handler learns about the caller while handling a request and wants in the
// access log. Filled by handlers (the auth layer sets user_id); read by the server
// after the handler returns.
struct RequestContext {
  std::string user_id;  // empty: anonymous
};

struct HttpRequest {
  std::string method;  // upper case as sent: "GET", "POST", ...
  std::string path;    // percent-decoded, without the query; never logged (may hold tokens)
  std::string query;   // raw text after '?', undecoded; never logged
  // Names are lower case; a repeated header appears once per occurrence, in order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_address;  // the peer's IP address, for throttling
  // Set by the router: the matched template ("/api/tokens/{id}") and its decoded
  // parameters ({"id": "..."}). The template, not the path, is what logs name.
  std::string route;
  std::map<std::string, std::string> path_params;
  // Mutable so that a handler, which sees the request as const, can record who the
  // caller is for the access log.
  mutable RequestContext context;

  // The first header called `name` (compared case-insensitively), or nullopt.
  std::optional<std::string_view> header(std::string_view name) const;
  // The path parameter called `name`, or an empty view when the route has none.
  std::string_view path_param(std::string_view name) const;
};

// A complete response. Responses written piece by piece as they arrive (the model
// proxy relaying SSE) come from stream routes instead: see cloud/stream_route.h
// (ResponseStream: begin/write/end, client-disconnect notification) and
// Router::add_stream(). That header includes Asio; this one stays free of it.
struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  // Extra headers ("Allow", "Retry-After", "Set-Cookie", ...). Content-Type,
  // Content-Length and Connection are set by the transport.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  static HttpResponse json(int status, const nlohmann::json& value);
  static HttpResponse text(int status, std::string body,
                           std::string content_type = "text/plain; charset=utf-8");
  // {"error": {"code": code, "message": message}} with `status`.
  static HttpResponse error(int status, std::string_view code, std::string_view message);
};

// Returns the request's body as a JSON object after checking, in order: the
// Content-Type is application/json (kInvalidArgument otherwise — routes that take JSON
// get a 415 from the router before the handler runs), the bytes are UTF-8, they are
// JSON (depth-limited, joey::parse_json), the value is an object, and every member
// name is in `allowed_fields`. Each failure is kInvalidArgument with a message naming
// the problem (never the body's content).
Result<nlohmann::json> parse_json_body(const HttpRequest& request,
                                       std::initializer_list<std::string_view> allowed_fields);

// True when `content_type` is application/json, with or without parameters
// ("application/json; charset=utf-8"), compared case-insensitively.
bool is_json_content_type(std::string_view content_type);

// True when `text` is entirely valid UTF-8.
bool is_valid_utf8(std::string_view text);

// True when `text` holds no CR, LF or NUL: it cannot end a header line or split an HTTP
// head, so it may go into a header name or value as it is.
bool is_safe_header_text(std::string_view text);

}  // namespace joey::cloud
