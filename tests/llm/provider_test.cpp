#include "llm/provider.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "llm/http_transport.h"
#include "support/scoped_env.h"

namespace joey::llm {
namespace {

using joey::testing::ScopedEnv;

TEST(Provider, PlainHttpOnlyToLoopbackUnlessInsecureAllowed) {
  EXPECT_TRUE(check_url_allowed("https://api.openai.com/v1", false).ok());
  EXPECT_TRUE(check_url_allowed("http://127.0.0.1:11434/v1", false).ok());
  EXPECT_TRUE(check_url_allowed("http://127.9.8.7/v1", false).ok());
  EXPECT_TRUE(check_url_allowed("http://localhost:1234/v1", false).ok());
  EXPECT_TRUE(check_url_allowed("http://[::1]:8080/v1", false).ok());
  Status remote = check_url_allowed("http://models.example.com/v1", false);
  ASSERT_FALSE(remote.ok());
  EXPECT_EQ(remote.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_NE(remote.error().message.find("--allow-insecure"), std::string::npos);
  EXPECT_TRUE(check_url_allowed("http://models.example.com/v1", true).ok());
  // A host that merely starts with 127. is not loopback.
  EXPECT_FALSE(check_url_allowed("http://127.0.0.1.example.com/v1", false).ok());
  EXPECT_FALSE(check_url_allowed("ftp://127.0.0.1/", false).ok());
  EXPECT_FALSE(check_url_allowed("not a url", false).ok());
}

TEST(Provider, OpenAiKeyNeverGoesToAnOpenAiCompatibleEndpoint) {
  ScopedEnv openai("OPENAI_API_KEY", "sk-test-openai-key");
  ScopedEnv compatible("OPENAI_COMPATIBLE_API_KEY", nullptr);
  Result<ProviderConfig> config =
      resolve_provider("openai-compatible", "http://127.0.0.1:9/v1", "m", false);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_FALSE(config->api_key.has_value());
  for (const auto& [name, value] : provider_headers(*config)) {
    EXPECT_EQ(value.find("sk-test-openai-key"), std::string::npos) << name;
  }
}

TEST(Provider, KeyTravelsOnlyInItsProvidersAuthHeader) {
  ScopedEnv anthropic("ANTHROPIC_API_KEY", "sk-ant-test-key");
  Result<ProviderConfig> config = resolve_provider("anthropic", "", "", false);
  ASSERT_TRUE(config.ok()) << config.error().message;
  int carrying = 0;
  for (const auto& [name, value] : provider_headers(*config)) {
    if (value.find("sk-ant-test-key") != std::string::npos) {
      EXPECT_EQ(name, "x-api-key");
      ++carrying;
    }
  }
  EXPECT_EQ(carrying, 1);
  EXPECT_EQ(chat_endpoint(*config), "https://api.anthropic.com/v1/messages");
}

TEST(Provider, MissingKeyNamesTheVariable) {
  ScopedEnv openai("OPENAI_API_KEY", nullptr);
  Result<ProviderConfig> config = resolve_provider("openai", "", "gpt-4.1", false);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().kind, ErrorKind::kAuth);
  EXPECT_NE(config.error().message.find("OPENAI_API_KEY"), std::string::npos);
}

TEST(Provider, BadUsageIsAClearError) {
  Result<ProviderConfig> unknown = resolve_provider("openia", "", "m", false);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("openai-compatible"), std::string::npos);
  Result<ProviderConfig> no_url = resolve_provider("openai-compatible", "", "m", false);
  ASSERT_FALSE(no_url.ok());
  EXPECT_NE(no_url.error().message.find("--base-url"), std::string::npos);
  Result<ProviderConfig> no_model = resolve_provider("ollama", "", "", false);
  ASSERT_FALSE(no_model.ok());
  EXPECT_NE(no_model.error().message.find("--model"), std::string::npos);
}

TEST(Provider, BaseUrlOverridesAndLosesTrailingSlash) {
  Result<ProviderConfig> config = resolve_provider("ollama", "http://127.0.0.1:5/v1/", "m", false);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(chat_endpoint(*config), "http://127.0.0.1:5/v1/chat/completions");
  EXPECT_EQ(models_endpoint(*config), "http://127.0.0.1:5/v1/models");
}

TEST(Provider, CloudPicksTheProxyRouteByModelAndSendsOnlyTheToken) {
  ScopedEnv openai("OPENAI_API_KEY", "sk-test-openai-key");
  ScopedEnv anthropic("ANTHROPIC_API_KEY", "sk-ant-test-key");
  const CloudAccess cloud{"https://joey.example.com/", "joey_pat_test"};

  Result<ProviderConfig> gpt = resolve_cloud_provider(cloud, "gpt-4.1", false);
  ASSERT_TRUE(gpt.ok()) << gpt.error().message;
  EXPECT_EQ(gpt->info.name, "cloud");
  EXPECT_EQ(gpt->info.protocol, WireProtocol::kOpenAiChat);
  EXPECT_EQ(chat_endpoint(*gpt), "https://joey.example.com/proxy/v1/chat/completions");
  EXPECT_EQ(models_endpoint(*gpt), "https://joey.example.com/proxy/v1/models");

  for (const char* model : {"claude-sonnet-4-5", "anthropic/claude-opus-4-1", ""}) {
    Result<ProviderConfig> claude = resolve_cloud_provider(cloud, model, false);
    ASSERT_TRUE(claude.ok()) << claude.error().message;
    EXPECT_EQ(claude->info.protocol, WireProtocol::kAnthropicMessages) << model;
    EXPECT_EQ(chat_endpoint(*claude), "https://joey.example.com/proxy/v1/messages") << model;
    EXPECT_EQ(models_endpoint(*claude), "https://joey.example.com/proxy/v1/models") << model;
  }
  // OpenRouter's ids name other vendors after the prefix; the proxy serves them as chat.
  Result<ProviderConfig> routed =
      resolve_cloud_provider(cloud, "openrouter/anthropic/claude-sonnet-4.5", false);
  ASSERT_TRUE(routed.ok());
  EXPECT_EQ(routed->info.protocol, WireProtocol::kOpenAiChat);

  // The provider keys in the environment never travel to the Cloud: only its token does.
  for (const ProviderConfig& config : {*gpt, *routed}) {
    std::string headers;
    for (const auto& [name, value] : provider_headers(config))
      headers += name + ": " + value + "\n";
    EXPECT_EQ(headers.find("sk-test-openai-key"), std::string::npos);
    EXPECT_EQ(headers.find("sk-ant-test-key"), std::string::npos);
    EXPECT_NE(headers.find("Authorization: Bearer joey_pat_test"), std::string::npos) << headers;
  }
}

TEST(Provider, CloudNeedsSigningInAndHttpsToOtherHosts) {
  Result<ProviderConfig> signed_out = resolve_provider("cloud", "", "gpt-4.1", false);
  ASSERT_FALSE(signed_out.ok());
  EXPECT_EQ(signed_out.error().kind, ErrorKind::kAuth);
  EXPECT_NE(signed_out.error().message.find("joey login"), std::string::npos);
  Result<ProviderConfig> no_token =
      resolve_cloud_provider({"https://joey.example.com", ""}, "m", false);
  ASSERT_FALSE(no_token.ok());
  EXPECT_EQ(no_token.error().kind, ErrorKind::kAuth);
  Result<ProviderConfig> plain =
      resolve_cloud_provider({"http://joey.example.com", "t"}, "m", false);
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_TRUE(resolve_cloud_provider({"http://127.0.0.1:8080", "t"}, "m", false).ok());
}

TEST(Provider, PolicySubjectFollowsTheProxysChoiceOfProvider) {
  const CloudAccess cloud{"https://joey.example.com", "t"};
  auto subject = [&](const std::string& model) {
    return policy_subject(resolve_cloud_provider(cloud, model, false).value());
  };
  using Subject = std::pair<std::string, std::string>;
  EXPECT_EQ(subject("gpt-4.1"), Subject("openai", "gpt-4.1"));
  EXPECT_EQ(subject("openai/gpt-4.1"), Subject("openai", "gpt-4.1"));
  EXPECT_EQ(subject("claude-sonnet-4-5"), Subject("anthropic", "claude-sonnet-4-5"));
  EXPECT_EQ(subject("anthropic/claude-sonnet-4-5"), Subject("anthropic", "claude-sonnet-4-5"));
  EXPECT_EQ(subject("openrouter/meta/llama-4"), Subject("openrouter", "meta/llama-4"));
  Result<ProviderConfig> local = resolve_provider("ollama", "", "qwen3", false);
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(policy_subject(*local), Subject("ollama", "qwen3"));
}

TEST(HttpTransport, LoopbackHosts) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_FALSE(is_loopback_host("127.0.0"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
  EXPECT_EQ(url_host("https://API.example.com:443/v1"), "api.example.com");
  EXPECT_EQ(url_host("http://[::1]:80/"), "::1");
}

}  // namespace
}  // namespace joey::llm
