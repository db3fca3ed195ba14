#include "llm/pricing.h"

#include <gtest/gtest.h>

namespace joey::llm {
namespace {

TEST(Pricing, BuiltinTableIsDatedAndKnowsCommonModels) {
  const PriceTable& table = PriceTable::builtin();
  EXPECT_FALSE(table.as_of().empty());
  EXPECT_GE(table.size(), 10u);
  std::optional<ModelPrice> sonnet = table.find("claude-sonnet-4-5");
  ASSERT_TRUE(sonnet.has_value());
  EXPECT_DOUBLE_EQ(sonnet->input, 3.0e-6);
  EXPECT_DOUBLE_EQ(sonnet->cache_write, 3.75e-6);
  ASSERT_TRUE(table.find("gpt-4.1").has_value());
}

TEST(Pricing, DatedAndPrefixedIdsFindTheirModel) {
  const PriceTable& table = PriceTable::builtin();
  EXPECT_TRUE(table.find("claude-sonnet-4-5-20250929").has_value());
  EXPECT_TRUE(table.find("gpt-4.1-2025-04-14").has_value());
  EXPECT_TRUE(table.find("gpt-4.1-20250414").has_value());
  // Only a whole date is a snapshot's suffix.
  EXPECT_FALSE(table.find("gpt-4.1-2025-4-14").has_value());
  EXPECT_FALSE(table.find("gpt-4.1-2025041").has_value());
  EXPECT_FALSE(table.find("gpt-4.1-2025-04-1x").has_value());
  EXPECT_FALSE(table.find("gpt-4.1x20250414").has_value());
  EXPECT_TRUE(table.find("openai/gpt-4.1").has_value());
}

TEST(Pricing, UnknownModelHasNoPriceRatherThanAGuess) {
  EXPECT_FALSE(PriceTable::builtin().find("my-finetune").has_value());
  EXPECT_FALSE(PriceTable::builtin().find("gpt-4.1-turbo-experimental").has_value());
}

TEST(Pricing, CostAddsEveryKindOfToken) {
  ModelPrice price{1e-6, 2e-6, 0.1e-6, 1.25e-6};
  Usage usage{1000, 500, 2000, 400};
  EXPECT_NEAR(cost_usd(usage, price), 0.001 + 0.001 + 0.0002 + 0.0005, 1e-12);
}

TEST(Pricing, OpenRouterListingPricesPerToken) {
  Result<PriceTable> table = PriceTable::parse_openrouter_models(R"({"data":[
    {"id":"anthropic/claude-sonnet-4.5","pricing":{"prompt":"0.000003","completion":"0.000015","input_cache_read":"0.0000003"}},
    {"id":"broken","pricing":{}},
    {"id":"x/free","pricing":{"prompt":"0","completion":"0"}}]})");
  ASSERT_TRUE(table.ok());
  std::optional<ModelPrice> sonnet = table->find("anthropic/claude-sonnet-4.5");
  ASSERT_TRUE(sonnet.has_value());
  EXPECT_DOUBLE_EQ(sonnet->output, 0.000015);
  EXPECT_DOUBLE_EQ(sonnet->cache_read, 0.0000003);
  EXPECT_FALSE(table->find("broken").has_value());
  ASSERT_TRUE(table->find("x/free").has_value());
}

TEST(Pricing, MalformedDataIsAnError) {
  EXPECT_FALSE(PriceTable::parse("not json").ok());
  EXPECT_FALSE(PriceTable::parse("[]").ok());
  EXPECT_FALSE(PriceTable::parse_openrouter_models("{\"data\": 3}").ok());
}

}  // namespace
}  // namespace joey::llm

#include "llm/model_catalog.h"

namespace joey::llm {
namespace {

TEST(ModelCatalog, KnowsContextWindowsByFamilyAndPrefix) {
  EXPECT_EQ(known_context_window("claude-sonnet-4-5-20250929"), 200'000);
  EXPECT_EQ(known_context_window("anthropic/claude-sonnet-4.5"), 200'000);
  EXPECT_EQ(known_context_window("gpt-4.1-mini"), 1'047'576);
  EXPECT_EQ(known_context_window("gpt-4"), 8'192);
  EXPECT_EQ(known_context_window("my-finetune"), std::nullopt);
  EXPECT_EQ(context_window_or_default("my-finetune"), kDefaultContextWindow);
}

}  // namespace
}  // namespace joey::llm
