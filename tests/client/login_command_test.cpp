// `joey login|whoami|logout` against a scripted Cloud transport: the device flow's
// pending / slow_down / expired answers, where the token and URL are kept, and that the
// token travels only in the Authorization header of requests to its own server.
// (tests/e2e/cloud_login.test.mjs drives the same commands against a real joeyd.)
#include "client/login_command.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <deque>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "base/json.h"
#include "client/secret_store.h"
#include "client/settings.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;

constexpr const char* kServer = "http://127.0.0.1:8420";
constexpr const char* kToken = "joey_pat_0123456789abcdefghijklmnopqrstuvwxyzABCD";

struct Exchange {
  llm::HttpRequest request;
};

struct Answer {
  long status;
  std::string body;
};

// Answers requests in order from a script, recording each.
struct Script {
  std::deque<Answer> answers;
  std::vector<llm::HttpRequest> requests;
};

class ScriptedTransport final : public llm::HttpTransport {
 public:
  explicit ScriptedTransport(Script* script) : script_(script) {}
  Result<llm::HttpResponseHead> perform(const llm::HttpRequest& request, const llm::HttpTimeouts&,
                                        const llm::HttpCallbacks& callbacks) override {
    script_->requests.push_back(request);
    if (script_->answers.empty()) return make_error(ErrorKind::kNetwork, "connection refused");
    Answer answer = script_->answers.front();
    script_->answers.pop_front();
    llm::HttpResponseHead head;
    head.status = answer.status;
    if (callbacks.on_head) callbacks.on_head(head);
    if (!answer.body.empty() && callbacks.on_body) TRY(callbacks.on_body(answer.body));
    return head;
  }

 private:
  Script* script_;
};

const std::string kMe =
    R"({"user":{"id":"u1","email":"ada@example.com","name":"Ada"},"organizations":[{"id":"o1","name":"Acme","role":"owner"}]})";

std::string error_body(const std::string& code) {
  return R"({"error":{"code":")" + code + R"(","message":")" + code + R"("}})";
}

class LoginCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "joey-login-XXXXXX").string();
    home_ = mkdtemp(pattern.data());
    unsetenv("JOEY_CLOUD_URL");
    unsetenv("JOEY_CLOUD_TOKEN");
    io_.out = &out_;
    io_.err = &err_;
    io_.joey_home = home_;
    io_.poll_second = std::chrono::milliseconds(1);
    io_.open_browser = [this](const std::string& url) { opened_.push_back(url); };
    io_.make_transport = [this] { return std::make_unique<ScriptedTransport>(&script_); };
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(home_, ignored);
  }

  int run(std::vector<std::string> args) {
    CLI::App app;
    int exit_code = -1;
    register_login_commands(app, exit_code, io_);
    std::reverse(args.begin(), args.end());
    app.parse(args);
    return exit_code;
  }

  std::optional<std::string> stored_token() {
    Result<std::optional<std::string>> token = stored_key(home_, kCloudSecretName);
    return token.ok() ? *token : std::nullopt;
  }

  // Every request carries the token only in Authorization, to kServer, or not at all.
  void expect_token_only_in_auth_header() {
    for (const llm::HttpRequest& request : script_.requests) {
      EXPECT_TRUE(request.url.starts_with(kServer)) << request.url;
      EXPECT_EQ(request.purpose, "cloud");
      EXPECT_EQ(request.url.find(kToken), std::string::npos);
      EXPECT_EQ(request.body.find(kToken), std::string::npos);
      for (const auto& [name, value] : request.headers) {
        if (name != "Authorization") {
          EXPECT_EQ(value.find(kToken), std::string::npos) << name;
        }
      }
    }
    EXPECT_EQ(out_.str().find(kToken), std::string::npos);
    EXPECT_EQ(err_.str().find(kToken), std::string::npos);
  }

  fs::path home_;
  std::ostringstream out_;
  std::ostringstream err_;
  LoginCommandIo io_;
  Script script_;
  std::vector<std::string> opened_;
};

TEST_F(LoginCommandTest, DeviceFlowWaitsThroughPendingAndSlowDownThenKeepsTheToken) {
  script_.answers = {
      {200,
       R"({"device_code":"dc1","user_code":"WDJB-MJHT","verification_uri":"http://127.0.0.1:8420/device","verification_uri_complete":"http://127.0.0.1:8420/device?code=WDJB-MJHT","interval":1,"expires_in":60})"},
      {400, error_body("authorization_pending")},
      {400, error_body("slow_down")},
      {200, std::string(R"({"token":")") + kToken + R"("})"},
      {200, kMe},
  };
  EXPECT_EQ(run({"login", "--server", std::string(kServer) + "/"}), 0) << err_.str();
  EXPECT_NE(out_.str().find("WDJB-MJHT"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("http://127.0.0.1:8420/device"), std::string::npos);
  EXPECT_NE(out_.str().find("as ada@example.com"), std::string::npos) << out_.str();
  ASSERT_EQ(opened_.size(), 1u);
  EXPECT_EQ(opened_[0], "http://127.0.0.1:8420/device?code=WDJB-MJHT");

  ASSERT_EQ(script_.requests.size(), 5u);
  EXPECT_EQ(script_.requests[0].url, std::string(kServer) + "/api/auth/device");
  EXPECT_EQ(parse_json(script_.requests[1].body)["device_code"], "dc1");
  // Before approval nothing is signed in: no Authorization header at all.
  for (int i = 0; i < 4; ++i) {
    for (const auto& header : script_.requests[i].headers) {
      EXPECT_NE(header.first, "Authorization");
    }
  }
  EXPECT_EQ(script_.requests[4].url, std::string(kServer) + "/api/me");
  expect_token_only_in_auth_header();

  EXPECT_EQ(stored_token(), kToken);
  Result<Settings> settings = Settings::load(home_, std::nullopt, {});
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->get_string("cloud.url"), kServer);
}

TEST_F(LoginCommandTest, AStoreThatCannotKeepTheTokenIsRefusedBeforeSigningIn) {
  fs::permissions(home_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                             fs::perms::others_read | fs::perms::others_exec);
  EXPECT_EQ(run({"login", "--server", kServer}), 1);
  EXPECT_TRUE(script_.requests.empty()) << "no device code is asked for";
  EXPECT_NE(err_.str().find("chmod 700"), std::string::npos) << err_.str();
}

TEST_F(LoginCommandTest, AnExpiredCodeFailsAndStoresNothing) {
  script_.answers = {
      {200,
       R"({"device_code":"dc1","user_code":"AAAA-BBBB","verification_uri":"http://127.0.0.1:8420/device","interval":1,"expires_in":60})"},
      {400, error_body("authorization_pending")},
      {400, error_body("expired_token")},
  };
  EXPECT_EQ(run({"login", "--server", kServer, "--no-browser"}), 1);
  EXPECT_NE(err_.str().find("expired"), std::string::npos) << err_.str();
  EXPECT_TRUE(opened_.empty());
  EXPECT_EQ(stored_token(), std::nullopt);
  EXPECT_FALSE(fs::exists(home_ / "config.toml"));
}

TEST_F(LoginCommandTest, AMalformedDeviceAnswerIsAClearError) {
  script_.answers = {{200, R"j({"device_code":"dc1","verification_uri":"javascript:alert(1)"})j"}};
  EXPECT_EQ(run({"login", "--server", kServer}), 1);
  EXPECT_NE(err_.str().find("verification_uri"), std::string::npos) << err_.str();
  script_.answers = {{200, "<html>not json</html>"}};
  EXPECT_EQ(run({"login", "--server", kServer}), 1);
  EXPECT_NE(err_.str().find("did not answer with JSON"), std::string::npos) << err_.str();
  EXPECT_TRUE(opened_.empty());
}

TEST_F(LoginCommandTest, ATokenIsCheckedBeforeItIsKept) {
  script_.answers = {{401, error_body("unauthorized")}};
  EXPECT_EQ(run({"login", "--server", kServer, "--token", kToken}), 1);
  EXPECT_EQ(stored_token(), std::nullopt);
  expect_token_only_in_auth_header();

  script_.answers = {{200, kMe}};
  EXPECT_EQ(run({"login", "--server", kServer, "--token", kToken}), 0) << err_.str();
  EXPECT_EQ(stored_token(), kToken);
  ASSERT_EQ(script_.requests.size(), 2u);
  bool authorized = false;
  for (const auto& [name, value] : script_.requests[1].headers) {
    if (name == "Authorization") authorized = value == std::string("Bearer ") + kToken;
  }
  EXPECT_TRUE(authorized);
  expect_token_only_in_auth_header();
}

TEST_F(LoginCommandTest, WhoamiShowsTheUserAndOrganizations) {
  EXPECT_EQ(run({"whoami"}), 1);
  EXPECT_NE(err_.str().find("not signed in"), std::string::npos) << err_.str();

  script_.answers = {{200, kMe}, {200, kMe}};
  ASSERT_EQ(run({"login", "--server", kServer, "--token", kToken}), 0) << err_.str();
  out_.str("");
  EXPECT_EQ(run({"whoami"}), 0) << err_.str();
  EXPECT_NE(out_.str().find("ada@example.com (Ada) on http://127.0.0.1:8420"), std::string::npos)
      << out_.str();
  EXPECT_NE(out_.str().find("Acme (owner)"), std::string::npos) << out_.str();
  expect_token_only_in_auth_header();
}

TEST_F(LoginCommandTest, LogoutRevokesOnTheServerAndForgetsTheToken) {
  script_.answers = {{200, kMe}, {204, ""}};
  ASSERT_EQ(run({"login", "--server", kServer, "--token", kToken}), 0) << err_.str();
  EXPECT_EQ(run({"logout"}), 0) << err_.str();
  EXPECT_EQ(script_.requests.back().url, std::string(kServer) + "/api/auth/logout");
  EXPECT_EQ(script_.requests.back().method, "POST");
  EXPECT_EQ(stored_token(), std::nullopt);

  // Server unreachable: still signed out locally, with a warning.
  script_.answers = {{200, kMe}};
  ASSERT_EQ(run({"login", "--server", kServer, "--token", kToken}), 0) << err_.str();
  err_.str("");
  EXPECT_EQ(run({"logout"}), 0);
  EXPECT_NE(err_.str().find("could not be revoked"), std::string::npos) << err_.str();
  EXPECT_EQ(stored_token(), std::nullopt);
}

TEST_F(LoginCommandTest, PlainHttpToAnotherHostIsRefusedBeforeAnyRequest) {
  EXPECT_NE(run({"login", "--server", "http://cloud.example.com", "--token", kToken}), 0);
  EXPECT_TRUE(script_.requests.empty());
  EXPECT_NE(err_.str().find("https"), std::string::npos) << err_.str();
  setenv("JOEY_CLOUD_URL", "http://cloud.example.com", 1);
  setenv("JOEY_CLOUD_TOKEN", kToken, 1);
  EXPECT_NE(run({"whoami"}), 0);
  EXPECT_TRUE(script_.requests.empty());
  unsetenv("JOEY_CLOUD_URL");
  unsetenv("JOEY_CLOUD_TOKEN");
}

}  // namespace
}  // namespace joey::client
