#include "cloud/auth_routes.h"

#include <utility>

#include "base/json.h"
#include "base/strings.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"

namespace joey::cloud {
namespace {

constexpr size_t kSmallBody = 16 * 1024;

// The value of cookie `name` in the Cookie header, or "".
std::string cookie_value(const HttpRequest& request, std::string_view name) {
  const std::optional<std::string_view> header = request.header("cookie");
  if (!header) return "";
  std::string_view rest = *header;
  while (!rest.empty()) {
    const size_t end = rest.find(';');
    std::string_view pair = trim(rest.substr(0, end));
    const size_t equals = pair.find('=');
    if (equals != std::string_view::npos && pair.substr(0, equals) == name) {
      return std::string(pair.substr(equals + 1));
    }
    if (end == std::string_view::npos) break;
    rest = rest.substr(end + 1);
  }
  return "";
}

bool is_loopback_authority(std::string_view authority) {
  std::string_view host = authority;
  if (host.starts_with("[")) {
    host = host.substr(1, host.find(']') - 1);
  } else if (const size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  return host == "localhost" || host.starts_with("127.") || host == "::1";
}

// Refuses a request a browser sent from another site: the defence against cross-site
// request forgery for cookie-authenticated writes and for sign-in itself.
Status check_same_origin(const AuthRouteOptions& options, const HttpRequest& request) {
  if (const auto site = request.header("sec-fetch-site")) {
    if (*site == "same-origin" || *site == "none") return ok_status();
    return make_error(ErrorKind::kPermissionDenied, "cross-site request refused");
  }
  if (const auto origin = request.header("origin")) {
    if (ascii_lower(*origin) == ascii_lower(public_origin(options, request))) return ok_status();
    return make_error(ErrorKind::kPermissionDenied, "cross-site request refused");
  }
  return ok_status();
}

std::string session_cookie(const AuthRouteOptions& options, const HttpRequest& request,
                           const std::string& value, int64_t max_age) {
  const std::string origin = public_origin(options, request);
  const bool secure = !(origin.starts_with("http://") && is_loopback_authority(origin.substr(7)));
  return std::string(kSessionCookie) + "=" + value +
         "; Path=/; HttpOnly; SameSite=Lax; Max-Age=" + std::to_string(max_age) +
         (secure ? "; Secure" : "");
}

HttpResponse signed_in(const AuthRouteOptions& options, const HttpRequest& request,
                       const NewSession& session, int status, int64_t now) {
  HttpResponse response = HttpResponse::json(status, {{"user", session.user.to_json()}});
  response.headers.emplace_back("Set-Cookie", session_cookie(options, request, session.cookie_value,
                                                             session.expires_at - now));
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

std::string required_string(const nlohmann::json& body, const char* field) {
  const std::string* value = string_field(body, field);
  return value ? *value : std::string();
}

Status require_fields(const nlohmann::json& body, std::initializer_list<const char*> fields) {
  for (const char* field : fields) {
    if (!string_field(body, field)) {
      return make_error(ErrorKind::kInvalidArgument,
                        std::string("the field \"") + field + "\" (a string) is required");
    }
  }
  return ok_status();
}

HttpResponse no_content() { return HttpResponse::text(204, "", "text/plain"); }

nlohmann::json token_json(const TokenInfo& token) {
  nlohmann::json json = {{"id", token.id}, {"name", token.name}, {"created_at", token.created_at}};
  json["last_used_at"] = token.last_used_at ? nlohmann::json(*token.last_used_at) : nullptr;
  return json;
}

// The /device page: enter the code `joey login` printed. Static: the code in the link
// is read by the script from the address bar, never echoed by the server.
constexpr std::string_view kDevicePage = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>joey — sign in a device</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.4rem;font:inherit}
button{margin-top:1rem;padding:.5rem 1rem;font:inherit}#status{margin-top:1rem}</style>
</head><body>
<h1>Sign in joey on your device</h1>
<p>Enter the code <code>joey login</code> printed. Sign in first if this browser is not signed in.</p>
<form id="form">
<label for="email">Email (only if not signed in)</label><input id="email" type="email" autocomplete="username">
<label for="password">Password</label><input id="password" type="password" autocomplete="current-password">
<label for="code">Code</label><input id="code" required autocomplete="off" placeholder="WDJB-MJHT">
<button type="submit">Approve</button></form>
<p id="status" role="status"></p>
<script>
const code = new URLSearchParams(location.search).get('code');
if (code) document.getElementById('code').value = code;
const say = (text) => { document.getElementById('status').textContent = text; };
const post = (path, body) => fetch(path, {method: 'POST', credentials: 'same-origin',
  headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
document.getElementById('form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const email = document.getElementById('email').value;
  if (email) {
    const login = await post('/api/auth/login', {email, password: document.getElementById('password').value});
    if (!login.ok) { say((await login.json()).error?.message ?? 'Sign-in failed'); return; }
  }
  const approve = await post('/api/auth/device/approve', {user_code: document.getElementById('code').value});
  say(approve.ok ? 'Approved: joey on your device is signed in. You can close this page.'
                 : ((await approve.json()).error?.message ?? 'Approval failed'));
});
</script></body></html>
)html";

// The CSP source for the inline element `tag` of `page` ("'sha256-…'"): the page's own
// script and style run, nothing injected into it would.
std::string inline_hash(std::string_view page, std::string_view tag) {
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  const size_t start = page.find(open) + open.size();
  const std::string_view body = page.substr(start, page.find(close, start) - start);
  std::string encoded = crypto::base64url_encode(crypto::sha256(body));
  for (char& c : encoded) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (encoded.size() % 4 != 0) encoded.push_back('=');
  return "'sha256-" + encoded + "'";
}

const std::string& device_page_policy() {
  static const std::string policy = "default-src 'none'; script-src " +
                                    inline_hash(kDevicePage, "script") + "; style-src " +
                                    inline_hash(kDevicePage, "style") +
                                    "; connect-src 'self'; form-action 'self'; "
                                    "frame-ancestors 'none'; base-uri 'none'";
  return policy;
}

}  // namespace

std::string public_origin(const AuthRouteOptions& options, const HttpRequest& request) {
  if (!options.public_url.empty()) {
    const size_t scheme_end = options.public_url.find("://");
    const size_t path =
        options.public_url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
    return options.public_url.substr(0, path);
  }
  return "http://" + std::string(request.header("host").value_or("localhost"));
}

Result<Caller> authenticate(IdentityService& identity, const AuthRouteOptions& options,
                            const HttpRequest& request) {
  if (const auto authorization = request.header("authorization")) {
    if (!ascii_istarts_with(*authorization, "bearer ")) {
      return make_error(ErrorKind::kAuth, "the Authorization header must be \"Bearer TOKEN\"");
    }
    Caller caller = TRY(identity.authenticate_token(std::string(trim(authorization->substr(7)))));
    request.context.user_id = caller.user.id;
    return caller;
  }
  const std::string session = cookie_value(request, kSessionCookie);
  if (session.empty()) {
    return make_error(ErrorKind::kAuth, "sign in, or send Authorization: Bearer TOKEN");
  }
  Caller caller = TRY(identity.authenticate_session(session));
  if (request.method != "GET" && request.method != "HEAD") TRY(check_same_origin(options, request));
  request.context.user_id = caller.user.id;
  return caller;
}

void add_signed_in_route(Router& router, IdentityService& identity, const AuthRouteOptions& options,
                         std::string method, std::string path, SignedInHandler handler,
                         size_t max_body_bytes) {
  router.add(
      std::move(method), std::move(path),
      [identity = &identity, options,
       handler = std::move(handler)](const HttpRequest& request) -> Result<HttpResponse> {
        const Caller caller = TRY(authenticate(*identity, options, request));
        return handler(request, caller);
      },
      RouteOptions{max_body_bytes, BodyKind::kJson});
}

void register_auth_routes(Router& router, IdentityService& identity, AuthRouteOptions options) {
  const RouteOptions small{kSmallBody, BodyKind::kJson};
  IdentityService* service = &identity;

  router.add(
      "POST", "/api/auth/signup",
      [service, options](const HttpRequest& request) -> Result<HttpResponse> {
        TRY(check_same_origin(options, request));
        nlohmann::json body = TRY(parse_json_body(request, {"email", "password", "name"}));
        TRY(require_fields(body, {"email", "password", "name"}));
        NewSession session =
            TRY(service->signup(required_string(body, "email"), required_string(body, "password"),
                                required_string(body, "name")));
        request.context.user_id = session.user.id;
        return signed_in(options, request, session, 201, service->now());
      },
      small);

  router.add(
      "POST", "/api/auth/login",
      [service, options](const HttpRequest& request) -> Result<HttpResponse> {
        TRY(check_same_origin(options, request));
        nlohmann::json body = TRY(parse_json_body(request, {"email", "password"}));
        TRY(require_fields(body, {"email", "password"}));
        Throttled throttled;
        Result<NewSession> session =
            service->login(required_string(body, "email"), required_string(body, "password"),
                           request.remote_address, &throttled);
        if (!session.ok()) {
          if (session.error().kind != ErrorKind::kRateLimited) return session.error();
          HttpResponse response = HttpResponse::error(429, "rate_limited", session.error().message);
          response.headers.emplace_back("Retry-After", std::to_string(throttled.retry_after));
          return response;
        }
        request.context.user_id = session->user.id;
        return signed_in(options, request, *session, 200, service->now());
      },
      small);

  router.add(
      "POST", "/api/auth/logout",
      [service, options](const HttpRequest& request) -> Result<HttpResponse> {
        Caller caller = TRY(authenticate(*service, options, request));
        TRY(service->logout(caller));
        HttpResponse response = no_content();
        response.headers.emplace_back("Set-Cookie", session_cookie(options, request, "", 0));
        return response;
      },
      small);

  router.add("GET", "/api/me",
             [service, options](const HttpRequest& request) -> Result<HttpResponse> {
               Caller caller = TRY(authenticate(*service, options, request));
               return HttpResponse::json(200, TRY(service->me(caller.user)));
             });

  router.add(
      "POST", "/api/tokens",
      [service, options](const HttpRequest& request) -> Result<HttpResponse> {
        Caller caller = TRY(authenticate(*service, options, request));
        nlohmann::json body = TRY(parse_json_body(request, {"name"}));
        TRY(require_fields(body, {"name"}));
        NewToken token = TRY(service->create_token(caller.user, required_string(body, "name")));
        HttpResponse response = HttpResponse::json(201, {{"id", token.id},
                                                         {"name", token.name},
                                                         {"token", token.token},
                                                         {"created_at", token.created_at}});
        response.headers.emplace_back("Cache-Control", "no-store");
        return response;
      },
      small);

  router.add("GET", "/api/tokens",
             [service, options](const HttpRequest& request) -> Result<HttpResponse> {
               Caller caller = TRY(authenticate(*service, options, request));
               nlohmann::json tokens = nlohmann::json::array();
               for (const TokenInfo& token : TRY(service->list_tokens(caller.user))) {
                 tokens.push_back(token_json(token));
               }
               return HttpResponse::json(200, {{"tokens", std::move(tokens)}});
             });

  router.add("DELETE", "/api/tokens/{id}",
             [service, options](const HttpRequest& request) -> Result<HttpResponse> {
               Caller caller = TRY(authenticate(*service, options, request));
               TRY(service->revoke_token(caller.user, std::string(request.path_param("id"))));
               return no_content();
             });

  router.add(
      "POST", "/api/auth/device",
      [service, options](const HttpRequest& request) -> Result<HttpResponse> {
        if (!request.body.empty()) (void)TRY(parse_json_body(request, {"client_name"}));
        DeviceStart start = TRY(service->start_device_login());
        const std::string page = public_origin(options, request) + "/device";
        HttpResponse response = HttpResponse::json(
            200, {{"device_code", start.device_code},
                  {"user_code", start.user_code},
                  {"verification_uri", page},
                  {"verification_uri_complete", page + "?code=" + start.user_code},
                  {"interval", start.interval},
                  {"expires_in", start.expires_in}});
        response.headers.emplace_back("Cache-Control", "no-store");
        return response;
      },
      small);

  router.add(
      "POST", "/api/auth/device/approve",
      [service, options](const HttpRequest& request) -> Result<HttpResponse> {
        Caller caller = TRY(authenticate(*service, options, request));
        nlohmann::json body = TRY(parse_json_body(request, {"user_code"}));
        TRY(require_fields(body, {"user_code"}));
        TRY(service->approve_device_login(caller.user, required_string(body, "user_code")));
        return no_content();
      },
      small);

  router.add(
      "POST", "/api/auth/device/token",
      [service](const HttpRequest& request) -> Result<HttpResponse> {
        nlohmann::json body =
            TRY(parse_json_body(request, {"device_code", "client_id", "grant_type"}));
        TRY(require_fields(body, {"device_code"}));
        DevicePoll poll = TRY(service->poll_device_login(required_string(body, "device_code")));
        if (!poll.token) {
          std::string message = poll.error == "authorization_pending" ? "waiting for approval"
                                : poll.error == "slow_down"     ? "polling too fast; slow down"
                                : poll.error == "expired_token" ? "the code expired"
                                : poll.error == "access_denied" ? "the sign-in was denied"
                                                                : "unknown or used device code";
          return HttpResponse::error(400, poll.error, message);
        }
        HttpResponse response = HttpResponse::json(
            200,
            {{"token", poll.token->token}, {"token_id", poll.token->id}, {"token_type", "Bearer"}});
        response.headers.emplace_back("Cache-Control", "no-store");
        return response;
      },
      small);

  router.add("GET", "/device", [](const HttpRequest&) -> Result<HttpResponse> {
    HttpResponse response =
        HttpResponse::text(200, std::string(kDevicePage), "text/html; charset=utf-8");
    response.headers.emplace_back("Content-Security-Policy", device_page_policy());
    response.headers.emplace_back("X-Frame-Options", "DENY");
    return response;
  });
}

}  // namespace joey::cloud
