// The fixture of joeyd's route tests (org_routes_test.cpp, task_routes_test.cpp,
// share_routes_test.cpp, ...): a fresh database on each backend with identities, keys,
// organizations, tasks, shares and usage behind one router, clocks the tests move, and helpers
// that sign people up, build organizations and upload batches. Header-only.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "cloud/org_routes.h"
#include "cloud/route_call.h"
#include "cloud/share_routes.h"
#include "cloud/task_routes.h"
#include "cloud/usage_routes.h"
#include "support/test_database.h"

namespace joey::cloud::testing {

inline constexpr char kPassword[] = "correct horse battery";
inline constexpr char kTaskA[] = "20261126T010203-00112233445566778899aabbccddeeff";
inline constexpr char kTaskB[] = "20261126T010204-ffeeddccbbaa99887766554433221100";

struct Person {
  std::string id;
  std::string cookie;
};

inline nlohmann::json batch(const std::string& batch_id, const std::vector<std::string>& texts,
                            const std::string& mode = "code") {
  nlohmann::json messages = nlohmann::json::array();
  int64_t ts = 1'795'000'000'000;
  for (const std::string& text : texts) {
    messages.push_back({{"ts", ts++}, {"role", "user"}, {"content", text}});
  }
  return {{"batch_id", batch_id},
          {"mode", mode},
          {"model", "gpt-4o"},
          {"title", "title " + batch_id},
          {"messages", messages}};
}

class CloudRoutesTest : public joey::testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (stopped()) return;
    IdentityOptions identity_options;
    identity_options.clock = [this] { return now_.load(); };
    identity_options.password_cost = crypto::PasswordCost::kTesting;
    identity_ = std::make_unique<IdentityService>(*store_, identity_options);
    KeyRingOptions key_options;
    key_options.clock = [this] { return now_.load(); };
    keys_ = std::make_unique<KeyRing>(*store_, crypto::KeyEncryptionKey::generate(), key_options);
    OrgServiceOptions org_options;
    org_options.clock = [this] { return now_.load(); };
    orgs_ = std::make_unique<OrgService>(*store_, *keys_, org_options);
    TaskServiceOptions task_options;
    task_options.clock_ms = [this] { return now_ms_.fetch_add(1); };
    tasks_ = std::make_unique<TaskService>(*store_, *keys_, *orgs_, task_options);
    register_org_routes(router_, *identity_, *orgs_, AuthRouteOptions{});
    register_task_routes(router_, *identity_, *tasks_, AuthRouteOptions{});
    shares_ = std::make_unique<ShareService>(*store_, *tasks_, *orgs_);
    register_share_routes(router_, *identity_, *shares_, AuthRouteOptions{});
    usage_ = std::make_unique<UsageService>(*store_, *orgs_);
    register_usage_routes(router_, *identity_, *usage_, AuthRouteOptions{},
                          [this] { return now_ms_.load(); });
  }
  void TearDown() override {
    router_ = Router();
    usage_.reset();
    shares_.reset();
    tasks_.reset();
    orgs_.reset();
    keys_.reset();
    identity_.reset();
    BackendTest::TearDown();
  }

  Reply call(const Person& who, const std::string& method, const std::string& path,
             const nlohmann::json& body = nullptr, Headers headers = {}) {
    if (!who.cookie.empty()) headers.emplace_back("cookie", who.cookie);
    return call_route(router_, method, path, body, std::move(headers));
  }

  Person sign_up(const std::string& email) {
    Result<NewSession> session = identity_->signup(email, kPassword, "Name of " + email);
    EXPECT_TRUE(session.ok()) << session.error().message;
    if (!session.ok()) return {};
    return Person{session->user.id, std::string(kSessionCookie) + "=" + session->cookie_value};
  }

  std::string create_org(const Person& owner, const std::string& name) {
    Reply reply = call(owner, "POST", "/api/orgs", {{"name", name}});
    EXPECT_EQ(reply.status, 201) << reply.body.dump();
    return reply.body.value("id", "");
  }

  // Invites `email` as `role` and has `person` accept; returns the accept status.
  int join(const Person& admin, const std::string& org, const Person& person,
           const std::string& email, const std::string& role) {
    Reply invite =
        call(admin, "POST", "/api/orgs/" + org + "/invites", {{"email", email}, {"role", role}});
    EXPECT_EQ(invite.status, 201) << invite.body.dump();
    return call(person, "POST", "/api/invites/" + invite.body.value("token", "") + "/accept")
        .status;
  }

  void set_cloud(const Person& admin, const std::string& org, const nlohmann::json& cloud) {
    Reply current = call(admin, "GET", "/api/orgs/" + org + "/settings");
    ASSERT_EQ(current.status, 200);
    Reply patched = call(admin, "PATCH", "/api/orgs/" + org + "/settings",
                         {{"version", current.body["version"]}, {"cloud", cloud}});
    ASSERT_EQ(patched.status, 200) << patched.body.dump();
  }

  Reply upload(const Person& who, const std::string& task, const nlohmann::json& body) {
    return call(who, "POST", "/api/tasks/" + task + "/messages", body);
  }

  std::vector<std::string> task_ids(const Person& who, const std::string& query = "") {
    Reply reply = call(who, "GET", "/api/tasks" + query);
    EXPECT_EQ(reply.status, 200) << reply.body.dump();
    std::vector<std::string> ids;
    if (reply.body.is_object()) {
      for (const auto& task : reply.body["tasks"]) ids.push_back(task["id"]);
    }
    return ids;
  }

  // Rows of `table` across every tenant, read as the test's administrator would.
  int64_t stored_rows(const std::string& table, const Person& who) {
    Result<store::Transaction> tx =
        store_->begin(store::Scope::for_user(who.id), store::Access::kRead);
    EXPECT_TRUE(tx.ok());
    auto rows = tx->query("SELECT COUNT(*) AS n FROM " + table + " WHERE user_id = :user");
    EXPECT_TRUE(rows.ok()) << rows.error().message;
    return rows.ok() ? (*rows)[0].integer("n").value_or(-1) : -1;
  }

  std::unique_ptr<IdentityService> identity_;
  std::unique_ptr<KeyRing> keys_;
  std::unique_ptr<OrgService> orgs_;
  std::unique_ptr<TaskService> tasks_;
  std::unique_ptr<ShareService> shares_;
  std::unique_ptr<UsageService> usage_;
  Router router_;
  std::atomic<int64_t> now_{1'800'000'000};  // Unix seconds: identities, keys, organizations
  // Unix ms for task history; each reading moves it on by 1 ms so uploads are ordered.
  std::atomic<int64_t> now_ms_{1'800'000'000'000};
};

}  // namespace joey::cloud::testing
