// The task history wire format: what an agent may upload and how a person searches.
// Every malformed body or query is refused with kInvalidArgument (kLimit for a body
// over the upload limit) and a message that names the field, never its content.
#include "cloud/task_wire.h"

#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

namespace joey::cloud {
namespace {

HttpRequest json_request(std::string body, std::string content_type = "application/json") {
  HttpRequest request;
  request.method = "POST";
  request.headers.emplace_back("content-type", std::move(content_type));
  request.body = std::move(body);
  return request;
}

nlohmann::json message(int64_t ts = 1764117930123, std::string role = "user",
                       std::string content = "fix the failing test") {
  return {{"ts", ts}, {"role", role}, {"content", content}};
}

nlohmann::json batch(nlohmann::json messages = nlohmann::json::array({message()})) {
  return {{"batch_id", "20261126T004530-1a2b3c4d.b1"}, {"messages", std::move(messages)}};
}

nlohmann::json usage() {
  return {{"request_id", "req-1"},
          {"ts", 1764117930123},
          {"model", "gpt-4o"},
          {"input_tokens", 1200},
          {"output_tokens", 300}};
}

Result<MessageBatch> parse_batch(const nlohmann::json& body) {
  return parse_message_batch(json_request(body.dump()));
}

Result<UsageRecord> parse_usage(const nlohmann::json& body) {
  return parse_usage_record(json_request(body.dump()));
}

template <typename T>
void expect_invalid(const Result<T>& result, const std::string& mentions) {
  ASSERT_FALSE(result.ok()) << "expected a refusal mentioning " << mentions;
  EXPECT_EQ(result.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_NE(result.error().message.find(mentions), std::string::npos) << result.error().message;
}

// --- ids and roles ---

TEST(TaskWireTest, TaskIdsAreOneTo128SafeCharacters) {
  EXPECT_TRUE(is_valid_task_id("20261126T004530-1a2b3c4d"));
  EXPECT_TRUE(is_valid_task_id("20261126T004530-1a2b3c4d.sub1"));
  EXPECT_TRUE(is_valid_task_id("A_z-0.9"));
  EXPECT_TRUE(is_valid_task_id(std::string(128, 'a')));
  EXPECT_FALSE(is_valid_task_id(""));
  EXPECT_FALSE(is_valid_task_id(std::string(129, 'a')));
  for (const char* bad : {"a/b", "a b", "a%2F", "a\\b", "ä", "a\nb", "a?b", "a#b"}) {
    EXPECT_FALSE(is_valid_task_id(bad)) << bad;
  }
  EXPECT_FALSE(is_valid_task_id(std::string_view("a\0b", 3)));
}

TEST(TaskWireTest, RolesAreTheFiveKnownOnes) {
  for (const char* role : {"user", "assistant", "tool_call", "tool_result", "system"}) {
    EXPECT_TRUE(is_task_message_role(role)) << role;
  }
  for (const char* role : {"", "User", "tool", "developer", "user "}) {
    EXPECT_FALSE(is_task_message_role(role)) << role;
  }
}

// --- message batches: accepted forms ---

TEST(TaskWireTest, BatchWithAllFieldsIsParsed) {
  nlohmann::json body = batch(nlohmann::json::array(
      {message(1, "user", "fix it"), message(2, "assistant", ""),
       message(3, "tool_call", R"({"name":"read_file"})"), message(4, "tool_result", "ok"),
       message(5, "system", "caf\u00e9 \xf0\x9f\x98\x80")}));
  body["mode"] = "code";
  body["model"] = "gpt-4o";
  body["title"] = "Fix the failing test";
  Result<MessageBatch> parsed = parse_batch(body);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->batch_id, "20261126T004530-1a2b3c4d.b1");
  EXPECT_EQ(parsed->mode.value_or(""), "code");
  EXPECT_EQ(parsed->model.value_or(""), "gpt-4o");
  EXPECT_EQ(parsed->title.value_or(""), "Fix the failing test");
  ASSERT_EQ(parsed->messages.size(), 5u);
  EXPECT_EQ(parsed->messages[0].ts_ms, 1);
  EXPECT_EQ(parsed->messages[2].role, "tool_call");
  EXPECT_EQ(parsed->messages[1].content, "");
  EXPECT_EQ(parsed->messages[4].content, "caf\u00e9 \xf0\x9f\x98\x80");
}

TEST(TaskWireTest, OptionalLabelsMayBeAbsentOrNull) {
  Result<MessageBatch> absent = parse_batch(batch());
  ASSERT_TRUE(absent.ok()) << absent.error().message;
  EXPECT_FALSE(absent->mode.has_value());
  EXPECT_FALSE(absent->title.has_value());
  nlohmann::json body = batch();
  body["mode"] = nullptr;
  body["title"] = nullptr;
  Result<MessageBatch> null = parse_batch(body);
  ASSERT_TRUE(null.ok()) << null.error().message;
  EXPECT_FALSE(null->mode.has_value());
}

TEST(TaskWireTest, BatchAtEveryLimitIsAccepted) {
  nlohmann::json messages = nlohmann::json::array();
  for (size_t i = 0; i < kMaxMessagesPerBatch; ++i) messages.push_back(message(0));
  messages[0]["content"] = std::string(kMaxMessageContentBytes, 'x');
  nlohmann::json body = batch(messages);
  body["batch_id"] = std::string(kMaxBatchIdBytes, 'b');
  body["title"] = std::string(kMaxLabelBytes, 't');
  body["mode"] = std::string(kMaxLabelBytes, 'm');
  Result<MessageBatch> parsed = parse_batch(body);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->messages.size(), kMaxMessagesPerBatch);
  EXPECT_EQ(parsed->messages[0].content.size(), kMaxMessageContentBytes);
}

TEST(TaskWireTest, EscapedUnicodeContentDecodesToUtf8) {
  Result<MessageBatch> parsed = parse_message_batch(json_request(
      R"({"batch_id":"b","messages":[{"ts":0,"role":"user","content":"\u00e9\ud83d\ude00\u0000"}]})"));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->messages[0].content, std::string("\xc3\xa9\xf0\x9f\x98\x80\0", 7));
}

// --- message batches: refusals ---

TEST(TaskWireTest, BatchRefusesMissingFields) {
  nlohmann::json body = batch();
  body.erase("batch_id");
  expect_invalid(parse_batch(body), "batch_id");
  body = batch();
  body.erase("messages");
  expect_invalid(parse_batch(body), "messages");
  for (const char* field : {"ts", "role", "content"}) {
    nlohmann::json missing = message();
    missing.erase(field);
    expect_invalid(parse_batch(batch(nlohmann::json::array({missing}))),
                   std::string("messages[0].") + field);
  }
}

TEST(TaskWireTest, BatchRefusesWrongTypes) {
  for (const auto& [field, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"batch_id", 7},
           {"mode", 1},
           {"model", true},
           {"title", nlohmann::json::array()},
           {"messages", "x"},
           {"messages", nlohmann::json::object()}}) {
    nlohmann::json body = batch();
    body[field] = value;
    expect_invalid(parse_batch(body), field);
  }
  expect_invalid(parse_batch(batch(nlohmann::json::array({"text"}))), "messages[0]");
  expect_invalid(parse_batch(batch(nlohmann::json::array({message(), nullptr}))), "messages[1]");
  nlohmann::json wrong = message();
  wrong["content"] = nlohmann::json::array({"a"});
  expect_invalid(parse_batch(batch(nlohmann::json::array({wrong}))), "content");
  wrong = message();
  wrong["role"] = 3;
  expect_invalid(parse_batch(batch(nlohmann::json::array({wrong}))), "role");
}

TEST(TaskWireTest, BatchRefusesUnknownFields) {
  nlohmann::json body = batch();
  body["user_id"] = "someone-else";
  expect_invalid(parse_batch(body), "user_id");
  nlohmann::json extra = message();
  extra["seq"] = 4;
  expect_invalid(parse_batch(batch(nlohmann::json::array({extra}))), "unknown field");
}

TEST(TaskWireTest, BatchRefusesBadTimestamps) {
  for (const nlohmann::json& ts :
       {nlohmann::json(-1), nlohmann::json(1.5), nlohmann::json(1.0), nlohmann::json("17"),
        nlohmann::json(nullptr), nlohmann::json(18446744073709551615ull),
        nlohmann::json(253402300800000)}) {
    nlohmann::json bad = message();
    bad["ts"] = ts;
    expect_invalid(parse_batch(batch(nlohmann::json::array({bad}))), "messages[0].ts");
  }
  // A number too large for 64 bits is read as a float, and refused as one.
  expect_invalid(
      parse_message_batch(json_request(
          R"({"batch_id":"b","messages":[{"ts":99999999999999999999999,"role":"user","content":""}]})")),
      "ts");
}

TEST(TaskWireTest, BatchRefusesBadRole) {
  for (const char* role : {"", "admin", "USER", "tool"}) {
    expect_invalid(parse_batch(batch(nlohmann::json::array({message(0, role)}))), "role");
  }
}

TEST(TaskWireTest, BatchRefusesBadBatchIds) {
  for (const std::string& id : {std::string(""), std::string(kMaxBatchIdBytes + 1, 'b'),
                                std::string("a/b"), std::string("a b"), std::string("caf\u00e9")}) {
    nlohmann::json body = batch();
    body["batch_id"] = id;
    expect_invalid(parse_batch(body), "batch_id");
  }
}

TEST(TaskWireTest, BatchRefusesOversizeContentBatchAndLabels) {
  nlohmann::json big = message();
  big["content"] = std::string(kMaxMessageContentBytes + 1, 'x');
  expect_invalid(parse_batch(batch(nlohmann::json::array({message(), big}))),
                 "messages[1].content");

  expect_invalid(parse_batch(batch(nlohmann::json::array())), "messages");
  nlohmann::json many = nlohmann::json::array();
  for (size_t i = 0; i <= kMaxMessagesPerBatch; ++i) many.push_back(message(0));
  expect_invalid(parse_batch(batch(many)), "messages");

  for (const char* label : {"mode", "model", "title"}) {
    nlohmann::json body = batch();
    body[label] = std::string(kMaxLabelBytes + 1, 'x');
    expect_invalid(parse_batch(body), label);
  }
}

TEST(TaskWireTest, BatchRefusesNulInLabels) {
  nlohmann::json body = batch();
  body["title"] = std::string("a\0b", 3);
  expect_invalid(parse_batch(body), "title");
}

TEST(TaskWireTest, BodyOverTheUploadLimitIsALimitError) {
  std::string body = batch().dump();
  body.append(kMaxUploadBodyBytes, ' ');
  Result<MessageBatch> parsed = parse_message_batch(json_request(body));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().kind, ErrorKind::kLimit);
}

TEST(TaskWireTest, BatchRefusesNonUtf8NonJsonAndWrongContentType) {
  expect_invalid(parse_message_batch(
                     json_request("{\"batch_id\":\"b\",\"messages\":[{\"ts\":0,\"role\":\"user\","
                                  "\"content\":\"\xff\xfe\"}]}")),
                 "UTF-8");
  // A lone surrogate escape would decode to invalid UTF-8: it is not JSON.
  expect_invalid(parse_message_batch(json_request(
                     R"({"batch_id":"b","messages":[{"ts":0,"role":"user","content":"\ud800"}]})")),
                 "JSON");
  expect_invalid(parse_message_batch(json_request("{\"batch_id\":")), "JSON");
  expect_invalid(parse_message_batch(json_request("[]")), "object");
  expect_invalid(parse_message_batch(json_request(batch().dump(), "text/plain")), "Content-Type");
}

TEST(TaskWireTest, RefusalNeverQuotesContent) {
  nlohmann::json big =
      message(0, "user", "SECRET-CANARY " + std::string(kMaxMessageContentBytes, 'x'));
  Result<MessageBatch> parsed = parse_batch(batch(nlohmann::json::array({big})));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message.find("SECRET-CANARY"), std::string::npos);
  nlohmann::json body = batch();
  body["title"] = "SECRET-CANARY" + std::string(kMaxLabelBytes, 'x');
  parsed = parse_batch(body);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message.find("SECRET-CANARY"), std::string::npos);
}

// --- usage records ---

TEST(TaskWireTest, UsageRecordIsParsed) {
  nlohmann::json body = usage();
  body["cache_read_tokens"] = 1000000000000;
  body["cache_write_tokens"] = 0;
  body["cost_usd"] = 0.0123;
  Result<UsageRecord> parsed = parse_usage(body);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->request_id, "req-1");
  EXPECT_EQ(parsed->ts_ms, 1764117930123);
  EXPECT_EQ(parsed->model, "gpt-4o");
  EXPECT_EQ(parsed->input_tokens, 1200);
  EXPECT_EQ(parsed->output_tokens, 300);
  EXPECT_EQ(parsed->cache_read_tokens, 1000000000000);
  EXPECT_DOUBLE_EQ(parsed->cost_usd, 0.0123);
}

TEST(TaskWireTest, UsageOptionalFieldsDefaultToZero) {
  Result<UsageRecord> parsed = parse_usage(usage());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->cache_read_tokens, 0);
  EXPECT_EQ(parsed->cache_write_tokens, 0);
  EXPECT_EQ(parsed->cost_usd, 0);
  nlohmann::json body = usage();
  body["cost_usd"] = 2;  // an integer is a number too
  parsed = parse_usage(body);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->cost_usd, 2);
}

TEST(TaskWireTest, UsageRefusesMissingAndUnknownFields) {
  for (const char* field : {"request_id", "ts", "model", "input_tokens", "output_tokens"}) {
    nlohmann::json body = usage();
    body.erase(field);
    expect_invalid(parse_usage(body), field);
  }
  nlohmann::json body = usage();
  body["reasoning_tokens"] = 1;
  expect_invalid(parse_usage(body), "reasoning_tokens");
}

TEST(TaskWireTest, UsageRefusesNonIntegerTokenCounts) {
  for (const char* field :
       {"input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"}) {
    for (const nlohmann::json& value :
         {nlohmann::json(-1), nlohmann::json(1.5), nlohmann::json(3.0), nlohmann::json("12"),
          nlohmann::json(true), nlohmann::json(1000000000001), nlohmann::json(9223372036854775807),
          nlohmann::json(18446744073709551615ull)}) {
      nlohmann::json body = usage();
      body[field] = value;
      expect_invalid(parse_usage(body), field);
    }
  }
}

TEST(TaskWireTest, UsageRefusesBadCostModelIdAndTimestamp) {
  for (const nlohmann::json& cost :
       {nlohmann::json(-0.01), nlohmann::json(1e7), nlohmann::json("0.1"), nlohmann::json(true)}) {
    nlohmann::json body = usage();
    body["cost_usd"] = cost;
    expect_invalid(parse_usage(body), "cost_usd");
  }
  expect_invalid(
      parse_usage_record(json_request(
          R"({"request_id":"r","ts":0,"model":"m","input_tokens":0,"output_tokens":0,"cost_usd":1e400})")),
      "JSON");
  nlohmann::json body = usage();
  body["model"] = "";
  expect_invalid(parse_usage(body), "model");
  body["model"] = std::string(kMaxLabelBytes + 1, 'm');
  expect_invalid(parse_usage(body), "model");
  body = usage();
  body["request_id"] = "a b";
  expect_invalid(parse_usage(body), "request_id");
  body = usage();
  body["ts"] = -5;
  expect_invalid(parse_usage(body), "ts");
  body["ts"] = 5.5;
  expect_invalid(parse_usage(body), "ts");
}

// --- the search query ---

TEST(TaskWireTest, EmptyQueryHasDefaults) {
  Result<TaskQuery> query = parse_task_query("");
  ASSERT_TRUE(query.ok()) << query.error().message;
  EXPECT_EQ(query->q, "");
  EXPECT_EQ(query->limit, 20);
  EXPECT_FALSE(query->mode || query->from_ms || query->to_ms || query->cursor || query->user_id);
}

TEST(TaskWireTest, QueryWithEveryParameterIsParsed) {
  Result<TaskQuery> query = parse_task_query(
      "q=fix+the%20test%2B1&mode=code&from=1000&to=2000&cursor=abc_DEF-9&limit=100&user=u1");
  ASSERT_TRUE(query.ok()) << query.error().message;
  EXPECT_EQ(query->q, "fix the test+1");
  EXPECT_EQ(query->mode.value_or(""), "code");
  EXPECT_EQ(query->from_ms.value_or(-1), 1000);
  EXPECT_EQ(query->to_ms.value_or(-1), 2000);
  EXPECT_EQ(query->cursor.value_or(""), "abc_DEF-9");
  EXPECT_EQ(query->user_id.value_or(""), "u1");
  EXPECT_EQ(query->limit, 100);
}

TEST(TaskWireTest, EmptyQueryValuesAndPairsMeanAbsent) {
  Result<TaskQuery> query = parse_task_query("q=&mode=&from=&to=&cursor=&limit=&&user");
  ASSERT_TRUE(query.ok()) << query.error().message;
  EXPECT_EQ(query->limit, 20);
  EXPECT_FALSE(query->mode || query->from_ms || query->to_ms || query->cursor || query->user_id);
  EXPECT_TRUE(parse_task_query("limit=5&").ok());
  EXPECT_TRUE(parse_task_query("&limit=5").ok());
}

TEST(TaskWireTest, QueryDecodesUtf8) {
  Result<TaskQuery> query = parse_task_query("q=caf%C3%A9");
  ASSERT_TRUE(query.ok()) << query.error().message;
  EXPECT_EQ(query->q, "caf\u00e9");
}

TEST(TaskWireTest, QueryRefusesUnknownAndRepeatedParameters) {
  expect_invalid(parse_task_query("q=a&sort=asc"), "unknown query parameter");
  expect_invalid(parse_task_query("Q=a"), "unknown query parameter");
  expect_invalid(parse_task_query("q=a&q=b"), "q is given more than once");
  expect_invalid(parse_task_query("limit=5&limit=6"), "limit");
  expect_invalid(parse_task_query("q=a&q="), "q is given more than once");
  // A name spelled with escapes is the same name.
  expect_invalid(parse_task_query("q=a&%71=b"), "more than once");
}

TEST(TaskWireTest, QueryRefusesBadEscapes) {
  for (const char* raw : {"q=%", "q=%2", "q=%zz", "q=%00", "q=%ff", "q=%C3", "q%=a", "%=a"}) {
    Result<TaskQuery> query = parse_task_query(raw);
    ASSERT_FALSE(query.ok()) << raw;
    EXPECT_EQ(query.error().kind, ErrorKind::kInvalidArgument);
  }
}

TEST(TaskWireTest, QueryLimitBounds) {
  EXPECT_EQ(parse_task_query("limit=1")->limit, 1);
  EXPECT_EQ(parse_task_query("limit=100")->limit, 100);
  EXPECT_EQ(parse_task_query("limit=007")->limit, 7);
  for (const char* raw : {"limit=0", "limit=101", "limit=-1", "limit=+5", "limit=5.0", "limit=ten",
                          "limit=%205", "limit=99999999999999999999999"}) {
    expect_invalid(parse_task_query(raw), "limit");
  }
}

TEST(TaskWireTest, QueryRefusesBadTimesCursorsUsersAndLongText) {
  for (const char* raw : {"from=-1", "from=1e3", "to=abc", "to=1%2E5", "from=253402300800000",
                          "from=99999999999999999999"}) {
    Result<TaskQuery> query = parse_task_query(raw);
    ASSERT_FALSE(query.ok()) << raw;
    EXPECT_EQ(query.error().kind, ErrorKind::kInvalidArgument);
  }
  expect_invalid(parse_task_query("from=2000&to=1000"), "from must not be after to");
  EXPECT_TRUE(parse_task_query("from=1000&to=1000").ok());
  expect_invalid(parse_task_query("cursor=a.b"), "cursor");
  expect_invalid(parse_task_query("cursor=" + std::string(201, 'c')), "cursor");
  EXPECT_TRUE(parse_task_query("cursor=" + std::string(200, 'c')).ok());
  expect_invalid(parse_task_query("user=a%2Fb"), "user");
  expect_invalid(parse_task_query("q=" + std::string(501, 'a')), "q must be at most");
  EXPECT_TRUE(parse_task_query("q=" + std::string(500, 'a')).ok());
  expect_invalid(parse_task_query("mode=" + std::string(kMaxLabelBytes + 1, 'm')), "mode");
}

}  // namespace
}  // namespace joey::cloud
