#include "cloud/marketplace_routes.h"

#include <utility>

#include "base/log.h"

namespace joey::cloud {
namespace {

// Catalog requests are bodiless GETs; a tiny limit keeps anything else cheap to refuse.
constexpr size_t kMarketplaceMaxBodyBytes = 1024;

// Reads only If-None-Match: nothing that could tell one caller from another.
HttpResponse serve_catalog_file(const CatalogFile& file, const HttpRequest& request) {
  HttpResponse response;
  response.content_type = kMarketplaceContentType;
  response.headers = {{"ETag", file.etag}, {"Cache-Control", kMarketplaceCacheControl}};
  const std::optional<std::string_view> if_none_match = request.header("if-none-match");
  if (if_none_match && if_none_match_matches(*if_none_match, file.etag)) {
    response.status = 304;
    return response;
  }
  response.status = 200;
  response.body = file.body;
  return response;
}

RouteOptions marketplace_route_options() {
  RouteOptions options;
  options.max_body_bytes = kMarketplaceMaxBodyBytes;
  options.body_kind = BodyKind::kAny;
  return options;
}

}  // namespace

void add_marketplace_routes(Router& router, std::shared_ptr<const MarketplaceCatalog> catalog) {
  router.add(
      "GET", "/api/marketplace/modes",
      [catalog](const HttpRequest& request) -> Result<HttpResponse> {
        return serve_catalog_file(catalog->modes, request);
      },
      marketplace_route_options());
  router.add(
      "GET", "/api/marketplace/mcps",
      [catalog](const HttpRequest& request) -> Result<HttpResponse> {
        return serve_catalog_file(catalog->mcps, request);
      },
      marketplace_route_options());
}

void register_marketplace_routes(Router& router) {
  const Result<MarketplaceCatalog>& builtin = builtin_marketplace();
  if (builtin.ok()) {
    add_marketplace_routes(router, std::make_shared<const MarketplaceCatalog>(*builtin));
    return;
  }
  log::error("marketplace_invalid", {log::field("error", builtin.error().message)});
  const Error error(ErrorKind::kInternal, "the built-in marketplace catalog is invalid");
  for (const char* path : {"/api/marketplace/modes", "/api/marketplace/mcps"}) {
    router.add(
        "GET", path, [error](const HttpRequest&) -> Result<HttpResponse> { return error; },
        marketplace_route_options());
  }
}

}  // namespace joey::cloud
