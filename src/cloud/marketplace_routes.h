// The marketplace API: GET /api/marketplace/modes and GET /api/marketplace/mcps serve the
// catalog (cloud/marketplace.h) as YAML `items: [...]`, Content-Type
// application/yaml; charset=utf-8, with a strong ETag and Cache-Control: public,
// max-age=300; a request whose If-None-Match matches the ETag gets 304 with no body.
//
// Privacy (P5): anyone may fetch the catalog, and the handlers learn nothing about who
// does. They never read Authorization, cookies, the query or the body, never record a
// caller in the request context (the access log shows user_id "-"), and set no cookie; a
// signed-in client and an anonymous one get byte-identical answers.
//
// Thread-safety: register before serving (Router's rule); the handlers share the
// immutable catalog and may run on any number of threads at once.
#pragma once

#include <memory>

#include "cloud/marketplace.h"
#include "cloud/router.h"

namespace joey::cloud {

inline constexpr const char* kMarketplaceContentType = "application/yaml; charset=utf-8";
inline constexpr const char* kMarketplaceCacheControl = "public, max-age=300";

// Registers both routes serving `catalog` (not null), replacing earlier registrations of
// the same routes (how `joeyd serve --marketplace DIR` replaces the built-in catalog).
void add_marketplace_routes(Router& router, std::shared_ptr<const MarketplaceCatalog> catalog);

// Registers both routes serving builtin_marketplace(). Should the built-in catalog be
// invalid (joeyd serve refuses to start then; this covers other embedders), the routes
// answer 500 and the validation error is logged.
void register_marketplace_routes(Router& router);

}  // namespace joey::cloud
