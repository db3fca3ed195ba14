// The router and its error boundary, without sockets: templates and parameters,
// 404/405, the content-type check, and the mapping of every error kind (and of a
// thrown exception) to a JSON error with the right status.
#include "cloud/router.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "base/json.h"
#include "base/log.h"

namespace joey::cloud {
namespace {

HttpResponse run(const Router& router, std::string method, std::string raw_path,
                 std::string body = "", std::string content_type = "") {
  HttpRequest request;
  request.method = std::move(method);
  request.body = std::move(body);
  if (!content_type.empty()) request.headers.emplace_back("content-type", content_type);
  return router.handle(request, raw_path);
}

nlohmann::json body_of(const HttpResponse& response) { return parse_json(response.body); }

Handler echo_params() {
  return [](const HttpRequest& request) -> Result<HttpResponse> {
    return HttpResponse::json(
        200, {{"route", request.route}, {"params", request.path_params}, {"path", request.path}});
  };
}

TEST(RouterTest, MatchesTemplatesAndDecodesParameters) {
  Router router;
  router.add("GET", "/api/orgs/{id}/members/{user_id}", echo_params());
  HttpResponse response = run(router, "GET", "/api/orgs/org%201/members/u%2F2");
  ASSERT_EQ(response.status, 200);
  nlohmann::json body = body_of(response);
  EXPECT_EQ(body["route"], "/api/orgs/{id}/members/{user_id}");
  EXPECT_EQ(body["params"]["id"], "org 1");
  EXPECT_EQ(body["params"]["user_id"], "u/2");
  EXPECT_EQ(body["path"], "/api/orgs/org 1/members/u/2");
}

TEST(RouterTest, LiteralSegmentWinsOverParameter) {
  Router router;
  router.add("GET", "/api/orgs/{id}", echo_params());
  router.add("GET", "/api/orgs/mine", echo_params());
  EXPECT_EQ(body_of(run(router, "GET", "/api/orgs/mine"))["route"], "/api/orgs/mine");
  EXPECT_EQ(body_of(run(router, "GET", "/api/orgs/other"))["route"], "/api/orgs/{id}");
}

TEST(RouterTest, UnknownPathGets404JsonError) {
  Router router;
  router.add("GET", "/api/tokens/{id}", echo_params());
  for (const char* path : {"/nope", "/api/tokens", "/api/tokens/", "/api/tokens/a/b", "/"}) {
    HttpResponse response = run(router, "GET", path);
    EXPECT_EQ(response.status, 404) << path;
    EXPECT_EQ(body_of(response)["error"]["code"], "not_found") << path;
  }
}

TEST(RouterTest, KnownPathWithOtherMethodGets405WithAllow) {
  Router router;
  router.add("GET", "/api/tokens", echo_params());
  router.add("POST", "/api/tokens", echo_params());
  HttpResponse response = run(router, "DELETE", "/api/tokens");
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(body_of(response)["error"]["code"], "method_not_allowed");
  ASSERT_EQ(response.headers.size(), 1u);
  EXPECT_EQ(response.headers[0].first, "Allow");
  EXPECT_EQ(response.headers[0].second, "GET, POST");
  EXPECT_EQ(router.match("DELETE", "/api/tokens").route, "/api/tokens");
}

TEST(RouterTest, MalformedPercentEncodingGets400) {
  Router router;
  router.add("GET", "/api/items/{id}", echo_params());
  for (const char* path : {"/api/items/%zz", "/api/items/%4", "/api/items/%00", "/api/items/%ff",
                           "no-leading-slash", ""}) {
    HttpResponse response = run(router, "GET", path);
    EXPECT_EQ(response.status, 400) << path;
    EXPECT_EQ(body_of(response)["error"]["code"], "invalid_request") << path;
  }
}

TEST(RouterTest, ErrorKindsMapToStatusAndCode) {
  struct Case {
    ErrorKind kind;
    int status;
    const char* code;
  };
  const Case cases[] = {
      {ErrorKind::kInvalidArgument, 400, "invalid_request"},
      {ErrorKind::kAuth, 401, "unauthorized"},
      {ErrorKind::kPermissionDenied, 403, "forbidden"},
      {ErrorKind::kNotFound, 404, "not_found"},
      {ErrorKind::kAlreadyExists, 409, "conflict"},
      {ErrorKind::kLimit, 413, "payload_too_large"},
      {ErrorKind::kRateLimited, 429, "rate_limited"},
      {ErrorKind::kIo, 500, "internal"},
      {ErrorKind::kInternal, 500, "internal"},
  };
  for (const Case& test_case : cases) {
    Router router;
    router.add("GET", "/x", [&](const HttpRequest&) -> Result<HttpResponse> {
      return make_error(test_case.kind, "the detail");
    });
    HttpResponse response = run(router, "GET", "/x");
    EXPECT_EQ(response.status, test_case.status) << error_kind_name(test_case.kind);
    EXPECT_EQ(body_of(response)["error"]["code"], test_case.code);
  }
}

TEST(RouterTest, InternalErrorDetailGoesToTheLogNotTheClient) {
  std::vector<std::string> lines;
  log::set_sink_for_testing([&](std::string_view line) { lines.emplace_back(line); });
  Router router;
  router.add("GET", "/x", [](const HttpRequest&) -> Result<HttpResponse> {
    return make_error(ErrorKind::kIo, "disk /var/lib/secret-path failed");
  });
  HttpResponse response = run(router, "GET", "/x");
  log::set_sink_for_testing(nullptr);
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.body.find("secret-path"), std::string::npos);
  bool logged = false;
  for (const std::string& line : lines) logged |= line.find("secret-path") != std::string::npos;
  EXPECT_TRUE(logged);
}

TEST(RouterTest, ThrownExceptionBecomes500) {
  Router router;
  router.add("GET", "/throws",
             [](const HttpRequest&) -> Result<HttpResponse> { throw std::runtime_error("boom"); });
  router.add("GET", "/throws-int", [](const HttpRequest&) -> Result<HttpResponse> { throw 42; });
  for (const char* path : {"/throws", "/throws-int"}) {
    HttpResponse response = run(router, "GET", path);
    EXPECT_EQ(response.status, 500);
    EXPECT_EQ(body_of(response)["error"]["code"], "internal");
    EXPECT_EQ(response.body.find("boom"), std::string::npos);
  }
}

TEST(RouterTest, JsonRouteRefusesOtherContentTypeWith415) {
  Router router;
  router.add("POST", "/api/things", echo_params());
  EXPECT_EQ(run(router, "POST", "/api/things", "{}", "text/plain").status, 415);
  EXPECT_EQ(run(router, "POST", "/api/things", "{}").status, 415);
  EXPECT_EQ(run(router, "POST", "/api/things", "{}", "application/json; charset=utf-8").status,
            200);
  EXPECT_EQ(run(router, "POST", "/api/things", "", "").status, 200);  // no body, no type needed
}

TEST(RouterTest, AnyBodyRouteAcceptsOtherContentTypes) {
  Router router;
  RouteOptions options;
  options.body_kind = BodyKind::kAny;
  router.add("POST", "/webhook", echo_params(), options);
  EXPECT_EQ(run(router, "POST", "/webhook", "raw", "application/octet-stream").status, 200);
}

TEST(RouterTest, BodyOverRouteLimitGets413) {
  Router router;
  RouteOptions options;
  options.max_body_bytes = 4;
  router.add("POST", "/small", echo_params(), options);
  EXPECT_EQ(router.match("POST", "/small").max_body_bytes, 4u);
  EXPECT_EQ(run(router, "POST", "/small", "12345", "application/json").status, 413);
  EXPECT_EQ(router.largest_body_limit(), 4u);
}

// A dialect's shape builds the refusals under its prefix, from the path, the header
// fields and joeyd's status, code and message; the longest prefix wins, other paths keep
// joeyd's shape, and a 405 still carries its Allow.
TEST(RouterTest, ErrorDialectShapesRefusalsUnderItsPrefix) {
  Router router;
  RouteOptions small;
  small.max_body_bytes = 4;
  router.add("POST", "/proxy/v1/things", echo_params(), small);
  router.add("POST", "/api/things", echo_params(), small);
  auto shape_named = [](std::string name) {
    return [name](std::string_view raw_path, const HeaderFields& headers, int status,
                  std::string_view code, std::string_view message) {
      std::string dialect = headers.empty() ? "" : headers.front().second;
      return HttpResponse::json(status, {{"dialect", name},
                                         {"path", raw_path},
                                         {"header", dialect},
                                         {"code", code},
                                         {"message", message}});
    };
  };
  router.set_error_dialect("/proxy/", shape_named("proxy"));
  router.set_error_dialect("/proxy/v1/special/", shape_named("special"));

  HttpRequest request;
  request.method = "GET";
  request.headers.emplace_back("x-client", "sdk");
  HttpResponse missing = router.handle(request, "/proxy/v1/embeddings");
  EXPECT_EQ(missing.status, 404);
  nlohmann::json body = body_of(missing);
  EXPECT_EQ(body["dialect"], "proxy");
  EXPECT_EQ(body["path"], "/proxy/v1/embeddings");
  EXPECT_EQ(body["header"], "sdk");
  EXPECT_EQ(body["code"], "not_found");
  EXPECT_EQ(body["message"], "no such endpoint");

  EXPECT_EQ(body_of(run(router, "GET", "/proxy/v1/special/x"))["dialect"], "special");

  HttpResponse wrong_method = run(router, "GET", "/proxy/v1/things");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(body_of(wrong_method)["code"], "method_not_allowed");
  ASSERT_EQ(wrong_method.headers.size(), 1u);
  EXPECT_EQ(wrong_method.headers[0], std::make_pair(std::string("Allow"), std::string("POST")));

  EXPECT_EQ(body_of(run(router, "POST", "/proxy/v1/things", "12345", "application/json"))["code"],
            "payload_too_large");
  EXPECT_EQ(body_of(run(router, "POST", "/proxy/v1/things", "{}", "text/plain"))["code"],
            "unsupported_media_type");
  EXPECT_EQ(body_of(run(router, "GET", "/proxy/v1/%zz"))["code"], "invalid_request");

  // Outside the prefixes: joeyd's own shape.
  HttpResponse plain = run(router, "POST", "/api/things", "12345", "application/json");
  EXPECT_EQ(plain.status, 413);
  EXPECT_EQ(body_of(plain)["error"]["code"], "payload_too_large");
  EXPECT_EQ(body_of(run(router, "GET", "/proxyish"))["error"]["code"], "not_found");
  // The transport's refusals go through the same door.
  EXPECT_EQ(
      body_of(router.refuse("/proxy/v1/things", {}, 431, "header_too_large", "big"))["dialect"],
      "proxy");
  EXPECT_EQ(
      body_of(router.refuse("/api/things", {}, 431, "header_too_large", "big"))["error"]["code"],
      "header_too_large");
}

// A shape that throws is a bug; the client still gets joeyd's refusal, not a crash.
TEST(RouterTest, ErrorDialectThatThrowsFallsBackToJoeydsShape) {
  Router router;
  router.set_error_dialect(
      "/proxy/",
      [](std::string_view, const HeaderFields&, int, std::string_view,
         std::string_view) -> HttpResponse { throw std::runtime_error("shape bug"); });
  HttpResponse response = run(router, "GET", "/proxy/v1/nothing");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(body_of(response)["error"]["code"], "not_found");
}

TEST(RouterTest, PercentDecodeRefusesBadEscapesNulAndInvalidUtf8) {
  EXPECT_EQ(percent_decode("a%20b%2Fc").value_or("?"), "a b/c");
  EXPECT_EQ(percent_decode("%C3%A9").value_or("?"), "\xC3\xA9");
  EXPECT_FALSE(percent_decode("%").has_value());
  EXPECT_FALSE(percent_decode("%2").has_value());
  EXPECT_FALSE(percent_decode("%g0").has_value());
  EXPECT_FALSE(percent_decode("%00").has_value());
  EXPECT_FALSE(percent_decode("%C3").has_value());
  EXPECT_EQ(percent_decode("").value_or("?"), "");
  EXPECT_EQ(percent_decode("completions").value_or("?"), "completions");
  EXPECT_EQ(percent_decode("%41%42c%44").value_or("?"), "ABcD");
  EXPECT_EQ(percent_decode("ab%41").value_or("?"), "abA");
  EXPECT_FALSE(percent_decode("ab%4").has_value());
  EXPECT_FALSE(percent_decode("abc%").has_value());
}

}  // namespace
}  // namespace joey::cloud
