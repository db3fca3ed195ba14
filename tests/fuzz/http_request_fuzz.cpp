// Feeds arbitrary bytes to joeyd's request handling as a connection would see them:
// joeyd's request parser (on Beast's basic_parser) with the server's limits (header
// size, per-route body size), then the router and its error boundary — under /proxy/ with
// the model proxy's error dialect, as joeyd registers it. Checks that every answer is a
// well-formed status and that JSON answers are JSON, and that nothing crashes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "base/json.h"
#include "base/log.h"
#include "cloud/http_server.h"
#include "cloud/metrics.h"
#include "cloud/proxy_routes.h"
#include "cloud/router.h"
#include "cloud/server_routes.h"

namespace {

using namespace joey;
using namespace joey::cloud;

struct Fixture {
  MetricsRegistry registry;
  Router router;
  ServerOptions options;

  Fixture() {
    log::set_level(log::Level::kOff);
    options.max_header_bytes = 4096;
    add_server_routes(router, registry, nullptr);
    RouteOptions small;
    small.max_body_bytes = 512;
    router.add(
        "POST", "/api/echo",
        [](const HttpRequest& request) -> Result<HttpResponse> {
          nlohmann::json body = TRY(parse_json_body(request, {"name", "list"}));
          return HttpResponse::json(200, body);
        },
        small);
    router.add("GET", "/api/orgs/{id}/members/{user_id}",
               [](const HttpRequest& request) -> Result<HttpResponse> {
                 return HttpResponse::json(200, {{"id", request.path_param("id")},
                                                 {"query_bytes", request.query.size()}});
               });
    router.add("PUT", "/api/throw/{id}", [](const HttpRequest&) -> Result<HttpResponse> {
      throw std::runtime_error("thrown");
    });
    router.set_error_dialect("/proxy/", proxy_error_dialect);
    router.add(
        "POST", "/proxy/v1/messages",
        [](const HttpRequest& request) -> Result<HttpResponse> {
          return HttpResponse::json(200, {{"bytes", request.body.size()}});
        },
        small);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* fixture = new Fixture();
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  HttpResponse response = serve_request_bytes(bytes, fixture->router, fixture->options);
  if (response.status < 200 || response.status > 599) std::abort();
  if (response.content_type == "application/json" && parse_json(response.body).is_discarded()) {
    std::abort();
  }
  return 0;
}
