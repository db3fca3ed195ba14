#include "cloud/usage_routes.h"

#include <chrono>
#include <string>
#include <utility>

namespace joey::cloud {
namespace {

constexpr size_t kSmallBody = 16 * 1024;

HttpResponse private_json(int status, const nlohmann::json& value) {
  HttpResponse response = HttpResponse::json(status, value);
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void register_usage_routes(Router& router, IdentityService& identity, UsageService& usage,
                           AuthRouteOptions options, std::function<int64_t()> clock_ms) {
  UsageService* service = &usage;
  if (!clock_ms) clock_ms = system_now_ms;
  auto add = [&router, &identity, &options](std::string path, SignedInHandler handler) {
    add_signed_in_route(router, identity, options, "GET", std::move(path), std::move(handler),
                        kSmallBody);
  };

  add("/api/orgs/{id}/usage",
      [service, clock_ms](const HttpRequest& request,
                          const Caller& caller) -> Result<HttpResponse> {
        const std::string org_id(request.path_param("id"));
        const UsageQuery query = TRY(parse_usage_query(request.query, clock_ms(), true));
        return private_json(200, TRY(service->org_usage(caller.user, org_id, query)).to_json());
      });

  add("/api/me/usage",
      [service, clock_ms](const HttpRequest& request,
                          const Caller& caller) -> Result<HttpResponse> {
        const UsageQuery query = TRY(parse_usage_query(request.query, clock_ms(), false));
        return private_json(200, TRY(service->user_usage(caller.user, query)).to_json());
      });
}

}  // namespace joey::cloud
