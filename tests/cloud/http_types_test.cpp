// The plain request/response values and the JSON body helper handlers use: each bad
// body gets a kInvalidArgument error naming the problem, never a crash.
#include "cloud/http_types.h"

#include <gtest/gtest.h>

#include "base/json.h"

namespace joey::cloud {
namespace {

HttpRequest json_request(std::string body, std::string content_type = "application/json") {
  HttpRequest request;
  request.method = "POST";
  request.headers.emplace_back("content-type", std::move(content_type));
  request.body = std::move(body);
  return request;
}

TEST(HttpTypesTest, HeaderLookupIgnoresCase) {
  HttpRequest request;
  request.headers.emplace_back("x-thing", "one");
  request.headers.emplace_back("x-thing", "two");
  EXPECT_EQ(request.header("X-Thing").value_or(""), "one");
  EXPECT_FALSE(request.header("missing").has_value());
}

TEST(HttpTypesTest, ErrorResponseHasCodeAndMessage) {
  HttpResponse response = HttpResponse::error(409, "conflict", "stale version");
  EXPECT_EQ(response.status, 409);
  EXPECT_EQ(response.content_type, "application/json");
  nlohmann::json body = parse_json(response.body);
  EXPECT_EQ(body["error"]["code"], "conflict");
  EXPECT_EQ(body["error"]["message"], "stale version");
}

TEST(HttpTypesTest, JsonResponseWithInvalidUtf8DoesNotThrow) {
  HttpResponse response = HttpResponse::json(200, {{"name", std::string("bad \xff byte")}});
  EXPECT_EQ(response.status, 200);
  EXPECT_FALSE(parse_json(response.body).is_discarded());
}

TEST(HttpTypesTest, JsonBodyAcceptsAllowedFields) {
  Result<nlohmann::json> body =
      parse_json_body(json_request(R"({"email":"a@b.c","name":"A"})"), {"email", "name", "x"});
  ASSERT_TRUE(body.ok()) << body.error().message;
  EXPECT_EQ((*body)["email"], "a@b.c");
}

TEST(HttpTypesTest, JsonBodyRefusesUnknownField) {
  Result<nlohmann::json> body =
      parse_json_body(json_request(R"({"email":"x","admin":true})"), {"email"});
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_NE(body.error().message.find("admin"), std::string::npos);
}

TEST(HttpTypesTest, JsonBodyRefusesMalformedJson) {
  for (const char* text : {"", "{", "{\"a\":}", "nul", "{\"a\":1}}", "[1,2"}) {
    Result<nlohmann::json> body = parse_json_body(json_request(text), {"a"});
    ASSERT_FALSE(body.ok()) << text;
    EXPECT_EQ(body.error().kind, ErrorKind::kInvalidArgument);
  }
}

TEST(HttpTypesTest, JsonBodyRefusesInvalidUtf8) {
  Result<nlohmann::json> body = parse_json_body(json_request("{\"a\":\"\xc3\x28\"}"), {"a"});
  ASSERT_FALSE(body.ok());
  EXPECT_NE(body.error().message.find("UTF-8"), std::string::npos);
}

TEST(HttpTypesTest, JsonBodyRefusesNonObjectAndWrongContentType) {
  EXPECT_FALSE(parse_json_body(json_request("[1]"), {}).ok());
  EXPECT_FALSE(parse_json_body(json_request("{}", "text/plain"), {}).ok());
  EXPECT_FALSE(parse_json_body(json_request(std::string(100000, '[')), {}).ok());
  EXPECT_TRUE(parse_json_body(json_request("{}", "Application/JSON; charset=utf-8"), {}).ok());
}

TEST(HttpTypesTest, HeaderTextMayNotHoldCrLfOrNul) {
  EXPECT_TRUE(is_safe_header_text(""));
  EXPECT_TRUE(is_safe_header_text("Bearer joey_pat_x; q=\"1\"\t\xC3\xA9"));
  EXPECT_FALSE(is_safe_header_text("a\r\nInjected: yes"));
  EXPECT_FALSE(is_safe_header_text("a\nb"));
  EXPECT_FALSE(is_safe_header_text("a\rb"));
  EXPECT_FALSE(is_safe_header_text(std::string_view("a\0b", 3)));
}

TEST(HttpTypesTest, Utf8CheckerFindsBadSequences) {
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("\xe2\x82\xac"));
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));  // a surrogate
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));      // overlong
}

}  // namespace
}  // namespace joey::cloud
