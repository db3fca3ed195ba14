// The model proxy's admission and records (cloud/proxy_service.h), on both backends:
// token auth (Bearer or x-api-key; never a session cookie), the organization's
// allow-list, monthly budget and per-user rate limits, the choice of key (the
// organization's before the operator's), and proxy_requests rows that hold metadata only.
#include "cloud/proxy_service.h"

#include <gtest/gtest.h>

#include <map>

#include <thread>
#include <variant>

#include "cloud/cloud_routes_fixture.h"
#include "crypto/tokens.h"

namespace joey::cloud {
namespace {

using testing::CloudRoutesTest;
using testing::Person;

constexpr char kCanaryPrompt[] = "canary-prompt-3f9a1c";

class ProxyServiceTest : public CloudRoutesTest {
 protected:
  void SetUp() override {
    CloudRoutesTest::SetUp();
    if (stopped()) return;
    start_proxy(ProxyOptions().access_refresh);
    usage_->settle_with([this] { proxy_->flush(); });
  }

  // (Re)starts the proxy under test, keeping admissions for `access_refresh`.
  void start_proxy(std::chrono::milliseconds access_refresh) {
    ProxyOptions options;
    options.openai = {"http://127.0.0.1:9/v1", "sk-operator-openai-0000"};
    options.anthropic = {"http://127.0.0.1:9/v1", ""};
    options.budget_refresh = std::chrono::milliseconds(0);
    options.access_refresh = access_refresh;
    options.clock_ms = [this] { return now_ms_.load(); };
    proxy_ = std::make_unique<ProxyService>(*store_, *identity_, *orgs_, options);
  }

  // Revokes the person's only token through `identity` (this process's, or a replica's).
  static void revoke_only_token(IdentityService& identity, const Person& person) {
    const User user{person.id, "", ""};
    Result<std::vector<TokenInfo>> tokens = identity.list_tokens(user);
    ASSERT_TRUE(tokens.ok() && tokens->size() == 1);
    ASSERT_TRUE(identity.revoke_token(user, (*tokens)[0].id).ok());
  }
  void TearDown() override {
    proxy_.reset();
    CloudRoutesTest::TearDown();
  }

  std::string token_for(const Person& person) {
    Result<Caller> caller =
        identity_->authenticate_session(person.cookie.substr(person.cookie.find('=') + 1));
    EXPECT_TRUE(caller.ok());
    if (!caller.ok()) return {};
    Result<NewToken> token = identity_->create_token(caller->user, "proxy");
    EXPECT_TRUE(token.ok()) << token.error().message;
    return token.ok() ? token->token : std::string();
  }

  static HttpRequest request(const std::string& auth_header, const std::string& auth_value,
                             const std::string& model, bool stream = true) {
    HttpRequest out;
    out.method = "POST";
    out.headers.emplace_back(auth_header, auth_value);
    out.body = nlohmann::json{{"model", model},
                              {"stream", stream},
                              {"messages", {{{"role", "user"}, {"content", kCanaryPrompt}}}}}
                   .dump();
    return out;
  }

  std::variant<ProxyTicket, ProxyRefusal> admit(
      const std::string& token, const std::string& model,
      ProxyProtocol protocol = ProxyProtocol::kOpenAIChat) {
    return proxy_->admit(request("authorization", "Bearer " + token, model), protocol);
  }

  static int status_of(const std::variant<ProxyTicket, ProxyRefusal>& outcome) {
    if (const auto* refused = std::get_if<ProxyRefusal>(&outcome)) return refused->status;
    return 200;
  }
  static std::string message_of(const std::variant<ProxyTicket, ProxyRefusal>& outcome) {
    const auto* refused = std::get_if<ProxyRefusal>(&outcome);
    return refused ? refused->message : std::string();
  }

  void patch_settings(const Person& admin, const std::string& org, const nlohmann::json& patch) {
    testing::Reply current = call(admin, "GET", "/api/orgs/" + org + "/settings");
    ASSERT_EQ(current.status, 200);
    nlohmann::json body = patch;
    body["version"] = current.body["version"];
    testing::Reply patched = call(admin, "PATCH", "/api/orgs/" + org + "/settings", body);
    ASSERT_EQ(patched.status, 200) << patched.body.dump();
  }

  // An organization with a $0.01 monthly budget, its owner's token and the owner's first
  // admission (not yet finished).
  struct BudgetedOrg {
    std::string org;
    std::string token;
    std::variant<ProxyTicket, ProxyRefusal> first;
  };
  BudgetedOrg budgeted_org() {
    const Person owner = sign_up("owner@example.com");
    const std::string org = create_org(owner, "Acme");
    patch_settings(owner, org, {{"proxy", {{"monthly_budget_usd", 0.01}}}});
    const std::string token = token_for(owner);
    return {org, token, admit(token, "gpt-4o")};
  }
  // gpt-4o: $2.50 per million input tokens, so $0.025: over budgeted_org's $0.01.
  static MeteredUsage over_the_budget() {
    MeteredUsage usage;
    usage.seen = true;
    usage.input_tokens = 10'000;
    return usage;
  }

  std::unique_ptr<ProxyService> proxy_;
};

TEST_P(ProxyServiceTest, ATokenAdmitsAndTheOperatorKeyGoesUpstreamNotTheToken) {
  const Person ada = sign_up("ada@example.com");
  const std::string token = token_for(ada);
  auto outcome = admit(token, "gpt-4o");
  ASSERT_EQ(status_of(outcome), 200) << message_of(outcome);
  const ProxyTicket& ticket = std::get<ProxyTicket>(outcome);
  EXPECT_EQ(ticket.user_id, ada.id);
  EXPECT_EQ(ticket.upstream_url, "http://127.0.0.1:9/v1/chat/completions");
  bool operator_key = false;
  for (const auto& [name, value] : ticket.upstream_headers) {
    EXPECT_EQ(value.find(token), std::string::npos) << name;
    operator_key = operator_key || value == "Bearer sk-operator-openai-0000";
  }
  EXPECT_TRUE(operator_key);
  // Anthropic clients send the token as x-api-key.
  auto by_api_key =
      proxy_->admit(request("x-api-key", token, "openai/gpt-4o"), ProxyProtocol::kOpenAIChat);
  EXPECT_EQ(status_of(by_api_key), 200) << message_of(by_api_key);
}

TEST_P(ProxyServiceTest, NoTokenABadTokenOrASessionCookieIsRefused) {
  const Person ada = sign_up("ada@example.com");
  EXPECT_EQ(status_of(admit("joey_pat_not_a_real_token", "gpt-4o")), 401);
  // Shaped like a token, but no one's: looked up, and refused the same way.
  const auto unknown = admit(crypto::generate_token(crypto::kPersonalAccessTokenPrefix), "gpt-4o");
  EXPECT_EQ(status_of(unknown), 401);
  EXPECT_EQ(message_of(unknown), message_of(admit("joey_pat_not_a_real_token", "gpt-4o")));
  HttpRequest none = request("accept", "application/json", "gpt-4o");
  EXPECT_EQ(status_of(proxy_->admit(none, ProxyProtocol::kOpenAIChat)), 401);
  HttpRequest cookie = request("cookie", ada.cookie, "gpt-4o");
  EXPECT_EQ(status_of(proxy_->admit(cookie, ProxyProtocol::kOpenAIChat)), 401);
}

TEST_P(ProxyServiceTest, ABadBodyIsA400AndAMissingKeyA503) {
  const Person ada = sign_up("ada@example.com");
  const std::string token = token_for(ada);
  HttpRequest bad = request("authorization", "Bearer " + token, "gpt-4o");
  bad.body = "{\"messages\": []}";
  auto refused = proxy_->admit(bad, ProxyProtocol::kOpenAIChat);
  EXPECT_EQ(status_of(refused), 400);
  EXPECT_NE(message_of(refused).find("model"), std::string::npos) << message_of(refused);
  // No operator key for Anthropic, and Ada's organization-less account has none either.
  auto no_key = admit(token, "claude-sonnet-4-5", ProxyProtocol::kAnthropicMessages);
  EXPECT_EQ(status_of(no_key), 503);
  EXPECT_NE(message_of(no_key).find("anthropic"), std::string::npos) << message_of(no_key);
  // It says who can fix it: here only the operator, with the variable joeyd reads.
  EXPECT_NE(message_of(no_key).find("operator can set JOEYD_ANTHROPIC_API_KEY"), std::string::npos)
      << message_of(no_key);
  EXPECT_FALSE(std::get<ProxyRefusal>(no_key).retry) << "no retry brings a key";
  EXPECT_TRUE(std::get<ProxyRefusal>(refused).retry);

  // A member of an organization learns that its admin can add the key, and where.
  const std::string org = create_org(ada, "Acme");
  auto member_no_key = admit(token, "claude-sonnet-4-5", ProxyProtocol::kAnthropicMessages);
  EXPECT_EQ(status_of(member_no_key), 503);
  EXPECT_NE(message_of(member_no_key)
                .find("an admin of your organization can add one (PUT /api/orgs/" + org +
                      "/provider-keys/anthropic), or the server's operator can set "
                      "JOEYD_ANTHROPIC_API_KEY"),
            std::string::npos)
      << message_of(member_no_key);
}

TEST_P(ProxyServiceTest, TheOrganizationsAllowListAndKeyApplyToItsMembers) {
  const Person owner = sign_up("owner@example.com");
  const std::string org = create_org(owner, "Acme");
  const Person member = sign_up("member@example.com");
  ASSERT_EQ(join(owner, org, member, "member@example.com", "member"), 200);
  patch_settings(owner, org,
                 {{"allow_list",
                   {{"allow_all", false},
                    {"providers",
                     {{"openai", {{"allow_all", false}, {"models", {"gpt-4o-mini"}}}},
                      {"anthropic", {{"allow_all", true}}}}}}}});
  const std::string token = token_for(member);
  auto refused = admit(token, "gpt-4o");
  EXPECT_EQ(status_of(refused), 403);
  EXPECT_NE(message_of(refused).find("'gpt-4o'"), std::string::npos) << message_of(refused);
  EXPECT_NE(message_of(refused).find("admin restricts"), std::string::npos);
  EXPECT_EQ(status_of(admit(token, "openai/gpt-4o-mini")), 200);

  // The organization's own key wins over the operator's.
  testing::Reply key = call(owner, "PUT", "/api/orgs/" + org + "/provider-keys/anthropic",
                            {{"api_key", "sk-ant-organization-key-1234"}});
  ASSERT_EQ(key.status, 200) << key.body.dump();
  auto anthropic = admit(token, "claude-sonnet-4-5", ProxyProtocol::kAnthropicMessages);
  ASSERT_EQ(status_of(anthropic), 200) << message_of(anthropic);
  bool org_key = false;
  for (const auto& [name, value] : std::get<ProxyTicket>(anthropic).upstream_headers) {
    org_key = org_key || (name == "x-api-key" && value == "sk-ant-organization-key-1234");
  }
  EXPECT_TRUE(org_key);
}

// A member of two organizations names the one a request counts against with
// x-joey-organization; without it, their oldest membership's policy applies. Naming an
// organization one is not a member of, or something that is no organization id, is a 403.
TEST_P(ProxyServiceTest, AMemberOfSeveralOrganizationsNamesTheOneARequestCountsAgainst) {
  const Person ada = sign_up("ada@example.com");
  // Each allows gpt-4o-mini and one model of its own.
  std::map<std::string, std::string> own_model;
  for (const auto& [name, model] : {std::pair{"First", "gpt-4o"}, std::pair{"Second", "gpt-4.1"}}) {
    const std::string org = create_org(ada, name);
    own_model[org] = model;
    patch_settings(
        ada, org,
        {{"allow_list",
          {{"allow_all", false},
           {"providers",
            {{"openai", {{"allow_all", false}, {"models", {"gpt-4o-mini", model}}}}}}}}});
  }
  const std::string token = token_for(ada);
  const auto admit_in = [&](const std::string& org, const std::string& model) {
    HttpRequest named = request("authorization", "Bearer " + token, model);
    named.headers.emplace_back("x-joey-organization", org);
    return proxy_->admit(named, ProxyProtocol::kOpenAIChat);
  };

  // Unnamed: the oldest membership (both were made within a second here, so either).
  auto by_default = admit(token, "gpt-4o-mini");
  ASSERT_EQ(status_of(by_default), 200) << message_of(by_default);
  const std::string default_org = *std::get<ProxyTicket>(by_default).org_id;
  ASSERT_EQ(own_model.count(default_org), 1u);
  const std::string other_org = own_model.begin()->first == default_org ? own_model.rbegin()->first
                                                                        : own_model.begin()->first;
  EXPECT_EQ(status_of(admit(token, own_model[default_org])), 200);
  EXPECT_EQ(status_of(admit(token, own_model[other_org])), 403);

  // Named: that organization's policy, and its id on the record.
  auto named = admit_in(other_org, own_model[other_org]);
  ASSERT_EQ(status_of(named), 200) << message_of(named);
  EXPECT_EQ(std::get<ProxyTicket>(named).org_id, other_org);
  EXPECT_EQ(status_of(admit_in(other_org, own_model[default_org])), 403);
  EXPECT_EQ(status_of(admit_in(default_org, own_model[default_org])), 200);

  const Person other = sign_up("other@example.com");
  const std::string theirs = create_org(other, "Theirs");
  for (const std::string& named_org : {theirs, std::string("not-an-org-id"), std::string("ab")}) {
    auto refused = admit_in(named_org, "gpt-4o-mini");
    EXPECT_EQ(status_of(refused), 403) << named_org;
    EXPECT_NE(message_of(refused).find("not a member of the organization x-joey-organization"),
              std::string::npos)
        << message_of(refused);
  }
}

TEST_P(ProxyServiceTest, ASpentMonthlyBudgetRefusesWith402) {
  const BudgetedOrg budgeted = budgeted_org();
  ASSERT_EQ(status_of(budgeted.first), 200) << message_of(budgeted.first);
  proxy_->finish(std::get<ProxyTicket>(budgeted.first), 200, over_the_budget());
  auto second = admit(budgeted.token, "gpt-4o");
  EXPECT_EQ(status_of(second), 402);
  EXPECT_NE(message_of(second).find("monthly budget"), std::string::npos) << message_of(second);
}

// Reading the organization's spending must not wait for the usage writer: here the
// writer cannot write at all (the test holds SQLite's one write transaction), and the
// cost of the finished, still unwritten request counts at once.
TEST_P(ProxyServiceTest, TheBudgetCountsUnwrittenRowsWithoutWaitingForTheWriter) {
  if (database_->postgres()) GTEST_SKIP() << "one writer at a time is SQLite's";
  const BudgetedOrg budgeted = budgeted_org();
  ASSERT_EQ(status_of(budgeted.first), 200) << message_of(budgeted.first);
  Result<store::Transaction> held = store_->begin(store::Scope::for_org(budgeted.org));
  ASSERT_TRUE(held.ok()) << held.error().message;
  proxy_->finish(std::get<ProxyTicket>(budgeted.first), 200, over_the_budget());
  auto second = admit(budgeted.token, "gpt-4o");
  EXPECT_EQ(status_of(second), 402) << message_of(second);
  held->rollback();
  proxy_->flush();
  // Written now: the database's sum alone keeps refusing.
  EXPECT_EQ(status_of(admit(budgeted.token, "gpt-4o")), 402);
}

// A token's use is recorded (last_used_at, to the minute), but not by admission: with
// SQLite it would wait for the one writer, here held by the test, and the proxy admits
// on its I/O thread. The usage writer records it once the database is free.
TEST_P(ProxyServiceTest, AdmissionRecordsATokensUseWithoutWaitingForTheWriter) {
  if (database_->postgres()) GTEST_SKIP() << "one writer at a time is SQLite's";
  const Person ada = sign_up("ada@example.com");
  const std::string token = token_for(ada);
  const User user{ada.id, "", ""};
  auto last_used = [&]() -> std::optional<int64_t> {
    Result<std::vector<TokenInfo>> tokens = identity_->list_tokens(user);
    EXPECT_TRUE(tokens.ok() && tokens->size() == 1);
    return tokens.ok() && tokens->size() == 1 ? (*tokens)[0].last_used_at : std::nullopt;
  };
  ASSERT_EQ(last_used(), std::nullopt);
  {
    Result<store::Transaction> held = store_->begin_unscoped();
    ASSERT_TRUE(held.ok()) << held.error().message;
    // Were admission to write, it would wait for the write lock until the store's
    // acquire timeout and then refuse with a 500.
    auto admitted = admit(token, "gpt-4o");
    EXPECT_EQ(status_of(admitted), 200) << message_of(admitted);
    held->rollback();
  }
  proxy_->flush();
  EXPECT_EQ(last_used(), now_.load());
  // Within the minute, the next reads of the token record nothing new.
  now_ += 30;
  start_proxy(std::chrono::milliseconds(0));
  ASSERT_EQ(status_of(admit(token, "gpt-4o")), 200);
  proxy_->flush();
  EXPECT_EQ(last_used(), now_.load() - 30);
  // A minute on, they do.
  now_ += 30;
  ASSERT_EQ(status_of(admit(token, "gpt-4o")), 200);
  proxy_->flush();
  EXPECT_EQ(last_used(), now_.load());
}

TEST_P(ProxyServiceTest, PerUserLimitsOnRequestsAndTokensAnswer429WithRetryAfter) {
  const Person owner = sign_up("owner@example.com");
  const std::string org = create_org(owner, "Acme");
  patch_settings(owner, org, {{"proxy", {{"user_requests_per_minute", 2}}}});
  const std::string token = token_for(owner);
  EXPECT_EQ(status_of(admit(token, "gpt-4o")), 200);
  EXPECT_EQ(status_of(admit(token, "gpt-4o")), 200);
  auto third = admit(token, "gpt-4o");
  ASSERT_EQ(status_of(third), 429);
  const ProxyRefusal& refused = std::get<ProxyRefusal>(third);
  ASSERT_TRUE(refused.retry_after_seconds);
  EXPECT_GE(*refused.retry_after_seconds, 1);
  EXPECT_LE(*refused.retry_after_seconds, 60);

  const Person other = sign_up("other@example.com");
  ASSERT_EQ(join(owner, org, other, "other@example.com", "member"), 200);
  patch_settings(
      owner, org,
      {{"proxy", {{"user_requests_per_minute", nullptr}, {"user_tokens_per_minute", 100}}}});
  const std::string other_token = token_for(other);
  auto admitted = admit(other_token, "gpt-4o");
  ASSERT_EQ(status_of(admitted), 200);
  MeteredUsage usage;
  usage.seen = true;
  usage.output_tokens = 150;
  proxy_->finish(std::get<ProxyTicket>(admitted), 200, usage);
  EXPECT_EQ(status_of(admit(other_token, "gpt-4o")), 429);
}

// Admission is read once and kept: a busy caller costs no database read per request.
// A revocation or policy change made through this process applies to the very next
// request all the same.
TEST_P(ProxyServiceTest, AdmissionIsKeptUntilSomethingChangesInThisProcess) {
  start_proxy(std::chrono::hours(1));
  const Person owner = sign_up("owner@example.com");
  const std::string org = create_org(owner, "Acme");
  const std::string token = token_for(owner);
  ASSERT_EQ(status_of(admit(token, "gpt-4o")), 200);
  const uint64_t transactions = store_->stats().acquired;
  for (int i = 0; i < 5; ++i) ASSERT_EQ(status_of(admit(token, "gpt-4o")), 200);
  EXPECT_EQ(store_->stats().acquired, transactions) << "admission read the database again";

  patch_settings(owner, org,
                 {{"allow_list",
                   {{"allow_all", false},
                    {"providers", {{"openai", {{"allow_all", false}, {"models", {"o3"}}}}}}}}});
  EXPECT_EQ(status_of(admit(token, "gpt-4o")), 403);
  EXPECT_EQ(status_of(admit(token, "o3")), 200);

  const Person member = sign_up("member@example.com");
  ASSERT_EQ(join(owner, org, member, "member@example.com", "member"), 200);
  const std::string member_token = token_for(member);
  EXPECT_EQ(status_of(admit(member_token, "gpt-4o")), 403);
  ASSERT_EQ(call(owner, "DELETE", "/api/orgs/" + org + "/members/" + member.id).status, 204);
  EXPECT_EQ(status_of(admit(member_token, "gpt-4o")), 200) << "no longer bound by Acme's list";

  ASSERT_NO_FATAL_FAILURE(revoke_only_token(*identity_, owner));
  EXPECT_EQ(status_of(admit(token, "o3")), 401);
}

// Another replica's changes do not reach this process's counters: they apply once what
// was kept is older than access_refresh.
TEST_P(ProxyServiceTest, AnotherReplicasRevocationAppliesAfterAccessRefresh) {
  start_proxy(std::chrono::milliseconds(50));
  const Person ada = sign_up("ada@example.com");
  const std::string token = token_for(ada);
  ASSERT_EQ(status_of(admit(token, "gpt-4o")), 200);

  IdentityOptions replica_options;
  replica_options.clock = [] { return int64_t{1'900'000'000}; };
  IdentityService replica(*store_, replica_options);
  ASSERT_NO_FATAL_FAILURE(revoke_only_token(replica, ada));
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_EQ(status_of(admit(token, "gpt-4o")), 401);
}

TEST_P(ProxyServiceTest, RecordsHoldMetadataAndFeedTheUsageReportButNoPrompt) {
  const Person owner = sign_up("owner@example.com");
  const std::string org = create_org(owner, "Acme");
  const std::string token = token_for(owner);
  auto admitted = admit(token, "gpt-4o");
  ASSERT_EQ(status_of(admitted), 200);
  MeteredUsage usage;
  usage.seen = true;
  usage.input_tokens = 1000;
  usage.output_tokens = 100;
  proxy_->finish(std::get<ProxyTicket>(admitted), 200, usage);
  // The report waits for the row the writer has queued.
  testing::Reply report = call(owner, "GET", "/api/orgs/" + org + "/usage?group_by=model");
  ASSERT_EQ(report.status, 200) << report.body.dump();
  EXPECT_EQ(stored_rows("proxy_requests", owner), 1);
  EXPECT_EQ(report.body["total"]["input_tokens"], 1000);
  EXPECT_EQ(report.body["total"]["requests"], 1);
  ASSERT_EQ(report.body["groups"].size(), 1U);
  EXPECT_EQ(report.body["groups"][0]["key"], "gpt-4o");
  EXPECT_GT(report.body["total"]["cost_usd"].get<double>(), 0);
  const std::string bytes = database_->stored_bytes();
  EXPECT_EQ(bytes.find(kCanaryPrompt), std::string::npos);
  EXPECT_NE(bytes.find("gpt-4o"), std::string::npos) << "the scan reads the stored rows";
}

// Rows are written in batches, a tenant per transaction; a row that cannot be written
// (its user deleted meanwhile) costs no other row its place, whichever batch it lands in.
TEST_P(ProxyServiceTest, ARowThatCannotBeWrittenCostsNoOtherRow) {
  const Person owner = sign_up("owner@example.com");
  const std::string org = create_org(owner, "Acme");
  const std::string token = token_for(owner);
  MeteredUsage usage;
  usage.seen = true;
  usage.output_tokens = 7;
  for (int i = 0; i < 20; ++i) {
    auto admitted = admit(token, "gpt-4o");
    ASSERT_EQ(status_of(admitted), 200);
    ProxyTicket ticket = std::get<ProxyTicket>(admitted);
    proxy_->finish(ticket, 200, usage);
    ticket.user_id = "deleted-user";  // no such user: the row breaks its foreign key
    proxy_->finish(ticket, 200, usage);
  }
  proxy_->flush();
  EXPECT_EQ(stored_rows("proxy_requests", owner), 20);
  testing::Reply report = call(owner, "GET", "/api/orgs/" + org + "/usage");
  ASSERT_EQ(report.status, 200) << report.body.dump();
  EXPECT_EQ(report.body["total"]["requests"], 20);
  EXPECT_EQ(report.body["total"]["output_tokens"], 140);
}

// The writer puts several rows in one INSERT: each row keeps its own values whatever the
// batch's size (13 rows are statements of 8, 4 and 1), for an organization's member and a
// user on their own alike.
TEST_P(ProxyServiceTest, EveryRowOfABatchKeepsItsOwnValues) {
  const Person owner = sign_up("owner@example.com");
  create_org(owner, "Acme");
  const Person solo = sign_up("solo@example.com");
  const std::string owner_token = token_for(owner);
  const std::string solo_token = token_for(solo);
  constexpr int kRows = 13;
  for (int i = 1; i <= kRows; ++i) {
    for (const std::string* token : {&owner_token, &solo_token}) {
      auto admitted = admit(*token, i % 2 ? "gpt-4o" : "gpt-4o-mini");
      ASSERT_EQ(status_of(admitted), 200);
      MeteredUsage usage;
      usage.seen = true;
      usage.input_tokens = i;
      usage.output_tokens = 100 * i;
      proxy_->finish(std::get<ProxyTicket>(admitted), i == kRows ? 500 : 200, usage);
    }
  }
  proxy_->flush();
  for (const Person* who : {&owner, &solo}) {
    SCOPED_TRACE(who == &solo ? "solo" : "owner");
    Result<store::Transaction> tx =
        store_->begin(store::Scope::for_user(who->id), store::Access::kRead);
    ASSERT_TRUE(tx.ok());
    auto rows = tx->query(
        "SELECT input_tokens, output_tokens, status, model, org_id FROM proxy_requests "
        "WHERE user_id = :user ORDER BY input_tokens");
    ASSERT_TRUE(rows.ok()) << rows.error().message;
    ASSERT_EQ(rows->size(), size_t{kRows});
    for (int i = 1; i <= kRows; ++i) {
      const store::Row& row = (*rows)[static_cast<size_t>(i - 1)];
      EXPECT_EQ(row.integer("input_tokens").value(), i);
      EXPECT_EQ(row.integer("output_tokens").value(), 100 * i);
      EXPECT_EQ(row.integer("status").value(), i == kRows ? 500 : 200);
      EXPECT_EQ(row.text("model").value(), i % 2 ? "gpt-4o" : "gpt-4o-mini");
      EXPECT_EQ(row.is_null("org_id"), who == &solo);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, ProxyServiceTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace joey::cloud
