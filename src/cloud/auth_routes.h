// The identity routes of joeyd (docs/openapi.yaml): sign-up, sign-in, sign-out,
// /api/me, personal access tokens, and the device login `joey login` uses, plus the
// /device page where a signed-in person approves a code.
//
// Authentication: `Authorization: Bearer joey_pat_…` on every API route, else the
// HttpOnly, SameSite=Lax session cookie the sign-in sets (Secure unless the public URL
// is plain http). Writes authenticated by the cookie — and sign-in itself — refuse
// cross-site requests by their Sec-Fetch-Site or Origin header, as current web
// frameworks do; clients that send neither (curl, the agent) pass, and bearer tokens
// are not subject to it (a browser never attaches them on its own).
//
// Thread-safety: the handlers hold a reference to `identity`, which must outlive the
// router; they may run on any number of threads at once.
#pragma once

#include <functional>
#include <string>

#include "cloud/identity.h"
#include "cloud/router.h"

namespace joey::cloud {

inline constexpr const char* kSessionCookie = "joey_session";

struct AuthRouteOptions {
  // The URL people reach the server at ("https://joey.example.com"); used for the
  // device page's link, the cookie's Secure flag and the same-origin check. Empty:
  // derived from each request's Host header, over http.
  std::string public_url;
};

// "scheme://host[:port]" people reach the server at: the public URL's origin, else
// http:// and the request's Host header. For links the server hands out.
std::string public_origin(const AuthRouteOptions& options, const HttpRequest& request);

// The caller of `request` (token or session), recording the user id for the access
// log. kAuth when there is no valid credential; kPermissionDenied for a cross-site
// cookie-authenticated write.
Result<Caller> authenticate(IdentityService& identity, const AuthRouteOptions& options,
                            const HttpRequest& request);

// A handler that runs only for a signed-in caller.
using SignedInHandler = std::function<Result<HttpResponse>(const HttpRequest&, const Caller&)>;

// Registers METHOD `path` so that authenticate() runs first and `handler` gets the
// caller; the route takes JSON bodies up to `max_body_bytes`. `identity` must outlive
// the router.
void add_signed_in_route(Router& router, IdentityService& identity, const AuthRouteOptions& options,
                         std::string method, std::string path, SignedInHandler handler,
                         size_t max_body_bytes);

void register_auth_routes(Router& router, IdentityService& identity, AuthRouteOptions options);

}  // namespace joey::cloud
