#include "cloud/org_routes.h"

#include <string>
#include <utility>

#include "base/json.h"

namespace joey::cloud {
namespace {

constexpr size_t kSmallBody = 16 * 1024;
constexpr size_t kSettingsBody = 512 * 1024;

Result<std::string> string_member(const nlohmann::json& body, const char* field) {
  const std::string* value = string_field(body, field);
  if (!value) {
    return make_error(ErrorKind::kInvalidArgument,
                      std::string("the field \"") + field + "\" (a string) is required");
  }
  return *value;
}

std::string param(const HttpRequest& request, std::string_view name) {
  return std::string(request.path_param(name));
}

HttpResponse no_content() { return HttpResponse::text(204, "", "text/plain"); }

nlohmann::json provider_key_json(const ProviderKeyInfo& key) {
  return {{"provider", key.provider}, {"last4", key.last4}, {"updated_at", key.updated_at}};
}

}  // namespace

void register_org_routes(Router& router, IdentityService& identity, OrgService& orgs,
                         AuthRouteOptions options) {
  OrgService* service = &orgs;
  auto add = [&router, &identity, &options](std::string method, std::string path,
                                            SignedInHandler handler, size_t max_body) {
    add_signed_in_route(router, identity, options, std::move(method), std::move(path),
                        std::move(handler), max_body);
  };

  add(
      "POST", "/api/orgs",
      [service](const HttpRequest& request, const Caller& caller) -> Result<HttpResponse> {
        const nlohmann::json body = TRY(parse_json_body(request, {"name"}));
        const OrgInfo org = TRY(service->create_org(caller.user, TRY(string_member(body, "name"))));
        return HttpResponse::json(201, org.to_json());
      },
      kSmallBody);

  add(
      "GET", "/api/orgs/{id}",
      [service](const HttpRequest& request, const Caller& caller) -> Result<HttpResponse> {
        return HttpResponse::json(
            200, TRY(service->get_org(caller.user, param(request, "id"))).to_json());
      },
      kSmallBody);

  add(
      "POST", "/api/orgs/{id}/invites",
      [service, options](const HttpRequest& request, const Caller& caller) -> Result<HttpResponse> {
        const nlohmann::json body = TRY(parse_json_body(request, {"email", "role"}));
        const std::string email = TRY(string_member(body, "email"));
        const std::string role = TRY(string_member(body, "role"));
        const NewInvite invite =
            TRY(service->create_invite(caller.user, param(request, "id"), email, role));
        HttpResponse response = HttpResponse::json(
            201, {{"invite_url", public_origin(options, request) + "/invites/" + invite.token},
                  {"token", invite.token},
                  {"email", invite.email},
                  {"role", role_name(invite.role)},
                  {"expires_at", invite.expires_at}});
        response.headers.emplace_back("Cache-Control", "no-store");
        return response;
      },
      kSmallBody);

  add(
      "POST", "/api/invites/{token}/accept",
      [service](const HttpRequest& request, const Caller& caller) -> Result<HttpResponse> {
        if (!request.body.empty()) (void)TRY(parse_json_body(request, {}));
        const OrgInfo org = TRY(service->accept_invite(caller.user, param(request, "token")));
        return HttpResponse::json(200, {{"org", org.to_json()}});
      },
      kSmallBody);

  add(
      "GET", "/api/orgs/{id}/members",
      [service](const HttpRequest& request, const Caller& caller) -> Result<HttpResponse> {
        nlohmann::json members = nlohmann::json::array();
        for (const Member& member : TRY(service->list_members(caller.user, param(request, "id")))) {
          members.push_back({{"user_id", member.user_id},
                             {"email", member.email},
                             {"name", member.name},
                             {"role", role_name(member.role)}});
        }
        return HttpResponse::json(200, {{"members", std::move(members)}});
      },
      kSmallBody);

  add(
      "PATCH", "/api/orgs/{id}/members/{user_id}",
      [service](const HttpRequest& request, const Caller& caller) -> Result<HttpResponse> {
        const nlohmann::json body = TRY(parse_json_body(request, {"role"}));
        const std::string role = TRY(string_member(body, "role"));
        const std::string user_id = param(request, "user_id");
        TRY(service->change_role(caller.user, param(request, "id"), user_id, role));
        return HttpResponse::json(200, {{"user_id", user_id}, {"role", role}});
      },
      kSmallBody);

  add(
      "DELETE", "/api/orgs/{id}/members/{user_id}",
      [service](const HttpRequest& request, const Caller& caller) -> Result<HttpResponse> {
        TRY(service->remove_member(caller.user, param(request, "id"), param(request, "user_id")));
        return no_content();
      },
      kSmallBody);

  add(
      "GET", "/api/orgs/{id}/settings",
      [service](const HttpRequest& request, const Caller& caller) -> Result<HttpResponse> {
        return HttpResponse::json(200,
                                  TRY(service->get_settings(caller.user, param(request, "id"))));
      },
      kSmallBody);

  add(
      "PATCH", "/api/orgs/{id}/settings",
      [service](const HttpRequest& request, const Caller& caller) -> Result<HttpResponse> {
        const nlohmann::json body =
            TRY(parse_json_body(request, {"version", "cloud", "allow_list", "proxy", "rules",
                                          "modes", "mcps", "hidden_mcps",
                                          "hide_marketplace_mcps"}));
        return HttpResponse::json(
            200, TRY(service->update_settings(caller.user, param(request, "id"), body)));
      },
      kSettingsBody);

  add(
      "PUT", "/api/orgs/{id}/provider-keys/{provider}",
      [service](const HttpRequest& request, const Caller& caller) -> Result<HttpResponse> {
        const nlohmann::json body = TRY(parse_json_body(request, {"api_key"}));
        const std::string api_key = TRY(string_member(body, "api_key"));
        const ProviderKeyInfo key = TRY(service->set_provider_key(
            caller.user, param(request, "id"), param(request, "provider"), api_key));
        return HttpResponse::json(200, provider_key_json(key));
      },
      kSmallBody);

  add(
      "GET", "/api/orgs/{id}/provider-keys",
      [service](const HttpRequest& request, const Caller& caller) -> Result<HttpResponse> {
        nlohmann::json keys = nlohmann::json::array();
        for (const ProviderKeyInfo& key :
             TRY(service->list_provider_keys(caller.user, param(request, "id")))) {
          keys.push_back(provider_key_json(key));
        }
        return HttpResponse::json(200, {{"provider_keys", std::move(keys)}});
      },
      kSmallBody);

  add(
      "DELETE", "/api/orgs/{id}/provider-keys/{provider}",
      [service](const HttpRequest& request, const Caller& caller) -> Result<HttpResponse> {
        TRY(service->delete_provider_key(caller.user, param(request, "id"),
                                         param(request, "provider")));
        return no_content();
      },
      kSmallBody);

  add(
      "GET", "/api/orgs/{id}/audit",
      [service](const HttpRequest& request, const Caller& caller) -> Result<HttpResponse> {
        nlohmann::json entries = nlohmann::json::array();
        for (const AuditEntry& entry : TRY(service->audit_log(caller.user, param(request, "id")))) {
          entries.push_back({{"actor_user_id", entry.actor_user_id},
                             {"action", entry.action},
                             {"target", entry.target},
                             {"at", entry.at}});
        }
        return HttpResponse::json(200, {{"entries", std::move(entries)}});
      },
      kSmallBody);
}

}  // namespace joey::cloud
