// The usage routes of joeyd (docs/openapi.yaml, "usage"), over cloud/usage_service.h:
//   GET /api/orgs/{id}/usage?from=&to=&group_by=day|member|model  (admins and owners;
//       404 for a non-member, 403 for a member)
//   GET /api/me/usage?from=&to=&group_by=day|model                (the caller's own rows)
// Both need a signed-in caller (cloud/auth_routes.h authenticate()); a malformed query
// is 400 naming the parameter. Responses say Cache-Control: no-store.
//
// Thread-safety: the handlers hold references to `identity` and `usage`, which must
// outlive the router; they may run on any number of threads at once.
#pragma once

#include <cstdint>
#include <functional>

#include "cloud/auth_routes.h"
#include "cloud/identity.h"
#include "cloud/router.h"
#include "cloud/usage_service.h"

namespace joey::cloud {

// `clock_ms` gives Unix milliseconds now (the default end of a report); empty means the
// system clock.
void register_usage_routes(Router& router, IdentityService& identity, UsageService& usage,
                           AuthRouteOptions options, std::function<int64_t()> clock_ms = {});

}  // namespace joey::cloud
