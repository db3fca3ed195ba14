// Shared links through the router's boundary, on SQLite and PostgreSQL: who may share,
// the organization's sharing settings, organization-only and public links, expiry,
// revocation, a page whose every message is escaped under a no-script CSP, and one 404
// page for every link that must not open.
#include "cloud/share_routes.h"

#include <gtest/gtest.h>

#include "cloud/cloud_routes_fixture.h"

namespace joey::cloud {
namespace {

using testing::batch;
using testing::kTaskA;
using testing::kTaskB;
using testing::Person;
using testing::Reply;

class ShareRoutesTest : public testing::CloudRoutesTest {
 protected:
  // The path part ("/s/joey_share_…") of a link the server handed out.
  static std::string link_path(const Reply& created) {
    const std::string url = created.body.value("url", "");
    const size_t at = url.find("/s/");
    return at == std::string::npos ? "" : url.substr(at);
  }
  Reply share(const Person& who, const std::string& task, const std::string& visibility) {
    return call(who, "POST", "/api/tasks/" + task + "/share", {{"visibility", visibility}});
  }
  // GET of a page: status and body as text.
  std::pair<int, std::string> page(const Person& who, const std::string& path) {
    HttpRequest request;
    request.method = "GET";
    request.headers.emplace_back("host", "127.0.0.1:8420");
    if (!who.cookie.empty()) request.headers.emplace_back("cookie", who.cookie);
    HttpResponse response = router_.handle(request, path);
    for (const auto& [name, value] : response.headers) {
      if (name == "Content-Security-Policy") last_csp_ = value;
    }
    return {response.status, response.body};
  }
  std::string last_csp_;
};

TEST_P(ShareRoutesTest, AnOrganizationLinkOpensForMembersOnly) {
  const Person ada = sign_up("ada@example.com");
  const Person bob = sign_up("bob@example.com");
  const Person eve = sign_up("eve@example.com");
  const std::string org = create_org(ada, "Engines");
  ASSERT_EQ(join(ada, org, bob, "bob@example.com", "member"), 200);
  ASSERT_EQ(upload(ada, kTaskA, batch("b1", {"<script>alert('x')</script> & \"quotes\""})).status,
            200);
  Reply created = share(ada, kTaskA, "organization");
  ASSERT_EQ(created.status, 201) << created.body.dump();
  EXPECT_EQ(created.header("Cache-Control"), "no-store");
  EXPECT_EQ(created.body["visibility"], "organization");
  EXPECT_GT(created.body["expires_at"].get<int64_t>(), tasks_->now_ms() + 29LL * 86400000);
  const std::string path = link_path(created);
  ASSERT_FALSE(path.empty()) << created.body.dump();

  auto [status, body] = page(bob, path);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body.find("<script>"), std::string::npos);
  EXPECT_NE(body.find("&lt;script&gt;"), std::string::npos);
  EXPECT_EQ(last_csp_.find("unsafe-inline"), std::string::npos);
  EXPECT_NE(last_csp_.find("default-src 'none'"), std::string::npos);
  // Not signed in, or not a member: the same page as a link that never existed.
  const auto [anonymous_status, anonymous_body] = page(Person{}, path);
  const auto [eve_status, eve_body] = page(eve, path);
  const auto [bogus_status, bogus_body] = page(Person{}, "/s/joey_share_doesnotexist");
  EXPECT_EQ(anonymous_status, 404);
  EXPECT_EQ(eve_status, 404);
  EXPECT_EQ(bogus_status, 404);
  EXPECT_EQ(anonymous_body, bogus_body);
  EXPECT_EQ(eve_body, bogus_body);
}

TEST_P(ShareRoutesTest, TheOrganizationDecidesWhetherAndHowTasksAreShared) {
  const Person ada = sign_up("ada@example.com");
  const Person bob = sign_up("bob@example.com");
  const std::string org = create_org(ada, "Engines");
  ASSERT_EQ(join(ada, org, bob, "bob@example.com", "member"), 200);
  ASSERT_EQ(upload(ada, kTaskA, batch("b1", {"ada's"})).status, 200);
  ASSERT_EQ(upload(bob, kTaskB, batch("b1", {"bob's"})).status, 200);
  // Public links need allow_public_sharing.
  Reply refused = share(ada, kTaskA, "public");
  EXPECT_EQ(refused.status, 403);
  EXPECT_NE(refused.message().find("allow_public_sharing"), std::string::npos);
  set_cloud(ada, org, {{"allow_public_sharing", true}, {"share_expiration_days", 2}});
  Reply created = share(ada, kTaskA, "public");
  ASSERT_EQ(created.status, 201);
  EXPECT_LE(created.body["expires_at"].get<int64_t>(), tasks_->now_ms() + 2LL * 86400000);
  EXPECT_EQ(page(Person{}, link_path(created)).first, 200);
  // A member shares only their own tasks; an admin any of the organization's.
  set_cloud(ada, org, {{"allow_members_view_all", true}});
  EXPECT_EQ(share(bob, kTaskA, "organization").status, 403);
  EXPECT_EQ(share(ada, kTaskB, "organization").status, 201);
  // Sharing off: nobody shares.
  set_cloud(ada, org, {{"enable_task_sharing", false}});
  Reply off = share(ada, kTaskA, "organization");
  EXPECT_EQ(off.status, 403);
  EXPECT_NE(off.message().find("enable_task_sharing"), std::string::npos);
  EXPECT_EQ(share(ada, kTaskA, "everyone").status, 400);
  EXPECT_EQ(share(sign_up("eve@example.com"), kTaskA, "organization").status, 404);
}

TEST_P(ShareRoutesTest, LinksExpireAndCanBeRevoked) {
  const Person cat = sign_up("cat@example.com");  // no organization
  ASSERT_EQ(upload(cat, kTaskA, batch("b1", {"cat's task"})).status, 200);
  EXPECT_EQ(share(cat, kTaskA, "organization").status, 400);
  Reply created = share(cat, kTaskA, "public");
  ASSERT_EQ(created.status, 201) << created.body.dump();
  const std::string path = link_path(created);
  EXPECT_EQ(page(Person{}, path).first, 200);
  const Person eve = sign_up("eve@example.com");
  EXPECT_EQ(call(eve, "DELETE", "/api/shares/" + created.body["id"].get<std::string>()).status,
            404);
  EXPECT_EQ(call(cat, "DELETE", "/api/shares/" + created.body["id"].get<std::string>()).status,
            204);
  EXPECT_EQ(page(Person{}, path).first, 404);

  Reply second = share(cat, kTaskA, "public");
  ASSERT_EQ(second.status, 201);
  now_ms_ += 31LL * 86400000;  // past the default 30 days
  EXPECT_EQ(page(Person{}, link_path(second)).first, 404);
  // Deleting the task deletes its links.
  now_ms_ -= 31LL * 86400000;
  EXPECT_EQ(page(Person{}, link_path(second)).first, 200);
  ASSERT_EQ(call(cat, "DELETE", std::string("/api/tasks/") + kTaskA).status, 204);
  EXPECT_EQ(page(Person{}, link_path(second)).first, 404);
}

INSTANTIATE_TEST_SUITE_P(Backends, ShareRoutesTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace joey::cloud
