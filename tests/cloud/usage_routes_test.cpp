// The usage routes through the router's boundary (no sockets), on SQLite and
// PostgreSQL: reports add up by member, model and day; ranges select rows and refuse
// what is too wide; roles decide who reads an organization's usage; bad queries are 400.
#include "cloud/usage_routes.h"

#include <gtest/gtest.h>

#include "cloud/cloud_routes_fixture.h"

namespace joey::cloud {
namespace {

constexpr char kTaskA[] = "20261118T010203-aaaa";
constexpr char kTaskB[] = "20261118T010204-bbbb";
constexpr char kTaskC[] = "20261118T010205-cccc";
// 2026-11-18T00:00:00Z and the next two days.
constexpr int64_t kDay0 = 20775 * kMillisPerDay;
constexpr int64_t kDay1 = kDay0 + kMillisPerDay;
constexpr int64_t kDay2 = kDay1 + kMillisPerDay;

using testing::Person;
using testing::Reply;

class UsageRoutesTest : public testing::CloudRoutesTest {
 protected:
  void SetUp() override {
    CloudRoutesTest::SetUp();
    now_ms_ = kDay2 + kMillisPerDay / 2;
  }

  void record(const Person& who, const std::string& task, const std::string& request_id, int64_t ts,
              const std::string& model, int64_t input, int64_t output, double cost) {
    Reply reply = call(who, "POST", "/api/tasks/" + task + "/usage",
                       {{"request_id", request_id},
                        {"ts", ts},
                        {"model", model},
                        {"input_tokens", input},
                        {"output_tokens", output},
                        {"cache_read_tokens", input / 10},
                        {"cache_write_tokens", output / 10},
                        {"cost_usd", cost}});
    ASSERT_EQ(reply.status, 200) << reply.body.dump();
  }

  // The groups of a report by key.
  static std::map<std::string, nlohmann::json> groups(const Reply& reply) {
    std::map<std::string, nlohmann::json> by_key;
    if (!reply.body.is_object()) return by_key;
    for (const auto& group : reply.body["groups"]) by_key[group["key"]] = group;
    return by_key;
  }

  // ada (owner) and bob (member) in one organization, with usage on three days, two
  // models and three tasks; ada also has a personal row from before the organization.
  void record_sample() {
    ada_ = sign_up("ada@example.com");
    bob_ = sign_up("bob@example.com");
    record(ada_, "personal-task", "p1", kDay0 + 5, "gpt-4o", 1000, 100, 1.0);
    org_ = create_org(ada_, "Engines");
    ASSERT_EQ(join(ada_, org_, bob_, "bob@example.com", "member"), 200);
    record(ada_, kTaskA, "r1", kDay0 + 10, "gpt-4o", 100, 10, 0.25);
    record(ada_, kTaskA, "r2", kDay0 + 20, "claude-sonnet", 200, 20, 0.5);
    record(ada_, kTaskB, "r3", kDay1 + 30, "gpt-4o", 300, 30, 0.125);
    record(bob_, kTaskC, "r4", kDay2 + 40, "gpt-4o", 400, 40, 1.5);
    // A repeated request id counts once.
    record(bob_, kTaskC, "r4", kDay2 + 40, "gpt-4o", 400, 40, 1.5);
  }

  std::string range(int64_t from, int64_t to) {
    return "from=" + std::to_string(from) + "&to=" + std::to_string(to);
  }

  Person ada_;
  Person bob_;
  std::string org_;
};

TEST_P(UsageRoutesTest, OrganizationUsageAddsUpByMemberModelAndDay) {
  record_sample();
  const std::string base = "/api/orgs/" + org_ + "/usage?" + range(kDay0, kDay2 + kMillisPerDay);

  Reply by_member = call(ada_, "GET", base + "&group_by=member");
  ASSERT_EQ(by_member.status, 200) << by_member.body.dump();
  EXPECT_EQ(by_member.body["group_by"], "member");
  EXPECT_EQ(by_member.body["from"], kDay0);
  auto members = groups(by_member);
  ASSERT_EQ(members.size(), 2u);
  const nlohmann::json& ada = members[ada_.id];
  EXPECT_EQ(ada["email"], "ada@example.com");
  EXPECT_EQ(ada["name"], "Name of ada@example.com");
  EXPECT_EQ(ada["input_tokens"], 600);
  EXPECT_EQ(ada["output_tokens"], 60);
  EXPECT_EQ(ada["cache_read_tokens"], 60);
  EXPECT_EQ(ada["cache_write_tokens"], 6);
  EXPECT_DOUBLE_EQ(ada["cost_usd"].get<double>(), 0.875);
  EXPECT_EQ(ada["requests"], 3);
  EXPECT_EQ(ada["tasks"], 2);
  EXPECT_EQ(members[bob_.id]["requests"], 1);
  EXPECT_EQ(members[bob_.id]["email"], "bob@example.com");

  // The personal row is not the organization's.
  const nlohmann::json& total = by_member.body["total"];
  EXPECT_EQ(total["input_tokens"], 1000);
  EXPECT_EQ(total["output_tokens"], 100);
  EXPECT_DOUBLE_EQ(total["cost_usd"].get<double>(), 2.375);
  EXPECT_EQ(total["requests"], 4);
  EXPECT_EQ(total["tasks"], 3);
  EXPECT_FALSE(total.contains("key"));

  Reply by_model = call(ada_, "GET", base + "&group_by=model");
  ASSERT_EQ(by_model.status, 200);
  auto models = groups(by_model);
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models["gpt-4o"]["input_tokens"], 800);
  EXPECT_EQ(models["gpt-4o"]["requests"], 3);
  EXPECT_EQ(models["gpt-4o"]["tasks"], 3);
  EXPECT_EQ(models["claude-sonnet"]["input_tokens"], 200);
  EXPECT_FALSE(models["gpt-4o"].contains("email"));
  EXPECT_EQ(by_model.body["total"], total);

  Reply by_day = call(ada_, "GET", base);  // group_by defaults to day
  ASSERT_EQ(by_day.status, 200);
  EXPECT_EQ(by_day.body["group_by"], "day");
  ASSERT_EQ(by_day.body["groups"].size(), 3u);
  EXPECT_EQ(by_day.body["groups"][0]["key"], "2026-11-18");
  EXPECT_EQ(by_day.body["groups"][0]["input_tokens"], 300);
  EXPECT_EQ(by_day.body["groups"][0]["tasks"], 1);
  EXPECT_EQ(by_day.body["groups"][1]["key"], "2026-11-19");
  EXPECT_EQ(by_day.body["groups"][2]["key"], "2026-11-20");
  EXPECT_EQ(by_day.body["groups"][2]["input_tokens"], 400);
  EXPECT_EQ(by_day.body["total"], total);
  EXPECT_EQ(by_day.header("Cache-Control"), "no-store");
}

TEST_P(UsageRoutesTest, MyUsageCoversEveryTenantOfMineOnly) {
  record_sample();
  Reply mine = call(ada_, "GET", "/api/me/usage?" + range(kDay0, kDay2) + "&group_by=model");
  ASSERT_EQ(mine.status, 200) << mine.body.dump();
  auto models = groups(mine);
  EXPECT_EQ(models["gpt-4o"]["input_tokens"], 1400);  // personal 1000 + r1 100 + r3 300
  EXPECT_EQ(models["gpt-4o"]["tasks"], 3);            // personal-task, A and B
  EXPECT_EQ(models["claude-sonnet"]["input_tokens"], 200);
  EXPECT_EQ(mine.body["total"]["requests"], 4);
  EXPECT_EQ(mine.body["total"]["tasks"], 3);

  Reply bobs = call(bob_, "GET", "/api/me/usage?" + range(kDay0, kDay2 + kMillisPerDay));
  ASSERT_EQ(bobs.status, 200);
  ASSERT_EQ(bobs.body["groups"].size(), 1u);
  EXPECT_EQ(bobs.body["groups"][0]["key"], "2026-11-20");
  EXPECT_EQ(bobs.body["total"]["input_tokens"], 400);

  Reply none = call(sign_up("carl@example.com"), "GET", "/api/me/usage");
  ASSERT_EQ(none.status, 200);
  EXPECT_TRUE(none.body["groups"].empty());
  EXPECT_EQ(none.body["total"]["requests"], 0);
  EXPECT_EQ(none.body["total"]["cost_usd"], 0.0);
}

// Costs are sums of binary fractions: 0.1 + 0.2 is 0.30000000000000004 in a double,
// which a client would show as it is. Reports give them to a billionth of a dollar.
TEST_P(UsageRoutesTest, CostsAddUpWithoutFloatingPointCrumbs) {
  const Person ada = sign_up("ada@example.com");
  record(ada, kTaskA, "c1", kDay1 + 1, "gpt-4o", 10, 1, 0.1);
  record(ada, kTaskA, "c2", kDay1 + 2, "gpt-4o", 10, 1, 0.2);
  Reply mine = call(ada, "GET", "/api/me/usage?" + range(kDay0, kDay2) + "&group_by=model");
  ASSERT_EQ(mine.status, 200) << mine.body.dump();
  EXPECT_EQ(mine.body["total"]["cost_usd"].dump(), "0.3");
  EXPECT_EQ(groups(mine)["gpt-4o"]["cost_usd"].dump(), "0.3");
}

TEST_P(UsageRoutesTest, RangesIncludeBothEndsAndDefaultToTheLast30Days) {
  record_sample();
  const std::string path = "/api/orgs/" + org_ + "/usage?";
  // [r2's ts, r3's ts]: r2 and r3, both ends included.
  Reply narrow = call(ada_, "GET", path + range(kDay0 + 20, kDay1 + 30));
  ASSERT_EQ(narrow.status, 200);
  EXPECT_EQ(narrow.body["total"]["requests"], 2);
  EXPECT_EQ(narrow.body["total"]["input_tokens"], 500);
  // Only `from`: up to now.
  Reply from_only = call(ada_, "GET", path + "from=" + std::to_string(kDay1));
  ASSERT_EQ(from_only.status, 200);
  EXPECT_EQ(from_only.body["to"], now_ms_.load());
  EXPECT_EQ(from_only.body["total"]["requests"], 2);
  // Defaults: the 30 days up to now.
  Reply recent = call(ada_, "GET", path);
  ASSERT_EQ(recent.status, 200);
  EXPECT_EQ(recent.body["to"], now_ms_.load());
  EXPECT_EQ(recent.body["from"], now_ms_.load() - 30 * kMillisPerDay);
  EXPECT_EQ(recent.body["total"]["requests"], 4);
  now_ms_ += 40 * kMillisPerDay;
  EXPECT_EQ(call(ada_, "GET", path).body["total"]["requests"], 0);

  // Exactly 400 days is allowed; a millisecond more is not, nor from after to.
  EXPECT_EQ(call(ada_, "GET", path + range(kDay0, kDay0 + 400 * kMillisPerDay)).status, 200);
  Reply wide = call(ada_, "GET", path + range(kDay0, kDay0 + 400 * kMillisPerDay + 1));
  EXPECT_EQ(wide.status, 400);
  EXPECT_NE(wide.message().find("400 days"), std::string::npos);
  Reply backwards = call(ada_, "GET", path + range(kDay1, kDay0));
  EXPECT_EQ(backwards.status, 400);
  EXPECT_NE(backwards.message().find("from must not be after to"), std::string::npos);
}

TEST_P(UsageRoutesTest, OnlyAdminsReadAnOrganizationsUsage) {
  record_sample();
  const std::string path = "/api/orgs/" + org_ + "/usage";
  Reply member = call(bob_, "GET", path);
  EXPECT_EQ(member.status, 403);
  const Person stranger = sign_up("eve@example.com");
  EXPECT_EQ(call(stranger, "GET", path).status, 404);
  EXPECT_EQ(call(stranger, "GET", "/api/orgs/00000000000000000000000000000000/usage").status, 404);
  EXPECT_EQ(call(Person{}, "GET", path).status, 401);
  EXPECT_EQ(call(Person{}, "GET", "/api/me/usage").status, 401);
  ASSERT_EQ(
      call(ada_, "PATCH", "/api/orgs/" + org_ + "/members/" + bob_.id, {{"role", "admin"}}).status,
      200);
  EXPECT_EQ(call(bob_, "GET", path).status, 200);
}

TEST_P(UsageRoutesTest, AFormerMembersUsageStaysWithoutTheirEmail) {
  record_sample();
  ASSERT_EQ(call(ada_, "DELETE", "/api/orgs/" + org_ + "/members/" + bob_.id).status, 204);
  Reply reply =
      call(ada_, "GET",
           "/api/orgs/" + org_ + "/usage?group_by=member&" + range(kDay0, kDay2 + kMillisPerDay));
  ASSERT_EQ(reply.status, 200) << reply.body.dump();
  auto members = groups(reply);
  ASSERT_EQ(members.count(bob_.id), 1u);
  EXPECT_TRUE(members[bob_.id]["email"].is_null());
  EXPECT_TRUE(members[bob_.id]["name"].is_null());
  EXPECT_EQ(members[bob_.id]["input_tokens"], 400);
  EXPECT_EQ(members[ada_.id]["email"], "ada@example.com");
}

TEST_P(UsageRoutesTest, BadQueriesAreRefused) {
  record_sample();
  const std::string org_path = "/api/orgs/" + org_ + "/usage?";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {org_path + "group_by=week", "group_by must be day, member or model"},
      {org_path + "group_by=day&group_by=model", "group_by is given more than once"},
      {org_path + "sort=asc", "unknown query parameter (allowed: from, to, group_by)"},
      {org_path + "from=-1", "from must be Unix milliseconds"},
      {org_path + "to=1e9", "to must be Unix milliseconds"},
      {org_path + "to=99999999999999999999", "to must be Unix milliseconds"},
      {org_path + "from=%zz", "from has a malformed percent-escape"},
      {"/api/me/usage?group_by=member", "group_by must be day or model"},
  };
  for (const auto& [path, message] : cases) {
    Reply reply = call(ada_, "GET", path);
    EXPECT_EQ(reply.status, 400) << path;
    EXPECT_NE(reply.message().find(message), std::string::npos) << path << ": " << reply.message();
  }
}

TEST(UsageQuery, ParsesDefaultsAndLimits) {
  const int64_t now = kDay2;
  Result<UsageQuery> defaults = parse_usage_query("", now, true);
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->to_ms, now);
  EXPECT_EQ(defaults->from_ms, now - 30 * kMillisPerDay);
  EXPECT_EQ(defaults->group_by, UsageGrouping::kDay);
  // Near the epoch the default range starts at 0.
  EXPECT_EQ(parse_usage_query("to=5", now, true)->from_ms, 0);
  EXPECT_EQ(parse_usage_query("group_by=member&from=", now, true)->group_by,
            UsageGrouping::kMember);
  EXPECT_FALSE(parse_usage_query("group_by=member", now, false).ok());
  EXPECT_FALSE(parse_usage_query("from=253402300800000", now, true).ok());
  EXPECT_FALSE(parse_usage_query(std::string("from=1\0", 7), now, true).ok());
}

TEST(UsageQuery, DatesAreUtcCalendarDays) {
  EXPECT_EQ(utc_date(0), "1970-01-01");
  EXPECT_EQ(utc_date(19782), "2024-02-29");
  EXPECT_EQ(utc_date(20775), "2026-11-18");
  EXPECT_EQ(utc_date(2932896), "9999-12-31");
}

INSTANTIATE_TEST_SUITE_P(Backends, UsageRoutesTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace joey::cloud
