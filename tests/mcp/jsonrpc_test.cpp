#include "mcp/jsonrpc.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace joey::mcp {
namespace {

using nlohmann::json;

Message parse_one(std::string_view text) {
  Result<std::vector<Message>> messages = parse_frame(text);
  EXPECT_TRUE(messages.ok()) << (messages.ok() ? "" : messages.error().message);
  if (!messages.ok() || messages->size() != 1) return Message();
  return (*messages)[0];
}

TEST(JsonRpcParse, RequestWithIntegerId) {
  const Message message = parse_one(R"({"jsonrpc":"2.0","id":7,"method":"ping","params":{}})");
  EXPECT_EQ(message.type, Message::Type::kRequest);
  ASSERT_TRUE(message.id);
  EXPECT_EQ(std::get<int64_t>(*message.id), 7);
  EXPECT_EQ(message.method, "ping");
  EXPECT_TRUE(message.params.is_object());
}

TEST(JsonRpcParse, RequestWithStringId) {
  const Message message = parse_one(R"({"jsonrpc":"2.0","id":"abc","method":"roots/list"})");
  EXPECT_EQ(message.type, Message::Type::kRequest);
  ASSERT_TRUE(message.id);
  EXPECT_EQ(std::get<std::string>(*message.id), "abc");
  EXPECT_TRUE(message.params.is_null());
}

TEST(JsonRpcParse, Notification) {
  const Message message =
      parse_one(R"({"jsonrpc":"2.0","method":"notifications/tools/list_changed"})");
  EXPECT_EQ(message.type, Message::Type::kNotification);
  EXPECT_FALSE(message.id);
  EXPECT_EQ(message.method, "notifications/tools/list_changed");
}

TEST(JsonRpcParse, ResultResponse) {
  const Message message = parse_one(R"({"jsonrpc":"2.0","id":3,"result":{"tools":[]}})");
  EXPECT_EQ(message.type, Message::Type::kResponse);
  EXPECT_EQ(message.result, json({{"tools", json::array()}}));
}

TEST(JsonRpcParse, ErrorResponseWithData) {
  const Message message = parse_one(
      R"({"jsonrpc":"2.0","id":4,"error":{"code":-32601,"message":"Method not found","data":[1]}})");
  EXPECT_EQ(message.type, Message::Type::kErrorResponse);
  EXPECT_EQ(message.error_code, kMethodNotFound);
  EXPECT_EQ(message.error_message, "Method not found");
  EXPECT_EQ(message.error_data, json::array({1}));
}

TEST(JsonRpcParse, ErrorResponseWithNullIdHasNoId) {
  const Message message =
      parse_one(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}})");
  EXPECT_EQ(message.type, Message::Type::kErrorResponse);
  EXPECT_FALSE(message.id);
}

TEST(JsonRpcParse, BatchIsSplitIntoMessages) {
  Result<std::vector<Message>> messages = parse_frame(
      R"([{"jsonrpc":"2.0","id":1,"result":{}},{"jsonrpc":"2.0","method":"notifications/x"}])");
  ASSERT_TRUE(messages.ok());
  ASSERT_EQ(messages->size(), 2u);
  EXPECT_EQ((*messages)[0].type, Message::Type::kResponse);
  EXPECT_EQ((*messages)[1].type, Message::Type::kNotification);
}

struct BadInput {
  const char* name;
  std::string text;
  const char* expected;  // a part of the error message
};

// Names the case in test listings instead of dumping its bytes.
void PrintTo(const BadInput& input, std::ostream* out) { *out << input.name; }

class JsonRpcBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(JsonRpcBadInput, IsAClearProtocolError) {
  Result<std::vector<Message>> messages = parse_frame(GetParam().text);
  ASSERT_FALSE(messages.ok());
  EXPECT_EQ(messages.error().kind, ErrorKind::kProtocol);
  EXPECT_NE(messages.error().message.find(GetParam().expected), std::string::npos)
      << messages.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Table, JsonRpcBadInput,
    ::testing::Values(
        BadInput{"NotJson", "Starting server on port 3000...", "not JSON"},
        BadInput{"Empty", "", "not JSON"},
        BadInput{"TruncatedJson", R"({"jsonrpc":"2.0","id":1,"res)", "not JSON"},
        BadInput{"Number", "42", "expected an object, got number"},
        BadInput{"String", R"("hello")", "expected an object, got string"},
        BadInput{"EmptyBatch", "[]", "an empty batch"},
        BadInput{"BatchWithBadElement", R"([{"jsonrpc":"2.0","method":"a"},3])", "in a batch"},
        BadInput{"MissingVersion", R"({"id":1,"method":"ping"})", "\"jsonrpc\" is missing"},
        BadInput{"WrongVersion", R"({"jsonrpc":"1.0","id":1,"method":"ping"})",
                 "\"jsonrpc\" is not \"2.0\""},
        BadInput{"NumericVersion", R"({"jsonrpc":2.0,"id":1,"method":"ping"})",
                 "\"jsonrpc\" is not \"2.0\""},
        BadInput{"MissingMethodAndId", R"({"jsonrpc":"2.0","params":{}})",
                 "neither \"method\" nor \"id\""},
        BadInput{"MethodNotString", R"({"jsonrpc":"2.0","id":1,"method":5})",
                 "\"method\" is not a string"},
        BadInput{"ParamsNotStructured", R"({"jsonrpc":"2.0","id":1,"method":"a","params":3})",
                 "\"params\" is neither"},
        BadInput{"IdFloat", R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})", "string, not number"},
        BadInput{"IdObject", R"({"jsonrpc":"2.0","id":{},"result":{}})", "string, not object"},
        BadInput{"IdBool", R"({"jsonrpc":"2.0","id":true,"result":{}})", "string, not boolean"},
        BadInput{"IdNullOnRequest", R"({"jsonrpc":"2.0","id":null,"method":"ping"})",
                 "string, not null"},
        BadInput{"IdNullOnResult", R"({"jsonrpc":"2.0","id":null,"result":{}})",
                 "string, not null"},
        BadInput{"IdTooLarge", R"({"jsonrpc":"2.0","id":18446744073709551615,"result":{}})",
                 "out of range"},
        BadInput{"ResultAndError",
                 R"({"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}})",
                 "both \"result\" and \"error\""},
        BadInput{"NeitherResultNorError", R"({"jsonrpc":"2.0","id":1})",
                 "neither \"result\" nor \"error\""},
        BadInput{"ErrorNotObject", R"({"jsonrpc":"2.0","id":1,"error":"boom"})",
                 "\"error\" is not an object"},
        BadInput{"ErrorWithoutCode", R"({"jsonrpc":"2.0","id":1,"error":{"message":"x"}})",
                 "\"error.code\" is not an integer"},
        BadInput{"HugeMessage",
                 R"({"jsonrpc":"2.0","id":1,"result":")" + std::string(16 << 20, 'a') + R"("})",
                 "larger than 16 MiB"},
        BadInput{"DeeplyNested", std::string(100000, '[') + std::string(100000, ']'), "not JSON"}),
    [](const ::testing::TestParamInfo<BadInput>& info) { return std::string(info.param.name); });

TEST(JsonRpcSerialize, RequestRoundTrips) {
  const std::string text = make_request(RequestId(int64_t{12}), "tools/call",
                                        {{"name", "echo"}, {"arguments", {{"message", "hi"}}}});
  const Message message = parse_one(text);
  EXPECT_EQ(message.type, Message::Type::kRequest);
  EXPECT_EQ(std::get<int64_t>(*message.id), 12);
  EXPECT_EQ(message.params["arguments"]["message"], "hi");
  EXPECT_EQ(text.find('\n'), std::string::npos);
}

TEST(JsonRpcSerialize, NotificationHasNoId) {
  const std::string text = make_notification("notifications/initialized", json());
  EXPECT_EQ(json::parse(text), json({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}));
}

TEST(JsonRpcSerialize, ErrorResponseKeepsStringId) {
  const std::string text = make_error_response(RequestId(std::string("q1")), kMethodNotFound,
                                               "joey does not support sampling/createMessage");
  const Message message = parse_one(text);
  EXPECT_EQ(message.type, Message::Type::kErrorResponse);
  EXPECT_EQ(std::get<std::string>(*message.id), "q1");
  EXPECT_EQ(message.error_code, kMethodNotFound);
}

TEST(JsonRpcSerialize, InvalidUtf8IsReplacedNotThrown) {
  const std::string text = make_result(RequestId(int64_t{1}), {{"text", std::string("\xff\xfe")}});
  EXPECT_TRUE(parse_frame(text).ok());
}

TEST(JsonRpcIds, PrintAsJson) {
  EXPECT_EQ(id_to_string(RequestId(int64_t{5})), "5");
  EXPECT_EQ(id_to_string(RequestId(std::string("a\"b"))), "\"a\\\"b\"");
}

std::vector<std::string> split(LineSplitter& splitter, const std::vector<std::string>& chunks,
                               int* oversized) {
  std::vector<std::string> lines;
  for (const std::string& chunk : chunks) {
    splitter.feed(
        chunk, [&](std::string_view line) { lines.emplace_back(line); }, [&] { ++*oversized; });
  }
  return lines;
}

TEST(LineSplitter, JoinsLinesAcrossChunks) {
  LineSplitter splitter;
  int oversized = 0;
  const std::vector<std::string> lines =
      split(splitter, {"{\"a\":", "1}\n{\"b\"", ":2}\n{"}, &oversized);
  EXPECT_EQ(lines, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"}));
  EXPECT_EQ(splitter.buffered(), 1u);
  EXPECT_EQ(oversized, 0);
}

TEST(LineSplitter, OversizedLineIsSkippedUpToItsNewline) {
  LineSplitter splitter(/*max_line_bytes=*/8);
  int oversized = 0;
  const std::vector<std::string> lines =
      split(splitter, {"short\n0123456", "789abcdef", "ghij\nok\n"}, &oversized);
  EXPECT_EQ(lines, (std::vector<std::string>{"short", "ok"}));
  EXPECT_EQ(oversized, 1);
}

}  // namespace
}  // namespace joey::mcp
