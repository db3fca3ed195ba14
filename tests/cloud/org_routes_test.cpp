// The organization routes through the router's boundary (no sockets), on SQLite and
// PostgreSQL: organizations, invites, roles and the last-owner rules, sealed settings
// with versions, provider keys that are never returned, the audit log, cross-tenant
// 404s, and encryption at rest (a raw scan of the SQLite files finds no canary).
#include "cloud/org_routes.h"

#include <gtest/gtest.h>

#include "base/json.h"
#include "cloud/cloud_routes_fixture.h"

namespace joey::cloud {
namespace {

constexpr char kCanaryRules[] = "canary-rules-6d1f0c2a always answer in Latin";
constexpr char kCanaryKey[] = "sk-canary-key-91c7e4b2f0a8";

using testing::kPassword;
using testing::Person;
using testing::Reply;

class OrgRoutesTest : public testing::CloudRoutesTest {
 protected:
  std::vector<std::string> audit_actions(const Person& admin, const std::string& org) {
    Reply reply = call(admin, "GET", "/api/orgs/" + org + "/audit");
    EXPECT_EQ(reply.status, 200) << reply.body.dump();
    std::vector<std::string> actions;
    for (const auto& entry : reply.body["entries"]) actions.push_back(entry["action"]);
    return actions;
  }
};

TEST_P(OrgRoutesTest, TheCreatorOfAnOrganizationIsItsOwner) {
  const Person ada = sign_up("ada@example.com");
  Reply created = call(ada, "POST", "/api/orgs", {{"name", "  Analytical Engines "}});
  ASSERT_EQ(created.status, 201) << created.body.dump();
  EXPECT_EQ(created.body["name"], "Analytical Engines");
  EXPECT_EQ(created.body["role"], "owner");
  const std::string id = created.body["id"];
  Reply got = call(ada, "GET", "/api/orgs/" + id);
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.body, created.body);

  EXPECT_EQ(call(Person{}, "GET", "/api/orgs/" + id).status, 401);
  EXPECT_EQ(call(Person{}, "POST", "/api/orgs", {{"name", "x"}}).status, 401);
  EXPECT_EQ(call(ada, "POST", "/api/orgs", {{"name", "   "}}).status, 400);
  EXPECT_EQ(call(ada, "POST", "/api/orgs", {{"name", 5}}).status, 400);
  EXPECT_EQ(call(ada, "POST", "/api/orgs", {{"name", "x"}, {"owner", "y"}}).status, 400);
  EXPECT_EQ(call(ada, "GET", "/api/orgs/not-an-org").status, 404);
  EXPECT_EQ(call(ada, "GET", "/api/orgs/" + std::string(32, 'f')).status, 404);
}

TEST_P(OrgRoutesTest, InvitesAreForAdminsForOneEmailAndUsedOnce) {
  const Person ada = sign_up("ada@example.com");
  const Person bob = sign_up("bob@example.com");
  const Person eve = sign_up("eve@example.com");
  const std::string org = create_org(ada, "Engines");

  Reply invite = call(ada, "POST", "/api/orgs/" + org + "/invites",
                      {{"email", " Bob@Example.com"}, {"role", "member"}});
  ASSERT_EQ(invite.status, 201) << invite.body.dump();
  const std::string token = invite.body["token"];
  EXPECT_TRUE(token.starts_with("joey_inv_")) << token;
  EXPECT_EQ(invite.body["invite_url"], "http://127.0.0.1:8420/invites/" + token);
  EXPECT_EQ(invite.body["expires_at"], now_.load() + 7 * 24 * 3600);

  Reply wrong_person = call(eve, "POST", "/api/invites/" + token + "/accept");
  EXPECT_EQ(wrong_person.status, 403);
  EXPECT_NE(wrong_person.message().find("another email"), std::string::npos);
  EXPECT_EQ(call(Person{}, "POST", "/api/invites/" + token + "/accept").status, 401);

  Reply accepted = call(bob, "POST", "/api/invites/" + token + "/accept");
  ASSERT_EQ(accepted.status, 200) << accepted.body.dump();
  EXPECT_EQ(accepted.body["org"]["id"], org);
  EXPECT_EQ(accepted.body["org"]["role"], "member");
  EXPECT_EQ(call(bob, "GET", "/api/orgs/" + org).body["role"], "member");
  EXPECT_EQ(call(bob, "POST", "/api/invites/" + token + "/accept").status, 409);

  // A member cannot invite; an admin cannot invite an owner; bad fields are refused.
  EXPECT_EQ(call(bob, "POST", "/api/orgs/" + org + "/invites",
                 {{"email", "eve@example.com"}, {"role", "member"}})
                .status,
            403);
  ASSERT_EQ(
      call(ada, "PATCH", "/api/orgs/" + org + "/members/" + bob.id, {{"role", "admin"}}).status,
      200);
  EXPECT_EQ(call(bob, "POST", "/api/orgs/" + org + "/invites",
                 {{"email", "eve@example.com"}, {"role", "owner"}})
                .status,
            403);
  EXPECT_EQ(call(bob, "POST", "/api/orgs/" + org + "/invites",
                 {{"email", "eve@example.com"}, {"role", "admin"}})
                .status,
            201);
  EXPECT_EQ(call(ada, "POST", "/api/orgs/" + org + "/invites",
                 {{"email", "eve@example.com"}, {"role", "emperor"}})
                .status,
            400);
  EXPECT_EQ(call(ada, "POST", "/api/orgs/" + org + "/invites",
                 {{"email", "not an email"}, {"role", "member"}})
                .status,
            400);
  EXPECT_EQ(call(ada, "POST", "/api/orgs/" + org + "/invites", {{"role", "member"}}).status, 400);

  EXPECT_EQ(call(eve, "POST", "/api/invites/joey_inv_unknown/accept").status, 404);
  EXPECT_EQ(call(eve, "POST", "/api/invites/joey_inv_" + std::string(43, 'A') + "/accept").status,
            404);
}

TEST_P(OrgRoutesTest, AnExpiredInviteIsRefused) {
  const Person ada = sign_up("ada@example.com");
  const Person bob = sign_up("bob@example.com");
  const std::string org = create_org(ada, "Engines");
  Reply invite = call(ada, "POST", "/api/orgs/" + org + "/invites",
                      {{"email", "bob@example.com"}, {"role", "admin"}});
  ASSERT_EQ(invite.status, 201);
  now_ += 7 * 24 * 3600 + 1;
  Reply expired =
      call(bob, "POST", "/api/invites/" + invite.body["token"].get<std::string>() + "/accept");
  EXPECT_EQ(expired.status, 404);
  EXPECT_NE(expired.message().find("expired"), std::string::npos);
  EXPECT_EQ(call(bob, "GET", "/api/orgs/" + org).status, 404);
}

TEST_P(OrgRoutesTest, RolesFollowTheOwnerRulesAndTheLastOwnerStays) {
  const Person ada = sign_up("ada@example.com");
  const Person bob = sign_up("bob@example.com");
  const Person cat = sign_up("cat@example.com");
  const std::string org = create_org(ada, "Engines");
  const std::string members = "/api/orgs/" + org + "/members/";
  ASSERT_EQ(join(ada, org, bob, "bob@example.com", "admin"), 200);
  ASSERT_EQ(join(ada, org, cat, "cat@example.com", "member"), 200);

  Reply listed = call(cat, "GET", "/api/orgs/" + org + "/members");
  ASSERT_EQ(listed.status, 200) << listed.body.dump();
  ASSERT_EQ(listed.body["members"].size(), 3u);
  nlohmann::json ada_entry;
  for (const auto& member : listed.body["members"]) {
    if (member["user_id"] == ada.id) ada_entry = member;
  }
  EXPECT_EQ(ada_entry, nlohmann::json({{"user_id", ada.id},
                                       {"email", "ada@example.com"},
                                       {"name", "Name of ada@example.com"},
                                       {"role", "owner"}}));

  // A member changes nobody; an admin manages members but not owners.
  EXPECT_EQ(call(cat, "PATCH", members + bob.id, {{"role", "member"}}).status, 403);
  EXPECT_EQ(call(cat, "DELETE", members + bob.id).status, 403);
  EXPECT_EQ(call(bob, "PATCH", members + cat.id, {{"role", "admin"}}).status, 200);
  EXPECT_EQ(call(bob, "PATCH", members + cat.id, {{"role", "owner"}}).status, 403);
  EXPECT_EQ(call(bob, "PATCH", members + ada.id, {{"role", "admin"}}).status, 403);
  EXPECT_EQ(call(bob, "DELETE", members + ada.id).status, 403);
  EXPECT_EQ(call(bob, "PATCH", members + cat.id, {{"role", "emperor"}}).status, 400);
  EXPECT_EQ(call(bob, "PATCH", members + "nobody", {{"role", "member"}}).status, 404);

  // The last owner can be neither demoted nor removed, nor leave.
  Reply demote = call(ada, "PATCH", members + ada.id, {{"role", "admin"}});
  EXPECT_EQ(demote.status, 409);
  EXPECT_EQ(demote.body["error"]["code"], "conflict");
  EXPECT_NE(demote.message().find("last owner"), std::string::npos);
  EXPECT_EQ(call(ada, "DELETE", members + ada.id).status, 409);

  // With a second owner, the first may step down.
  EXPECT_EQ(call(ada, "PATCH", members + bob.id, {{"role", "owner"}}).status, 200);
  EXPECT_EQ(call(ada, "PATCH", members + ada.id, {{"role", "admin"}}).status, 200);
  EXPECT_EQ(call(ada, "DELETE", members + bob.id).status, 403);  // admins do not remove owners
  EXPECT_EQ(call(bob, "DELETE", members + bob.id).status, 409);  // bob is the last owner now
  // A member may leave; an admin may remove a member.
  EXPECT_EQ(call(bob, "PATCH", members + cat.id, {{"role", "member"}}).status, 200);
  EXPECT_EQ(call(cat, "DELETE", members + cat.id).status, 204);
  EXPECT_EQ(call(cat, "GET", "/api/orgs/" + org).status, 404);
  EXPECT_EQ(call(bob, "DELETE", members + ada.id).status, 204);
  EXPECT_EQ(call(bob, "GET", "/api/orgs/" + org + "/members").body["members"].size(), 1u);
}

TEST_P(OrgRoutesTest, SettingsStartWithDefaultsAndChangeOnlyAtTheCurrentVersion) {
  const Person ada = sign_up("ada@example.com");
  const Person bob = sign_up("bob@example.com");
  const std::string org = create_org(ada, "Engines");
  const std::string path = "/api/orgs/" + org + "/settings";
  ASSERT_EQ(join(ada, org, bob, "bob@example.com", "member"), 200);

  Reply defaults = call(bob, "GET", path);
  ASSERT_EQ(defaults.status, 200) << defaults.body.dump();
  const nlohmann::json expected = nlohmann::json::parse(R"({
    "version": 1,
    "cloud": {"record_task_messages": true, "enable_task_sharing": true,
              "allow_public_sharing": false, "share_expiration_days": 30,
              "allow_members_view_all": false, "retention_days": null},
    "allow_list": {"allow_all": true, "providers": {}},
    "proxy": {"monthly_budget_usd": null, "user_requests_per_minute": null,
              "user_tokens_per_minute": null},
    "rules": "", "modes": [], "mcps": [], "hidden_mcps": [], "hide_marketplace_mcps": false})");
  EXPECT_EQ(defaults.body, expected);

  Reply patched =
      call(ada, "PATCH", path,
           {{"version", 1},
            {"cloud", {{"record_task_messages", false}, {"retention_days", 90}}},
            {"allow_list",
             {{"allow_all", false}, {"providers", {{"openai", {{"models", {"gpt-4o"}}}}}}}},
            {"rules", "Be brief."}});
  ASSERT_EQ(patched.status, 200) << patched.body.dump();
  EXPECT_EQ(patched.body["version"], 2);
  EXPECT_EQ(patched.body["cloud"]["record_task_messages"], false);
  EXPECT_EQ(patched.body["cloud"]["retention_days"], 90);
  EXPECT_EQ(patched.body["cloud"]["enable_task_sharing"], true);  // untouched key kept
  EXPECT_EQ(patched.body["allow_list"]["providers"]["openai"]["allow_all"], false);
  EXPECT_EQ(call(bob, "GET", path).body, patched.body);

  Reply stale = call(ada, "PATCH", path, {{"version", 1}, {"rules", "Be verbose."}});
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(stale.body["error"]["code"], "conflict");
  EXPECT_EQ(call(bob, "GET", path).body["rules"], "Be brief.");
  EXPECT_EQ(call(bob, "PATCH", path, {{"version", 2}, {"rules", "x"}}).status, 403);
  EXPECT_EQ(call(ada, "PATCH", path,
                 {{"version", 2}, {"modes", {{{"slug", "review"}}}}, {"hidden_mcps", {"github"}}})
                .status,
            200);
}

TEST_P(OrgRoutesTest, MalformedSettingsAreRefusedWithTheFieldNamed) {
  const Person ada = sign_up("ada@example.com");
  const std::string org = create_org(ada, "Engines");
  const std::string path = "/api/orgs/" + org + "/settings";
  const std::vector<std::pair<nlohmann::json, std::string>> cases = {
      {{{"rules", "x"}}, "version"},
      {{{"version", "1"}, {"rules", "x"}}, "version"},
      {{{"version", 1}, {"theme", "dark"}}, "theme"},
      {{{"version", 1}, {"cloud", {{"record_task_messages", "yes"}}}}, "record_task_messages"},
      {{{"version", 1}, {"cloud", {{"share_expiration_days", 0}}}}, "share_expiration_days"},
      {{{"version", 1}, {"cloud", {{"retention_days", -1}}}}, "retention_days"},
      {{{"version", 1}, {"cloud", {{"telepathy", true}}}}, "telepathy"},
      {{{"version", 1}, {"cloud", "on"}}, "cloud"},
      {{{"version", 1}, {"allow_list", {{"allow_all", 1}}}}, "allow_all"},
      {{{"version", 1}, {"allow_list", {{"providers", {{"Open AI", {{"allow_all", true}}}}}}}},
       "Open AI"},
      {{{"version", 1}, {"allow_list", {{"providers", {{"openai", {{"models", {1}}}}}}}}},
       "models"},
      {{{"version", 1}, {"rules", 7}}, "rules"},
      {{{"version", 1}, {"modes", {"code"}}}, "modes"},
      {{{"version", 1}, {"hidden_mcps", {{{"a", 1}}}}}, "hidden_mcps"},
      {{{"version", 1}, {"hide_marketplace_mcps", "yes"}}, "hide_marketplace_mcps"},
  };
  for (const auto& [body, named] : cases) {
    Reply reply = call(ada, "PATCH", path, body);
    EXPECT_EQ(reply.status, 400) << body.dump();
    EXPECT_NE(reply.message().find(named), std::string::npos) << reply.message();
  }
  EXPECT_EQ(call(ada, "GET", path).body["version"], 1);
}

TEST_P(OrgRoutesTest, ProviderKeysAreStoredButNeverReturned) {
  const Person ada = sign_up("ada@example.com");
  const Person bob = sign_up("bob@example.com");
  const std::string org = create_org(ada, "Engines");
  const std::string keys = "/api/orgs/" + org + "/provider-keys";
  ASSERT_EQ(join(ada, org, bob, "bob@example.com", "member"), 200);

  Reply set = call(ada, "PUT", keys + "/openai", {{"api_key", kCanaryKey}});
  ASSERT_EQ(set.status, 200) << set.body.dump();
  EXPECT_EQ(set.body["last4"], std::string(kCanaryKey).substr(std::string(kCanaryKey).size() - 4));
  Reply listed = call(ada, "GET", keys);
  ASSERT_EQ(listed.status, 200);
  ASSERT_EQ(listed.body["provider_keys"].size(), 1u);
  EXPECT_EQ(listed.body["provider_keys"][0]["provider"], "openai");
  EXPECT_EQ(listed.body.dump().find(kCanaryKey), std::string::npos);
  EXPECT_EQ(call(ada, "GET", "/api/orgs/" + org + "/audit").body.dump().find(kCanaryKey),
            std::string::npos);
  // The server itself can use it (the proxy will).
  Result<std::optional<std::string>> stored = orgs_->provider_key(org, "openai");
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  EXPECT_EQ(stored->value_or(""), kCanaryKey);

  EXPECT_EQ(call(bob, "PUT", keys + "/openai", {{"api_key", "sk-other-key-123"}}).status, 403);
  EXPECT_EQ(call(bob, "GET", keys).status, 403);
  EXPECT_EQ(call(bob, "GET", "/api/orgs/" + org + "/audit").status, 403);
  EXPECT_EQ(call(ada, "PUT", keys + "/Open%20AI", {{"api_key", "sk-other-key-123"}}).status, 400);
  EXPECT_EQ(call(ada, "PUT", keys + "/openai", {{"api_key", "short"}}).status, 400);
  EXPECT_EQ(call(ada, "DELETE", keys + "/openai").status, 204);
  EXPECT_EQ(call(ada, "DELETE", keys + "/openai").status, 404);
  EXPECT_EQ(call(ada, "GET", keys).body["provider_keys"].size(), 0u);
}

TEST_P(OrgRoutesTest, EveryAdminActionIsAuditedNewestFirstWithoutSecrets) {
  const Person ada = sign_up("ada@example.com");
  const Person bob = sign_up("bob@example.com");
  const std::string org = create_org(ada, "Engines");
  ASSERT_EQ(join(ada, org, bob, "bob@example.com", "member"), 200);
  ASSERT_EQ(
      call(ada, "PATCH", "/api/orgs/" + org + "/members/" + bob.id, {{"role", "admin"}}).status,
      200);
  ASSERT_EQ(call(ada, "PATCH", "/api/orgs/" + org + "/settings",
                 {{"version", 1}, {"rules", kCanaryRules}})
                .status,
            200);
  ASSERT_EQ(
      call(ada, "PUT", "/api/orgs/" + org + "/provider-keys/anthropic", {{"api_key", kCanaryKey}})
          .status,
      200);
  ASSERT_EQ(call(ada, "DELETE", "/api/orgs/" + org + "/provider-keys/anthropic").status, 204);
  ASSERT_EQ(call(ada, "DELETE", "/api/orgs/" + org + "/members/" + bob.id).status, 204);

  EXPECT_EQ(audit_actions(ada, org),
            (std::vector<std::string>{"member.removed", "provider_key.removed", "provider_key.set",
                                      "settings.changed", "member.role_changed", "invite.accepted",
                                      "invite.created", "org.created"}));
  Reply audit = call(ada, "GET", "/api/orgs/" + org + "/audit");
  EXPECT_EQ(audit.body["entries"][0]["actor_user_id"], ada.id);
  EXPECT_EQ(audit.body["entries"][0]["target"], bob.id);
  EXPECT_EQ(audit.body["entries"][0]["at"], now_.load());
  EXPECT_EQ(audit.body["entries"][3]["target"], "rules");
  EXPECT_EQ(audit.body.dump().find("canary"), std::string::npos);
  EXPECT_EQ(audit.body.dump().find("Latin"), std::string::npos);
}

TEST_P(OrgRoutesTest, AnotherOrganizationsMemberGets404OnEveryRoute) {
  const Person ada = sign_up("ada@example.com");
  const Person mallory = sign_up("mallory@example.com");
  const std::string org_a = create_org(ada, "A");
  create_org(mallory, "B");
  const std::string a = "/api/orgs/" + org_a;
  const struct {
    const char* method;
    std::string path;
    nlohmann::json body;
  } routes[] = {
      {"GET", a, nullptr},
      {"POST", a + "/invites", {{"email", "mallory@example.com"}, {"role", "owner"}}},
      {"GET", a + "/members", nullptr},
      {"PATCH", a + "/members/" + ada.id, {{"role", "member"}}},
      {"DELETE", a + "/members/" + ada.id, nullptr},
      {"GET", a + "/settings", nullptr},
      {"PATCH", a + "/settings", {{"version", 1}, {"rules", "mine now"}}},
      {"PUT", a + "/provider-keys/openai", {{"api_key", "sk-mallory-key-1"}}},
      {"GET", a + "/provider-keys", nullptr},
      {"DELETE", a + "/provider-keys/openai", nullptr},
      {"GET", a + "/audit", nullptr},
  };
  for (const auto& route : routes) {
    Reply reply = call(mallory, route.method, route.path, route.body);
    EXPECT_EQ(reply.status, 404) << route.method << " " << route.path << " " << reply.body.dump();
    EXPECT_EQ(reply.message(), "organization not found");
  }
  // Nothing changed in A.
  EXPECT_EQ(call(ada, "GET", a + "/settings").body["version"], 1);
  EXPECT_EQ(call(ada, "GET", a + "/members").body["members"].size(), 1u);
  EXPECT_EQ(audit_actions(ada, org_a), std::vector<std::string>{"org.created"});
}

TEST_P(OrgRoutesTest, SettingsCopiedToAnotherOrganizationDoNotOpen) {
  const Person ada = sign_up("ada@example.com");
  const std::string org_a = create_org(ada, "A");
  const std::string org_b = create_org(ada, "B");
  ASSERT_EQ(call(ada, "PATCH", "/api/orgs/" + org_a + "/settings",
                 {{"version", 1}, {"rules", kCanaryRules}})
                .status,
            200);
  std::string sealed_a;
  {
    auto tx = store_->begin(store::Scope::for_org(org_a));
    ASSERT_TRUE(tx.ok());
    auto rows = tx->query("SELECT sealed FROM org_settings WHERE org_id = :org");
    ASSERT_TRUE(rows.ok());
    sealed_a = (*rows)[0].blob("sealed").value_or("");
  }
  {
    auto tx = store_->begin(store::Scope::for_org(org_b));
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(tx->execute("UPDATE org_settings SET sealed = ? WHERE org_id = :org",
                            {store::Blob{sealed_a}})
                    .ok());
    ASSERT_TRUE(tx->commit().ok());
  }
  Reply reply = call(ada, "GET", "/api/orgs/" + org_b + "/settings");
  EXPECT_EQ(reply.status, 500);
  EXPECT_EQ(reply.body.dump().find("canary"), std::string::npos);
  EXPECT_EQ(call(ada, "GET", "/api/orgs/" + org_a + "/settings").body["rules"], kCanaryRules);
}

TEST_P(OrgRoutesTest, TheDatabaseFilesHoldNoSettingsOrProviderKeyInTheClear) {
  const Person ada = sign_up("ada@example.com");
  const std::string org = create_org(ada, "Org-name-canary-3b8e");
  ASSERT_EQ(call(ada, "PATCH", "/api/orgs/" + org + "/settings",
                 {{"version", 1}, {"rules", kCanaryRules}})
                .status,
            200);
  ASSERT_EQ(
      call(ada, "PUT", "/api/orgs/" + org + "/provider-keys/openai", {{"api_key", kCanaryKey}})
          .status,
      200);
  const std::string bytes = database_->stored_bytes();
  // The scan sees plain columns (so it works) but no sealed value.
  EXPECT_NE(bytes.find("Org-name-canary-3b8e"), std::string::npos);
  EXPECT_EQ(bytes.find("canary-rules-6d1f0c2a"), std::string::npos);
  EXPECT_EQ(bytes.find(kCanaryKey), std::string::npos);
  EXPECT_EQ(bytes.find("record_task_messages"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, OrgRoutesTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace joey::cloud
