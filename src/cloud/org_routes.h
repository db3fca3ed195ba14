// The organization routes of joeyd (docs/openapi.yaml, /api/orgs/* and
// /api/invites/{token}/accept): organizations, invites, members and roles, settings,
// provider keys and the audit log, over cloud/org_service.h.
//
// Every route needs a signed-in caller (cloud/auth_routes.h authenticate(): bearer
// token or session cookie with the same-origin check for writes). A caller who is not
// a member gets 404 for every /api/orgs/{id}… route, so existence does not leak; a
// member without the role gets 403. Responses that carry a secret (an invite token)
// say Cache-Control: no-store; no response ever carries a provider key.
//
// Thread-safety: the handlers hold references to `identity` and `orgs`, which must
// outlive the router; they may run on any number of threads at once.
#pragma once

#include "cloud/auth_routes.h"
#include "cloud/identity.h"
#include "cloud/org_service.h"
#include "cloud/router.h"

namespace joey::cloud {

void register_org_routes(Router& router, IdentityService& identity, OrgService& orgs,
                         AuthRouteOptions options);

}  // namespace joey::cloud
