#include "llm/model_policy.h"

#include <gtest/gtest.h>

namespace joey::llm {
namespace {

TEST(ModelPolicy, AllowAllOrNoListAllowsEveryModel) {
  EXPECT_EQ(model_refusal(nlohmann::json{{"allow_all", true}}, "openai", "gpt-4o"), std::nullopt);
  EXPECT_EQ(model_refusal(nlohmann::json(), "openai", "gpt-4o"), std::nullopt);
  EXPECT_EQ(model_refusal(nlohmann::json::array(), "openai", "gpt-4o"), std::nullopt);
}

TEST(ModelPolicy, ListedModelsAndWholeProvidersAreAllowedAndOthersRefused) {
  const nlohmann::json list = nlohmann::json::parse(R"({
    "allow_all": false,
    "providers": {
      "openai": {"allow_all": false, "models": ["gpt-4o-mini"]},
      "anthropic": {"allow_all": true, "models": []}
    }})");
  EXPECT_EQ(model_refusal(list, "openai", "gpt-4o-mini"), std::nullopt);
  EXPECT_EQ(model_refusal(list, "anthropic", "claude-sonnet-4-5"), std::nullopt);
  const std::optional<std::string> refused = model_refusal(list, "openai", "gpt-4o");
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->find("'gpt-4o'"), std::string::npos) << *refused;
  EXPECT_NE(refused->find("organization's admin restricts"), std::string::npos) << *refused;
  EXPECT_TRUE(model_refusal(list, "openrouter", "gpt-4o-mini"));
  EXPECT_TRUE(model_refusal(nlohmann::json{{"allow_all", false}}, "openai", "gpt-4o-mini"));
}

TEST(ModelPolicy, AProviderPrefixIsLookedUpUnderThatProvider) {
  const nlohmann::json list = nlohmann::json::parse(R"({
    "allow_all": false,
    "providers": {"openai": {"models": ["gpt-4o"]},
                  "openrouter": {"models": ["anthropic/claude-3.5-sonnet"]}}})");
  EXPECT_EQ(model_refusal(list, "cloud", "openai/gpt-4o"), std::nullopt);
  EXPECT_EQ(model_refusal(list, "openrouter", "anthropic/claude-3.5-sonnet"), std::nullopt);
  EXPECT_TRUE(model_refusal(list, "cloud", "anthropic/claude-3.5-sonnet"));
  EXPECT_TRUE(model_refusal(list, "cloud", "/gpt-4o"));
}

TEST(ModelPolicy, MalformedEntriesRefuseRatherThanCrash) {
  const nlohmann::json list = nlohmann::json::parse(
      R"({"allow_all": "yes", "providers": {"openai": {"allow_all": 1, "models": [1, null]}}})");
  EXPECT_TRUE(model_refusal(list, "openai", "gpt-4o"));
  EXPECT_TRUE(model_refusal(nlohmann::json{{"providers", 3}}, "openai", "gpt-4o"));
}

}  // namespace
}  // namespace joey::llm
