#include "cloud/router.h"

#include <algorithm>
#include <cassert>
#include <exception>
#include <optional>

#include "base/log.h"
#include "cloud/http_types.h"

namespace joey::cloud {
namespace {

bool is_parameter(std::string_view segment) {
  return segment.size() >= 3 && segment.front() == '{' && segment.back() == '}';
}

// "/a/b" → {"a", "b"}; "/" → {""}. The leading '/' is required by the callers.
std::vector<std::string_view> split_segments(std::string_view path) {
  std::vector<std::string_view> segments;
  std::string_view rest = path.substr(1);
  while (true) {
    size_t slash = rest.find('/');
    segments.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return segments;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whether `segments` (decoded) fit `route_segments`; literals must be equal.
bool segments_match(const std::vector<std::string>& route_segments,
                    const std::vector<std::string>& segments) {
  if (route_segments.size() != segments.size()) return false;
  for (size_t index = 0; index < segments.size(); ++index) {
    if (is_parameter(route_segments[index])) {
      if (segments[index].empty()) return false;
    } else if (route_segments[index] != segments[index]) {
      return false;
    }
  }
  return true;
}

// True when `left` is more specific than `right`: at the first segment where one has
// a literal and the other a parameter, the literal wins ("/orgs/mine" over "/orgs/{id}").
bool more_specific(const std::vector<std::string>& left, const std::vector<std::string>& right) {
  for (size_t index = 0; index < left.size() && index < right.size(); ++index) {
    bool left_literal = !is_parameter(left[index]);
    bool right_literal = !is_parameter(right[index]);
    if (left_literal != right_literal) return left_literal;
  }
  return false;
}

std::optional<std::vector<std::string>> decode_segments(std::string_view raw_path) {
  if (raw_path.empty() || raw_path.front() != '/') return std::nullopt;
  std::vector<std::string> decoded;
  for (std::string_view segment : split_segments(raw_path)) {
    std::optional<std::string> value = percent_decode(segment);
    if (!value) return std::nullopt;
    decoded.push_back(std::move(*value));
  }
  return decoded;
}

HttpResponse run_handler(const Handler& handler, const HttpRequest& request) {
  try {
    Result<HttpResponse> result = handler(request);
    if (!result.ok()) return error_response(result.error(), request.route);
    return std::move(result).value();
  } catch (const std::exception& exception) {
    log::error("handler_exception",
               {log::field("route", request.route), log::field("method", request.method),
                log::field("error", exception.what())});
  } catch (...) {
    log::error("handler_exception",
               {log::field("route", request.route), log::field("method", request.method),
                log::field("error", "unknown exception")});
  }
  return HttpResponse::error(500, "internal", "the server failed to handle the request");
}

}  // namespace

void Router::add(std::string method, std::string path_template, Handler handler,
                 RouteOptions options) {
  add_route(std::move(method), std::move(path_template), std::move(handler), nullptr, options);
}

void Router::add_stream(std::string method, std::string path_template,
                        std::shared_ptr<const StreamRoute> route, RouteOptions options) {
  assert(route);
  add_route(std::move(method), std::move(path_template), nullptr, std::move(route), options);
}

void Router::add_route(std::string method, std::string path_template, Handler handler,
                       std::shared_ptr<const StreamRoute> stream, RouteOptions options) {
  assert(!path_template.empty() && path_template.front() == '/');
  std::vector<std::string> segments;
  for (std::string_view segment : split_segments(path_template)) segments.emplace_back(segment);
  for (Route& route : routes_) {
    if (route.method == method && route.path_template == path_template) {
      route.handler = std::move(handler);
      route.stream = std::move(stream);
      route.options = options;
      return;
    }
  }
  if (by_length_.size() <= segments.size()) by_length_.resize(segments.size() + 1);
  by_length_[segments.size()].push_back(routes_.size());
  routes_.push_back(Route{std::move(method), std::move(path_template), std::move(segments),
                          std::move(handler), std::move(stream), options});
}

RouteMatch Router::match(std::string_view method, std::string_view raw_path) const {
  RouteMatch result;
  result.route = std::string(kUnmatchedRoute);
  std::optional<std::vector<std::string>> segments = decode_segments(raw_path);
  if (!segments) {
    result.outcome = RouteMatch::Outcome::kBadPath;
    return result;
  }
  if (segments->size() >= by_length_.size()) return result;
  const std::vector<size_t>& candidates = by_length_[segments->size()];
  const Route* best = nullptr;
  for (size_t index : candidates) {
    const Route& route = routes_[index];
    if (!segments_match(route.segments, *segments)) continue;
    if (!best || more_specific(route.segments, best->segments)) best = &route;
  }
  if (!best) return result;
  // The routes with best's template have its length too.
  for (size_t index : candidates) {
    const Route& route = routes_[index];
    if (route.path_template != best->path_template) continue;
    if (route.method == method) {
      result.outcome = RouteMatch::Outcome::kFound;
      result.route = route.path_template;
      result.max_body_bytes = route.options.max_body_bytes;
      result.route_index = index;
      result.stream = route.stream != nullptr;
      result.allow.clear();
      result.segments = std::move(*segments);
      return result;
    }
    if (!result.allow.empty()) result.allow += ", ";
    result.allow += route.method;
  }
  // The template is a bounded label, unlike the path, so metrics can name it.
  result.outcome = RouteMatch::Outcome::kMethodNotAllowed;
  result.route = best->path_template;
  return result;
}

HttpResponse Router::handle(HttpRequest& request, std::string_view raw_path) const {
  return handle(request, raw_path, match(request.method, raw_path));
}

HttpResponse Router::handle(HttpRequest& request, std::string_view raw_path,
                            const RouteMatch& match) const {
  if (std::optional<HttpResponse> refusal = check(request, raw_path, match)) return *refusal;
  const Route& route = routes_.at(match.route_index);
  if (route.stream) {
    log::error("stream_route_without_stream", {log::field("route", request.route)});
    return HttpResponse::error(500, "internal", "the server failed to handle the request");
  }
  return run_handler(route.handler, request);
}

StreamDispatch Router::dispatch_stream(HttpRequest& request, std::string_view raw_path,
                                       const RouteMatch& match) const {
  StreamDispatch dispatch;
  if (std::optional<HttpResponse> refusal = check(request, raw_path, match)) {
    dispatch.refusal = std::move(*refusal);
    return dispatch;
  }
  dispatch.route = routes_.at(match.route_index).stream;
  if (!dispatch.route) {
    log::error("ordinary_route_dispatched_as_stream", {log::field("route", request.route)});
    dispatch.refusal =
        HttpResponse::error(500, "internal", "the server failed to handle the request");
  }
  return dispatch;
}

std::optional<HttpResponse> Router::check(HttpRequest& request, std::string_view raw_path,
                                          const RouteMatch& match) const {
  request.route = match.route;
  auto refusal = [&](int status, std::string_view code, std::string_view message) {
    return refuse(raw_path, request.headers, status, code, message);
  };
  switch (match.outcome) {
    case RouteMatch::Outcome::kBadPath:
      return refusal(400, "invalid_request", "the request path is not valid");
    case RouteMatch::Outcome::kNotFound:
      return refusal(404, "not_found", "no such endpoint");
    case RouteMatch::Outcome::kMethodNotAllowed: {
      HttpResponse response = refusal(405, "method_not_allowed",
                                      "this endpoint does not accept that method (see Allow)");
      response.headers.emplace_back("Allow", match.allow);
      return response;
    }
    case RouteMatch::Outcome::kFound:
      break;
  }
  if (match.route_index >= routes_.size()) {
    return refusal(500, "internal", "the server failed to handle the request");
  }
  const Route& route = routes_[match.route_index];
  // match() decoded the path's segments; they are not decoded twice.
  const std::vector<std::string>& segments = match.segments;
  if (segments.size() != route.segments.size()) {
    return refusal(400, "invalid_request", "the request path is not valid");
  }
  request.path_params.clear();
  for (size_t index = 0; index < route.segments.size(); ++index) {
    const std::string& segment = route.segments[index];
    if (is_parameter(segment)) {
      request.path_params[segment.substr(1, segment.size() - 2)] = segments[index];
    }
  }
  request.path = percent_decode(raw_path).value_or(std::string(raw_path));
  if (request.body.size() > route.options.max_body_bytes) {
    return refusal(413, "payload_too_large", "the request body is too large");
  }
  if (route.options.body_kind == BodyKind::kJson && !request.body.empty()) {
    std::optional<std::string_view> content_type = request.header("content-type");
    if (!content_type || !is_json_content_type(*content_type)) {
      return refusal(415, "unsupported_media_type",
                     "send the body as JSON with Content-Type: application/json");
    }
  }
  return std::nullopt;
}

void Router::set_error_dialect(std::string path_prefix, ErrorShape shape) {
  assert(shape);
  for (auto& [prefix, existing] : dialects_) {
    if (prefix == path_prefix) {
      existing = std::move(shape);
      return;
    }
  }
  dialects_.emplace_back(std::move(path_prefix), std::move(shape));
}

HttpResponse Router::refuse(std::string_view raw_path, const HeaderFields& headers, int status,
                            std::string_view code, std::string_view message) const {
  const ErrorShape* shape = nullptr;
  size_t longest = 0;
  for (const auto& [prefix, dialect] : dialects_) {
    if (raw_path.starts_with(prefix) && (!shape || prefix.size() > longest)) {
      shape = &dialect;
      longest = prefix.size();
    }
  }
  if (!shape) return HttpResponse::error(status, code, message);
  try {
    return (*shape)(raw_path, headers, status, code, message);
  } catch (const std::exception& caught) {
    log::error("error_dialect_failed", {log::field("error", caught.what())});
    return HttpResponse::error(status, code, message);
  }
}

std::vector<std::pair<std::string, std::string>> Router::routes() const {
  std::vector<std::pair<std::string, std::string>> listed;
  for (const Route& route : routes_) listed.emplace_back(route.method, route.path_template);
  return listed;
}

size_t Router::largest_body_limit() const {
  size_t largest = 0;
  for (const Route& route : routes_) largest = std::max(largest, route.options.max_body_bytes);
  return largest;
}

HttpResponse error_response(const Error& error, std::string_view route) {
  switch (error.kind) {
    case ErrorKind::kInvalidArgument:
      return HttpResponse::error(400, "invalid_request", error.message);
    case ErrorKind::kAuth:
      return HttpResponse::error(401, "unauthorized", error.message);
    case ErrorKind::kPermissionDenied:
      return HttpResponse::error(403, "forbidden", error.message);
    case ErrorKind::kNotFound:
      return HttpResponse::error(404, "not_found", error.message);
    case ErrorKind::kAlreadyExists:
      return HttpResponse::error(409, "conflict", error.message);
    case ErrorKind::kLimit:
      return HttpResponse::error(413, "payload_too_large", error.message);
    case ErrorKind::kRateLimited:
      return HttpResponse::error(429, "rate_limited", error.message);
    default:
      break;
  }
  log::error("handler_failed",
             {log::field("route", route), log::field("kind", error_kind_name(error.kind)),
              log::field("error", error.message)});
  return HttpResponse::error(500, "internal", "the server failed to handle the request");
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string decoded;
  decoded.reserve(text.size());
  // The text between escapes is copied a run at a time.
  size_t index = 0;
  while (index < text.size()) {
    const size_t escape = std::min(text.find('%', index), text.size());
    decoded.append(text.substr(index, escape - index));
    if (escape == text.size()) break;
    if (escape + 2 >= text.size()) return std::nullopt;
    int high = hex_value(text[escape + 1]);
    int low = hex_value(text[escape + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    decoded.push_back(static_cast<char>(high * 16 + low));
    index = escape + 3;
  }
  if (decoded.find('\0') != std::string::npos || !is_valid_utf8(decoded)) return std::nullopt;
  return decoded;
}

}  // namespace joey::cloud
