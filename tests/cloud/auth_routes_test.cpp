// The identity routes through the router's boundary (no sockets), on SQLite and on
// PostgreSQL: sign-up and sign-in with the session cookie, same-origin checks, login
// throttling, personal access tokens, /api/me and the device login.
#include "cloud/auth_routes.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <sstream>

#include "base/json.h"
#include "base/strings.h"
#include "base/subprocess.h"
#include "cloud/route_call.h"
#include "support/test_database.h"

namespace joey::cloud {
namespace {

constexpr const char* kPassword = "correct horse battery";

using testing::Reply;

class AuthRoutesTest : public joey::testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (stopped()) return;
    IdentityOptions options;
    options.clock = [this] { return now_.load(); };
    options.password_cost = crypto::PasswordCost::kTesting;
    identity_ = std::make_unique<IdentityService>(*store_, options);
    register_auth_routes(router_, *identity_, AuthRouteOptions{});
  }
  void TearDown() override {
    router_ = Router();
    identity_.reset();
    BackendTest::TearDown();
  }

  Reply call(const std::string& method, const std::string& path,
             const nlohmann::json& body = nullptr, testing::Headers headers = {},
             const std::string& address = "127.0.0.1") {
    return testing::call_route(router_, method, path, body, std::move(headers), address);
  }

  // Signs up `email` and returns the session cookie ("joey_session=…").
  std::string sign_up(const std::string& email) {
    Reply reply = call("POST", "/api/auth/signup",
                       {{"email", email}, {"password", kPassword}, {"name", "Ada"}});
    EXPECT_EQ(reply.status, 201) << reply.body.dump();
    const std::string cookie = reply.header("Set-Cookie");
    return cookie.substr(0, cookie.find(';'));
  }

  std::string new_token(const std::string& cookie) {
    Reply reply = call("POST", "/api/tokens", {{"name", "laptop"}}, {{"cookie", cookie}});
    EXPECT_EQ(reply.status, 201) << reply.body.dump();
    return reply.body.value("token", "");
  }

  static std::vector<std::pair<std::string, std::string>> bearer(const std::string& token) {
    return {{"authorization", "Bearer " + token}};
  }

  std::unique_ptr<IdentityService> identity_;
  Router router_;
  std::atomic<int64_t> now_{1'800'000'000};
};

TEST_P(AuthRoutesTest, SignUpSetsAPrivateSessionCookieThatSignsTheUserIn) {
  Reply reply = call("POST", "/api/auth/signup",
                     {{"email", "  Ada@Example.COM "}, {"password", kPassword}, {"name", "Ada"}});
  ASSERT_EQ(reply.status, 201) << reply.body.dump();
  EXPECT_EQ(reply.body["user"]["email"], "ada@example.com");
  EXPECT_FALSE(reply.body["user"].contains("password_hash"));
  const std::string cookie = reply.header("Set-Cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("SameSite=Lax"), std::string::npos) << cookie;
  EXPECT_EQ(cookie.find("Secure"), std::string::npos) << "plain http on loopback: " << cookie;

  Reply me =
      call("GET", "/api/me", nullptr, {{"cookie", "a=b; " + cookie.substr(0, cookie.find(';'))}});
  ASSERT_EQ(me.status, 200) << me.body.dump();
  EXPECT_EQ(me.body["user"]["email"], "ada@example.com");
  EXPECT_EQ(me.body["organizations"], nlohmann::json::array());

  EXPECT_EQ(call("GET", "/api/me").status, 401);
  EXPECT_EQ(call("GET", "/api/me", nullptr, {{"cookie", "joey_session=joey_sess_forged"}}).status,
            401);
}

TEST_P(AuthRoutesTest, SignUpRefusesBadFieldsAndTakenEmails) {
  EXPECT_EQ(
      call("POST", "/api/auth/signup", {{"email", "nope"}, {"password", kPassword}, {"name", "A"}})
          .status,
      400);
  Reply short_password =
      call("POST", "/api/auth/signup", {{"email", "a@b.io"}, {"password", "short"}, {"name", "A"}});
  EXPECT_EQ(short_password.status, 400);
  EXPECT_NE(short_password.body["error"]["message"].get<std::string>().find("10 characters"),
            std::string::npos);
  EXPECT_EQ(call("POST", "/api/auth/signup", {{"email", "a@b.io"}, {"password", kPassword}}).status,
            400);
  EXPECT_EQ(call("POST", "/api/auth/signup",
                 {{"email", "a@b.io"}, {"password", kPassword}, {"name", "A"}, {"admin", true}})
                .status,
            400);
  sign_up("a@b.io");
  Reply taken = call("POST", "/api/auth/signup",
                     {{"email", "A@B.io"}, {"password", kPassword}, {"name", "A"}});
  EXPECT_EQ(taken.status, 409);
  EXPECT_EQ(taken.body["error"]["code"], "conflict");
}

TEST_P(AuthRoutesTest, AnUnknownEmailAndAWrongPasswordGetTheSameAnswer) {
  sign_up("ada@example.com");
  Reply wrong = call("POST", "/api/auth/login",
                     {{"email", "ada@example.com"}, {"password", "not the password"}});
  Reply unknown =
      call("POST", "/api/auth/login", {{"email", "bob@example.com"}, {"password", kPassword}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(wrong.body, unknown.body);
  EXPECT_EQ(call("POST", "/api/auth/login", {{"email", "ADA@example.com"}, {"password", kPassword}})
                .status,
            200);
}

TEST_P(AuthRoutesTest, RepeatedFailuresAreThrottledWithBackoffPerAccountAndAddress) {
  sign_up("ada@example.com");
  const nlohmann::json wrong = {{"email", "ada@example.com"}, {"password", "not the password"}};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(call("POST", "/api/auth/login", wrong).status, 401);
  Reply locked =
      call("POST", "/api/auth/login", {{"email", "ada@example.com"}, {"password", kPassword}});
  EXPECT_EQ(locked.status, 429);
  EXPECT_EQ(locked.header("Retry-After"), "2");
  // The account is locked from another address too.
  EXPECT_EQ(call("POST", "/api/auth/login", {{"email", "ada@example.com"}, {"password", kPassword}},
                 {}, "10.0.0.9")
                .status,
            429);
  now_ += 3;
  EXPECT_EQ(call("POST", "/api/auth/login", wrong).status, 401);
  Reply longer = call("POST", "/api/auth/login", wrong);
  EXPECT_EQ(longer.status, 429);
  EXPECT_EQ(longer.header("Retry-After"), "4");  // the lock doubles
  now_ += 5;
  EXPECT_EQ(call("POST", "/api/auth/login", {{"email", "ada@example.com"}, {"password", kPassword}})
                .status,
            200);
}

TEST_P(AuthRoutesTest, CookieWritesFromAnotherSiteAreRefusedButTokensAndCurlPass) {
  const std::string cookie = sign_up("ada@example.com");
  const nlohmann::json name = {{"name", "x"}};
  EXPECT_EQ(
      call("POST", "/api/tokens", name, {{"cookie", cookie}, {"sec-fetch-site", "cross-site"}})
          .status,
      403);
  EXPECT_EQ(
      call("POST", "/api/tokens", name, {{"cookie", cookie}, {"origin", "https://evil.example"}})
          .status,
      403);
  EXPECT_EQ(
      call("POST", "/api/tokens", name, {{"cookie", cookie}, {"sec-fetch-site", "same-origin"}})
          .status,
      201);
  EXPECT_EQ(
      call("POST", "/api/tokens", name, {{"cookie", cookie}, {"origin", "http://127.0.0.1:8420"}})
          .status,
      201);
  EXPECT_EQ(call("POST", "/api/tokens", name, {{"cookie", cookie}}).status, 201);  // curl
  // Signing in from another site (login CSRF) is refused too.
  EXPECT_EQ(call("POST", "/api/auth/login", {{"email", "ada@example.com"}, {"password", kPassword}},
                 {{"sec-fetch-site", "cross-site"}})
                .status,
            403);
  const std::string token = new_token(cookie);
  auto headers = bearer(token);
  headers.emplace_back("sec-fetch-site", "cross-site");
  EXPECT_EQ(call("POST", "/api/tokens", name, headers).status, 201);
}

TEST_P(AuthRoutesTest, TokensAreShownOnceListedWithoutSecretsAndRevocable) {
  const std::string cookie = sign_up("ada@example.com");
  Reply created = call("POST", "/api/tokens", {{"name", "laptop"}}, {{"cookie", cookie}});
  ASSERT_EQ(created.status, 201);
  const std::string token = created.body["token"];
  EXPECT_TRUE(token.starts_with("joey_pat_")) << token;
  EXPECT_EQ(created.header("Cache-Control"), "no-store");

  Reply me = call("GET", "/api/me", nullptr, bearer(token));
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(me.body["user"]["email"], "ada@example.com");
  Reply listed = call("GET", "/api/tokens", nullptr, bearer(token));
  ASSERT_EQ(listed.status, 200);
  ASSERT_EQ(listed.body["tokens"].size(), 1u);
  EXPECT_EQ(listed.body["tokens"][0]["name"], "laptop");
  EXPECT_EQ(listed.body["tokens"][0]["last_used_at"], now_.load());
  EXPECT_EQ(listed.body.dump().find(token), std::string::npos);

  // Another user cannot revoke it: not found, not forbidden.
  const std::string other = sign_up("bob@example.com");
  EXPECT_EQ(call("DELETE", "/api/tokens/" + created.body["id"].get<std::string>(), nullptr,
                 {{"cookie", other}})
                .status,
            404);
  EXPECT_EQ(call("GET", "/api/me", nullptr, bearer(token)).status, 200);
  EXPECT_EQ(
      call("DELETE", "/api/tokens/" + created.body["id"].get<std::string>(), nullptr, bearer(token))
          .status,
      204);
  EXPECT_EQ(call("GET", "/api/me", nullptr, bearer(token)).status, 401);
  EXPECT_EQ(call("GET", "/api/me", nullptr, {{"authorization", "Basic abc"}}).status, 401);
}

TEST_P(AuthRoutesTest, LogoutEndsTheSessionOrRevokesTheToken) {
  const std::string cookie = sign_up("ada@example.com");
  const std::string token = new_token(cookie);
  EXPECT_EQ(call("POST", "/api/auth/logout", nullptr, bearer(token)).status, 204);
  EXPECT_EQ(call("GET", "/api/me", nullptr, bearer(token)).status, 401);
  EXPECT_EQ(call("GET", "/api/me", nullptr, {{"cookie", cookie}}).status, 200);
  Reply out = call("POST", "/api/auth/logout", nullptr, {{"cookie", cookie}});
  EXPECT_EQ(out.status, 204);
  EXPECT_NE(out.header("Set-Cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(call("GET", "/api/me", nullptr, {{"cookie", cookie}}).status, 401);
}

TEST_P(AuthRoutesTest, SessionsExpire) {
  const std::string cookie = sign_up("ada@example.com");
  now_ += 15 * 24 * 3600;
  EXPECT_EQ(call("GET", "/api/me", nullptr, {{"cookie", cookie}}).status, 401);
}

TEST_P(AuthRoutesTest, DeviceLoginIssuesATokenOnceApproved) {
  const std::string cookie = sign_up("ada@example.com");
  Reply started = call("POST", "/api/auth/device", {{"client_name", "joey CLI"}});
  ASSERT_EQ(started.status, 200) << started.body.dump();
  const std::string device_code = started.body["device_code"];
  const std::string user_code = started.body["user_code"];
  EXPECT_EQ(user_code.size(), 9u);
  EXPECT_EQ(started.body["verification_uri"], "http://127.0.0.1:8420/device");
  EXPECT_EQ(started.body["verification_uri_complete"],
            "http://127.0.0.1:8420/device?code=" + user_code);

  const nlohmann::json poll = {{"device_code", device_code}};
  Reply pending = call("POST", "/api/auth/device/token", poll);
  EXPECT_EQ(pending.status, 400);
  EXPECT_EQ(pending.body["error"]["code"], "authorization_pending");
  EXPECT_EQ(call("POST", "/api/auth/device/token", poll).body["error"]["code"], "slow_down");
  now_ += 11;

  // Approving needs a signed-in user; the code is accepted however it is typed.
  EXPECT_EQ(call("POST", "/api/auth/device/approve", {{"user_code", user_code}}).status, 401);
  std::string typed;
  for (char c : user_code) {
    if (c != '-') typed.push_back(static_cast<char>(std::tolower(c)));
  }
  EXPECT_EQ(
      call("POST", "/api/auth/device/approve", {{"user_code", typed}}, {{"cookie", cookie}}).status,
      204);

  Reply issued = call("POST", "/api/auth/device/token", poll);
  ASSERT_EQ(issued.status, 200) << issued.body.dump();
  const std::string token = issued.body["token"];
  Reply me = call("GET", "/api/me", nullptr, bearer(token));
  EXPECT_EQ(me.status, 200);
  EXPECT_EQ(me.body["user"]["email"], "ada@example.com");
  // A device code gives one token, once.
  EXPECT_EQ(call("POST", "/api/auth/device/token", poll).body["error"]["code"], "invalid_grant");
  EXPECT_EQ(
      call("POST", "/api/auth/device/approve", {{"user_code", user_code}}, {{"cookie", cookie}})
          .status,
      404);
}

TEST_P(AuthRoutesTest, AnExpiredDeviceCodeCannotBeApprovedOrRedeemed) {
  const std::string cookie = sign_up("ada@example.com");
  Reply started = call("POST", "/api/auth/device");
  ASSERT_EQ(started.status, 200);
  now_ += 601;
  EXPECT_EQ(call("POST", "/api/auth/device/approve", {{"user_code", started.body["user_code"]}},
                 {{"cookie", cookie}})
                .status,
            404);
  EXPECT_EQ(call("POST", "/api/auth/device/token", {{"device_code", started.body["device_code"]}})
                .body["error"]["code"],
            "expired_token");
  EXPECT_EQ(call("POST", "/api/auth/device/token", {{"device_code", "joey_dc_forged"}})
                .body["error"]["code"],
            "invalid_grant");
}

TEST_P(AuthRoutesTest, TheDatabaseHoldsNoPasswordTokenOrSessionInTheClear) {
  const std::string cookie = sign_up("ada@example.com");
  const std::string token = new_token(cookie);
  store_.reset();  // flush and close
  const std::string bytes = database_->stored_bytes();
  EXPECT_NE(bytes.find("ada@example.com"), std::string::npos) << "the scan reads the database";
  EXPECT_EQ(bytes.find(kPassword), std::string::npos);
  EXPECT_EQ(bytes.find(token), std::string::npos);
  EXPECT_EQ(bytes.find(cookie.substr(cookie.find('=') + 1)), std::string::npos);
}

TEST_P(AuthRoutesTest, TheDevicePageIsStaticAndFramingIsRefused) {
  Reply page = call("GET", "/device");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.header("X-Frame-Options"), "DENY");
  const std::string policy = page.header("Content-Security-Policy");
  EXPECT_NE(policy.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(policy.find("unsafe-inline"), std::string::npos) << policy;

  // The page's own script is allowed by its hash, computed here by openssl.
  HttpRequest request;
  request.method = "GET";
  const std::string html = router_.handle(request, "/device").body;
  const size_t start = html.find("<script>") + 8;
  ProcessOptions openssl;
  openssl.argv = {"sh", "-c", "openssl dgst -sha256 -binary | base64"};
  openssl.stdin_data = html.substr(start, html.find("</script>") - start);
  Result<ProcessResult> digest = run_process(openssl);
  ASSERT_TRUE(digest.ok() && digest->exit_code == 0);
  const std::string expected = "'sha256-" + std::string(trim(digest->stdout_text)) + "'";
  EXPECT_NE(policy.find("script-src " + expected), std::string::npos) << policy << " " << expected;
}

INSTANTIATE_TEST_SUITE_P(Backends, AuthRoutesTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace joey::cloud
