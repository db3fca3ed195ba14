// The shared-link routes of joeyd (docs/openapi.yaml): POST /api/tasks/{task_id}/share,
// DELETE /api/shares/{id}, and the page GET /s/{token} — over cloud/share_service.h.
//
// The page is HTML with no script, a Content-Security-Policy that forbids any
// (cloud/share_page.h), Cache-Control: no-store (a revoked link is never served from a
// cache), Referrer-Policy: no-referrer and X-Robots-Tag: noindex. Every link that must
// not open gets the same 404 page.
//
// Thread-safety: the handlers hold references to `identity` and `shares`, which must
// outlive the router; they may run on any number of threads at once.
#pragma once

#include "cloud/auth_routes.h"
#include "cloud/identity.h"
#include "cloud/router.h"
#include "cloud/share_service.h"

namespace joey::cloud {

void register_share_routes(Router& router, IdentityService& identity, ShareService& shares,
                           AuthRouteOptions options);

}  // namespace joey::cloud
