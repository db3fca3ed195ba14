// Routes requests to handlers by method and path template, and is the one error
// boundary every handler sits behind.
//
// Templates are literal segments and {name} parameters: "/api/tokens/{id}",
// "/api/orgs/{id}/members/{user_id}". A parameter matches one non-empty segment and is
// percent-decoded; literal segments must match exactly. An unknown path gets 404, a
// known path with another method 405 with an Allow header.
//
// The boundary (handle()): a route that takes JSON refuses a body without
// Content-Type: application/json (415); the handler's Result error becomes
// {"error": {"code", "message"}} with the status its kind maps to (error_response());
// a thrown exception becomes a 500. Internal errors are logged with their detail and
// answered with a generic message, so no internal detail reaches the client.
//
// Error dialects (set_error_dialect()): the paths under a prefix may answer their
// refusals in another API's error shape — the model proxy's clients are OpenAI and
// Anthropic SDKs, which read `error.type` and `error.message` from their own shape.
//
// Stream routes (add_stream(), cloud/stream_route.h) write their response piece by
// piece; the transport runs them. Matching, 413, 415, path parameters and the route
// label are the same as for ordinary routes: dispatch_stream() applies them.
//
// Thread-safety: add() and add_stream() only before serving; afterwards every const method may be
// called from any number of threads at once.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "cloud/http_types.h"

namespace joey::cloud {

inline constexpr size_t kDefaultMaxBodyBytes = 1024 * 1024;

// The label routes get when nothing matched, so metrics and logs never carry a raw path.
inline constexpr std::string_view kUnmatchedRoute = "(unmatched)";

using Handler = std::function<Result<HttpResponse>(const HttpRequest&)>;

// Defined in cloud/stream_route.h, which includes Asio; the router only holds it.
class StreamRoute;

enum class BodyKind {
  kJson,  // a non-empty body must say Content-Type: application/json (else 415)
  kAny,   // the handler checks the body itself (webhooks, compressed telemetry)
};

struct RouteOptions {
  size_t max_body_bytes = kDefaultMaxBodyBytes;  // larger bodies get 413
  BodyKind body_kind = BodyKind::kJson;
};

// Where a request goes, decided from the request line alone (before the body is read).
struct RouteMatch {
  enum class Outcome { kFound, kNotFound, kMethodNotAllowed, kBadPath };
  Outcome outcome = Outcome::kNotFound;
  std::string route;          // the template (kFound, kMethodNotAllowed), else kUnmatchedRoute
  size_t max_body_bytes = 0;  // the limit to enforce while reading the body
  std::string allow;          // for kMethodNotAllowed: "GET, POST"
  size_t route_index = 0;     // internal: which route matched
  bool stream = false;        // kFound: a stream route (run it with dispatch_stream())
  std::vector<std::string> segments;  // kFound: the path's segments, percent-decoded
};

// The header fields of a request as the parsers keep them (names lower case).
using HeaderFields = std::vector<std::pair<std::string, std::string>>;

// Builds a refusal for a path under an error dialect's prefix: `status`, joeyd's error
// `code` ("not_found") and `message`, from the raw path and the request's header fields
// (which API the client speaks may show there).
using ErrorShape =
    std::function<HttpResponse(std::string_view raw_path, const HeaderFields& headers, int status,
                               std::string_view code, std::string_view message)>;

// What dispatch_stream() decided: the route to run, or (route null) the refusal to send.
struct StreamDispatch {
  std::shared_ptr<const StreamRoute> route;
  HttpResponse refusal;
};

class Router {
 public:
  // Registers `handler` for `method` (upper case) and `path_template`. A template is a
  // programmer's constant: it must start with '/'. Registering the same method and
  // template twice replaces the first handler.
  void add(std::string method, std::string path_template, Handler handler,
           RouteOptions options = {});

  // Registers a stream route, like add() (the same template rules; registering the same
  // method and template again replaces either kind). `route` must not be null.
  void add_stream(std::string method, std::string path_template,
                  std::shared_ptr<const StreamRoute> route, RouteOptions options = {});

  // Matches a raw (still percent-encoded) path without its query.
  RouteMatch match(std::string_view method, std::string_view raw_path) const;

  // Runs the request through the boundary: fills request.route, request.path and
  // request.path_params from `raw_path`, checks the content type, calls the handler
  // and maps any error or exception to a JSON error response. Never throws. A stream
  // route cannot run here (it needs a connection): after the checks pass it gets a 500
  // (logged).
  HttpResponse handle(HttpRequest& request, std::string_view raw_path) const;
  HttpResponse handle(HttpRequest& request, std::string_view raw_path,
                      const RouteMatch& match) const;

  // For a match of a stream route (match.stream): fills `request` and runs the checks
  // exactly as handle() does, then returns the route for the transport to run, or the
  // refusal (400/404/405/413/415) to send instead. Never throws.
  StreamDispatch dispatch_stream(HttpRequest& request, std::string_view raw_path,
                                 const RouteMatch& match) const;

  // Refusals for raw paths that start with `path_prefix` are built by `shape` instead of
  // HttpResponse::error: the router's own (400, 404, 405, 413, 415, 500) and the
  // transport's once the request line is read (refuse()). One dialect per prefix; the
  // longest matching prefix wins.
  void set_error_dialect(std::string path_prefix, ErrorShape shape);
  // A refusal for `raw_path`: in the dialect of its prefix, else joeyd's
  // {"error": {"code", "message"}}.
  HttpResponse refuse(std::string_view raw_path, const HeaderFields& headers, int status,
                      std::string_view code, std::string_view message) const;

  // The largest max_body_bytes of any route; 0 when there are none.
  size_t largest_body_limit() const;

  // Every registered (method, template), in registration order: what docs/openapi.yaml
  // must describe.
  std::vector<std::pair<std::string, std::string>> routes() const;

 private:
  struct Route {
    std::string method;
    std::string path_template;
    std::vector<std::string> segments;          // "{name}" for parameters
    Handler handler;                            // ordinary routes
    std::shared_ptr<const StreamRoute> stream;  // stream routes (then handler is empty)
    RouteOptions options;
  };

  // The checks shared by handle() and dispatch_stream(): fills `request`; nullopt when
  // the route may run.
  std::optional<HttpResponse> check(HttpRequest& request, std::string_view raw_path,
                                    const RouteMatch& match) const;
  void add_route(std::string method, std::string path_template, Handler handler,
                 std::shared_ptr<const StreamRoute> stream, RouteOptions options);

  std::vector<Route> routes_;
  std::vector<std::pair<std::string, ErrorShape>> dialects_;
  // Indexes into routes_ by segment count, in registration order: a path is compared only
  // with the routes of its length.
  std::vector<std::vector<size_t>> by_length_;
};

// The JSON error response for `error`: kInvalidArgument 400 invalid_request, kAuth 401
// unauthorized, kPermissionDenied 403 forbidden, kNotFound 404 not_found,
// kAlreadyExists 409 conflict, kLimit 413 payload_too_large, kRateLimited 429
// rate_limited; any other kind 500 internal with a generic message (the detail is
// logged under `route`).
HttpResponse error_response(const Error& error, std::string_view route);

// Percent-decodes `text` ("%2F" → "/"). Nullopt when an escape is malformed or the
// result holds a NUL byte or invalid UTF-8. '+' is left as it is (paths, not forms).
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace joey::cloud
