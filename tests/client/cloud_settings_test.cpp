// The collection gate (P7): GET /api/agent/settings decides, its answer is cached with
// its ETag and bound to the server, the user and the token; a failed fetch falls back to
// a cache confirmed within a day, and anything else is "unknown" (nothing uploaded).
#include "client/cloud_settings.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "base/atomic_file.h"
#include "client/scripted_cloud_transport.h"
#include "llm/model_policy.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;
using testing::agent_settings_body;
using testing::CloudAnswer;
using testing::header_of;
using testing::ScriptedCloud;
using testing::ScriptedCloudTransport;

constexpr const char* kServer = "http://127.0.0.1:8420";
constexpr const char* kToken = "joey_pat_0123456789abcdefghijklmnopqrstuvwxyzABCD";
constexpr int64_t kHourMs = 3600 * 1000;

class CloudSettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "joey-cloud-settings-XXXXXX").string();
    home_ = mkdtemp(pattern.data());
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(home_, ignored);
  }

  CloudSettings settings(const std::string& token = kToken, const std::string& server = kServer) {
    return CloudSettings(home_, CloudCredentials{server, token, "login"}, [this] { return now_; });
  }
  CloudConnection connection(const std::string& token = kToken,
                             const std::string& server = kServer) {
    return CloudConnection(server, token, std::make_unique<ScriptedCloudTransport>(&cloud_));
  }
  void answer(CloudAnswer next) {
    cloud_.handler = [next](const llm::HttpRequest&) { return next; };
  }
  static CloudAnswer settings_answer(bool enabled, const std::string& etag = "\"e1\"",
                                     const std::string& user = "u1") {
    return CloudAnswer{200, agent_settings_body(enabled, user), {{"etag", etag}}};
  }
  static CloudAnswer down() {
    CloudAnswer answer;
    answer.network_error = true;
    return answer;
  }

  fs::path home_;
  ScriptedCloud cloud_;
  int64_t now_ = 1'800'000'000'000;
};

TEST_F(CloudSettingsTest, GateIsOnWhenTheServerEnablesCollection) {
  answer(settings_answer(true));
  CloudSettings gate = settings();
  CloudConnection link = connection();
  EXPECT_EQ(gate.refresh(link), Collection::kOn);
  EXPECT_EQ(gate.user_id(), "u1");
  const auto requests = cloud_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].url, std::string(kServer) + "/api/agent/settings");
  EXPECT_EQ(requests[0].purpose, "cloud");
  EXPECT_EQ(header_of(requests[0], "Authorization"), std::string("Bearer ") + kToken);
  EXPECT_EQ(header_of(requests[0], "If-None-Match"), "");
}

TEST_F(CloudSettingsTest, GateIsOffWhenTheServerDisablesCollection) {
  answer(settings_answer(false));
  CloudSettings gate = settings();
  CloudConnection link = connection();
  EXPECT_EQ(gate.refresh(link), Collection::kOff);
}

TEST_F(CloudSettingsTest, AnswerIsCachedPrivatelyWithoutTheToken) {
  answer(settings_answer(true));
  CloudSettings gate = settings();
  CloudConnection link = connection();
  ASSERT_EQ(gate.refresh(link), Collection::kOn);
  const fs::path cache = agent_settings_cache_path(home_);
  struct stat info {};
  ASSERT_EQ(stat(cache.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  Result<std::string> text = read_file_to_string(cache);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->find(kToken), std::string::npos);
  Result<CachedAgentSettings> parsed = parse_settings_cache(*text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->server, kServer);
  EXPECT_EQ(parsed->user_id, "u1");
  EXPECT_EQ(parsed->etag, "\"e1\"");
}

TEST_F(CloudSettingsTest, NotModifiedKeepsTheCacheAndSendsIfNoneMatch) {
  answer(settings_answer(true, "\"v7\""));
  {
    CloudSettings gate = settings();
    CloudConnection link = connection();
    ASSERT_EQ(gate.refresh(link), Collection::kOn);
  }
  answer(CloudAnswer{304, "", {}});
  CloudSettings gate = settings();
  CloudConnection link = connection();
  EXPECT_EQ(gate.refresh(link), Collection::kOn);
  const auto requests = cloud_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(header_of(requests[1], "If-None-Match"), "\"v7\"");
}

TEST_F(CloudSettingsTest, UnknownWhenTheServerIsDownAndNothingIsCached) {
  answer(down());
  CloudSettings gate = settings();
  CloudConnection link = connection();
  EXPECT_EQ(gate.refresh(link), Collection::kUnknown);
  EXPECT_EQ(gate.user_id(), "");
}

TEST_F(CloudSettingsTest, RecentCacheDecidesWhileOffline) {
  answer(settings_answer(true));
  {
    CloudSettings gate = settings();
    CloudConnection link = connection();
    ASSERT_EQ(gate.refresh(link), Collection::kOn);
  }
  now_ += 23 * kHourMs;
  answer(CloudAnswer{503, R"({"error":{"code":"unavailable","message":"x"}})", {}});
  CloudSettings gate = settings();
  CloudConnection link = connection();
  EXPECT_EQ(gate.refresh(link), Collection::kOn);
  EXPECT_EQ(gate.user_id(), "u1");
}

TEST_F(CloudSettingsTest, CacheOlderThanADayIsNotUsedOffline) {
  answer(settings_answer(true));
  {
    CloudSettings gate = settings();
    CloudConnection link = connection();
    ASSERT_EQ(gate.refresh(link), Collection::kOn);
  }
  now_ += 25 * kHourMs;
  answer(down());
  CloudSettings gate = settings();
  CloudConnection link = connection();
  EXPECT_EQ(gate.refresh(link), Collection::kUnknown);
}

TEST_F(CloudSettingsTest, CacheOfAnotherServerIsNotUsed) {
  answer(settings_answer(true));
  {
    CloudSettings gate = settings();
    CloudConnection link = connection();
    ASSERT_EQ(gate.refresh(link), Collection::kOn);
  }
  answer(down());
  const std::string other = "http://127.0.0.1:9999";
  CloudSettings gate = settings(kToken, other);
  CloudConnection link = connection(kToken, other);
  EXPECT_EQ(gate.refresh(link), Collection::kUnknown);
  EXPECT_EQ(header_of(cloud_.requests().back(), "If-None-Match"), "");
}

TEST_F(CloudSettingsTest, CacheOfAnotherTokenIsNotUsed) {
  answer(settings_answer(true));
  {
    CloudSettings gate = settings();
    CloudConnection link = connection();
    ASSERT_EQ(gate.refresh(link), Collection::kOn);
  }
  answer(down());
  const std::string other_token = "joey_pat_ZZZZ456789abcdefghijklmnopqrstuvwxyzABCD";
  CloudSettings gate = settings(other_token);
  CloudConnection link = connection(other_token);
  EXPECT_EQ(gate.refresh(link), Collection::kUnknown);
}

TEST_F(CloudSettingsTest, AnotherUsersAnswerReplacesTheCache) {
  answer(settings_answer(true, "\"a\"", "u1"));
  {
    CloudSettings gate = settings();
    CloudConnection link = connection();
    ASSERT_EQ(gate.refresh(link), Collection::kOn);
  }
  answer(settings_answer(false, "\"b\"", "u2"));
  CloudSettings gate = settings();
  CloudConnection link = connection();
  EXPECT_EQ(gate.refresh(link), Collection::kOff);
  EXPECT_EQ(gate.user_id(), "u2");
  Result<std::string> text = read_file_to_string(agent_settings_cache_path(home_));
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(parse_settings_cache(*text)->user_id, "u2");
}

TEST_F(CloudSettingsTest, UnauthorizedIsUnknownAndDeletesTheCache) {
  answer(settings_answer(true));
  {
    CloudSettings gate = settings();
    CloudConnection link = connection();
    ASSERT_EQ(gate.refresh(link), Collection::kOn);
  }
  answer(CloudAnswer{401, R"({"error":{"code":"unauthorized","message":"bad token"}})", {}});
  CloudSettings gate = settings();
  CloudConnection link = connection();
  EXPECT_EQ(gate.refresh(link), Collection::kUnknown);
  EXPECT_FALSE(fs::exists(agent_settings_cache_path(home_)));
}

TEST_F(CloudSettingsTest, MalformedAnswerIsUnknown) {
  for (const std::string& body :
       {std::string("not json"), std::string(R"({"user":{"id":"u1"}})"),
        std::string(R"({"user":{"id":7},"collection":{"enabled":true}})"),
        std::string(R"({"user":{"id":"u1"},"collection":{"enabled":"yes"}})"), std::string("[]")}) {
    answer(CloudAnswer{200, body, {}});
    CloudSettings gate = settings();
    CloudConnection link = connection();
    EXPECT_EQ(gate.refresh(link), Collection::kUnknown) << body;
  }
}

TEST_F(CloudSettingsTest, StaleAfterAnHourAndSoonerAfterAFailure) {
  answer(settings_answer(true));
  CloudSettings gate = settings();
  EXPECT_TRUE(gate.stale());
  CloudConnection link = connection();
  ASSERT_EQ(gate.refresh(link), Collection::kOn);
  EXPECT_FALSE(gate.stale());
  now_ += kHourMs - 1;
  EXPECT_FALSE(gate.stale());
  now_ += 1;
  EXPECT_TRUE(gate.stale());
  answer(down());
  gate.refresh(link);
  now_ += 5 * 60 * 1000;
  EXPECT_TRUE(gate.stale());
}

TEST(CloudSettingsCache, BadCacheFilesAreRefused) {
  const std::string valid_settings = agent_settings_body(true);
  for (
      const std::string& text :
      {std::string(""), std::string("{"), std::string("null"), std::string("[1,2]"),
       std::string(
           R"({"version":2,"server":"s","token_fingerprint":"f","etag":"","validated_at_ms":1,"settings":)") +
           valid_settings + "}",
       std::string(
           R"({"version":1,"server":5,"token_fingerprint":"f","etag":"","validated_at_ms":1,"settings":)") +
           valid_settings + "}",
       std::string(
           R"({"version":1,"server":"s","token_fingerprint":"f","etag":"","validated_at_ms":1,"settings":{}})"),
       std::string(100000, '[')}) {
    EXPECT_FALSE(parse_settings_cache(text).ok()) << text.substr(0, 80);
  }
  const std::string good =
      std::string(
          R"({"version":1,"server":"s","token_fingerprint":"f","etag":"","validated_at_ms":1,"settings":)") +
      valid_settings + "}";
  EXPECT_TRUE(parse_settings_cache(good).ok());
}

TEST(CloudSettingsCache, TokenFingerprintIsStableAndDoesNotContainTheToken) {
  EXPECT_EQ(token_fingerprint(kToken), token_fingerprint(kToken));
  EXPECT_NE(token_fingerprint(kToken), token_fingerprint("joey_pat_other"));
  EXPECT_EQ(token_fingerprint(kToken).find("joey_pat"), std::string::npos);
  EXPECT_EQ(token_fingerprint(kToken).size(), 16u);
}

}  // namespace
}  // namespace joey::client

namespace joey::client {
namespace {

CachedAgentSettings with_organization(const nlohmann::json& organization) {
  CachedAgentSettings cached;
  cached.settings = {{"organization", organization}, {"collection", {{"enabled", true}}}};
  return cached;
}

TEST(OrganizationPolicy, TheCachedAllowListRefusesInTheProxysWords) {
  const nlohmann::json allow_list = {
      {"allow_all", false},
      {"providers", {{"openai", {{"allow_all", false}, {"models", {"gpt-4.1"}}}}}}};
  const CachedAgentSettings cached =
      with_organization({{"id", "o1"}, {"version", 3}, {"settings", {{"allow_list", allow_list}}}});
  EXPECT_EQ(organization_model_refusal(cached, "openai", "gpt-4.1"), std::nullopt);
  std::optional<std::string> refused = organization_model_refusal(cached, "openai", "gpt-4o");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(*refused, *llm::model_refusal(allow_list, "openai", "gpt-4o"));
  EXPECT_NE(refused->find("gpt-4o"), std::string::npos);
  EXPECT_TRUE(organization_model_refusal(cached, "anthropic", "claude-sonnet-4-5").has_value());
}

TEST(OrganizationPolicy, NoOrganizationOrNoListAllowsEverything) {
  EXPECT_EQ(organization_model_refusal(with_organization(nullptr), "openai", "gpt-4o"),
            std::nullopt);
  EXPECT_EQ(organization_model_refusal(with_organization({{"id", "o1"}, {"settings", nullptr}}),
                                       "openai", "gpt-4o"),
            std::nullopt);
  EXPECT_EQ(organization_model_refusal(CachedAgentSettings{}, "openai", "gpt-4o"), std::nullopt);
}

TEST_F(CloudSettingsTest, TheCacheIsReadOnlyForItsOwnServerAndToken) {
  answer(settings_answer(true));
  CloudSettings gate = settings();
  CloudConnection link = connection();
  ASSERT_EQ(gate.refresh(link), Collection::kOn);
  EXPECT_TRUE(read_settings_cache(home_, CloudCredentials{kServer, kToken, "login"}).has_value());
  EXPECT_FALSE(read_settings_cache(home_, CloudCredentials{kServer, "joey_pat_other", "login"}));
  EXPECT_FALSE(read_settings_cache(home_, CloudCredentials{"http://127.0.0.1:9", kToken, "login"}));
}

}  // namespace
}  // namespace joey::client
