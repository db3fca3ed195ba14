#include "cloud/server_routes.h"

#include <exception>
#include <utility>

#include "base/log.h"

namespace joey::cloud {
namespace {

// Health checks never carry a body; a tiny limit keeps them cheap to refuse.
constexpr size_t kProbeMaxBodyBytes = 1024;

}  // namespace

void add_server_routes(Router& router, const MetricsRegistry& metrics, ReadinessCheck ready) {
  RouteOptions probe_options;
  probe_options.max_body_bytes = kProbeMaxBodyBytes;

  router.add(
      "GET", "/healthz",
      [](const HttpRequest&) -> Result<HttpResponse> {
        return HttpResponse::json(200, {{"status", "ok"}});
      },
      probe_options);

  router.add(
      "GET", "/readyz",
      [ready = std::move(ready)](const HttpRequest&) -> Result<HttpResponse> {
        if (!ready) return HttpResponse::json(200, {{"status", "ready"}});
        Status status = ready();
        if (status.ok()) return HttpResponse::json(200, {{"status", "ready"}});
        log::warn("not_ready", {log::field("reason", status.error().message)});
        return HttpResponse::json(503,
                                  {{"status", "not_ready"}, {"reason", status.error().message}});
      },
      probe_options);

  router.add(
      "GET", "/metrics",
      [&metrics](const HttpRequest&) -> Result<HttpResponse> {
        return HttpResponse::text(200, metrics.render(), std::string(kPrometheusContentType));
      },
      probe_options);
}

}  // namespace joey::cloud
