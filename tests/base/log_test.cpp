#include "base/log.h"
#include "base/redact.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace joey::log {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_level_ = current_level();
    set_level(Level::kTrace);
    set_sink_for_testing([this](std::string_view line) { lines_.emplace_back(line); });
  }
  void TearDown() override {
    set_sink_for_testing(nullptr);
    set_level(previous_level_);
  }

  // The single line logged for one field named `name` with text `value`.
  std::string logged_value(std::string_view name, std::string_view value) {
    lines_.clear();
    info("event", {field(name, value)});
    EXPECT_EQ(lines_.size(), 1u);
    const std::string prefix = "event " + std::string(name) + "=";
    if (lines_.empty() || lines_[0].rfind(prefix, 0) != 0) return "<unexpected line>";
    return lines_[0].substr(prefix.size());
  }

  std::vector<std::string> lines_;
  Level previous_level_ = Level::kWarn;
};

TEST_F(LogTest, PrintsEventAndTypedFieldsOnOneLine) {
  info("request_sent", {field("host", "api.example.com"), field("bytes", 5120), field("cost", 0.25),
                        field("cached", true), field("retries", size_t{2}), field("delta", -7)});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0],
            "request_sent host=api.example.com bytes=5120 cost=0.25 cached=true "
            "retries=2 delta=-7");
}

TEST_F(LogTest, StringLiteralIsTextNotBool) { EXPECT_EQ(logged_value("mode", "fast"), "fast"); }

TEST_F(LogTest, LargeIntegersKeepTheirValue) {
  info("sizes", {field("max", UINT64_MAX), field("min", INT64_MIN)});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0], "sizes max=18446744073709551615 min=-9223372036854775808");
}

TEST_F(LogTest, FieldOwnsItsText) {
  Field saved = [] {
    std::string temporary = "kept-after-the-string-died";
    return field("path", temporary);
  }();
  info("event", {saved});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0], "event path=kept-after-the-string-died");
}

TEST_F(LogTest, TruncatesLongTextTo120Bytes) {
  EXPECT_EQ(logged_value("path", std::string(500, 'x')), std::string(120, 'x') + "...[500B]");
  EXPECT_EQ(logged_value("path", std::string(120, 'x')), std::string(120, 'x'));
}

TEST_F(LogTest, TruncationDoesNotSplitAUtf8Character) {
  std::string text = "a";
  for (int i = 0; i < 100; ++i) text += "\xC3\xA9";
  std::string expected = "a";
  for (int i = 0; i < 59; ++i) expected += "\xC3\xA9";
  EXPECT_EQ(logged_value("path", text), expected + "...[201B]");
}

TEST_F(LogTest, EscapesControlCharactersAndNewlines) {
  EXPECT_EQ(logged_value("path", "one\ntwo\tthree\r\x1b[31m\\"),
            "one\\ntwo\\tthree\\r\\x1b[31m\\\\");
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0].find('\n'), std::string::npos);
}

TEST_F(LogTest, EscapesInvalidUtf8AndC1Controls) {
  EXPECT_EQ(logged_value("path", "ok\xff\xfe"), "ok\\xff\\xfe");
  EXPECT_EQ(logged_value("path",
                         "\xC2\x9B"
                         "2J"),
            "\\u009b2J");
  EXPECT_EQ(logged_value("path", "caf\xC3\xA9"), "caf\xC3\xA9");
}

TEST_F(LogTest, QuotesValuesWithSpacesOrEquals) {
  EXPECT_EQ(logged_value("path", "my file.txt"), "\"my file.txt\"");
  EXPECT_EQ(logged_value("path", "a=b"), "\"a=b\"");
  EXPECT_EQ(logged_value("path", "say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(logged_value("path", ""), "\"\"");
}

TEST_F(LogTest, RedactsCredentialsInText) {
  const struct {
    std::string text;
    std::string secret;
  } cases[] = {
      {"key sk-ant-api03-AbCdEf0123456789AbCdEf0123456789 rejected",
       "AbCdEf0123456789AbCdEf0123456789"},
      {"sk-proj-abcdefghijklmnop1234", "abcdefghijklmnop1234"},
      {"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.signature", "eyJhbGci"},
      {"bearer abc123token", "abc123token"},
      {"x-api-key: 0123abcd", "0123abcd"},
      {"url?api_key=shortsecret&x=1", "shortsecret"},
      {"password=\"hunter2\"", "hunter2"},
      {"id AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"},
      {"digest 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
       "9f86d081884c7d659a2feaa0c55ad015"},
      {"blob dGhpcyBpcyBhIHNlY3JldCB2YWx1ZSAxMjM0NTY3OA==", "dGhpcyBpcyBhIHNlY3JldCB2YWx1ZSAx"},
  };
  for (const auto& test_case : cases) {
    const std::string value = logged_value("detail", test_case.text);
    EXPECT_EQ(value.find(test_case.secret), std::string::npos) << value;
    EXPECT_NE(value.find("[REDACTED]"), std::string::npos) << value;
  }
}

TEST_F(LogTest, RedactsACredentialCutByTruncation) {
  const std::string text = std::string(100, '.') + "sk-ant-api03-AbCdEf0123456789AbCdEf0123456789";
  const std::string value = logged_value("detail", text);
  EXPECT_EQ(value.find("sk-ant"), std::string::npos) << value;
}

TEST_F(LogTest, KeepsOrdinaryTextPathsAndIds) {
  EXPECT_EQ(logged_value("path", "/work/main/src/agent/tool_runner.cpp"),
            "/work/main/src/agent/tool_runner.cpp");
  EXPECT_EQ(logged_value("detail", "task-runner finished"), "\"task-runner finished\"");
  EXPECT_EQ(logged_value("task", "20261125T154419-1a2b3c4d"), "20261125T154419-1a2b3c4d");
  EXPECT_EQ(logged_value("model", "claude-sonnet-4-20250514"), "claude-sonnet-4-20250514");
}

// The access line's own formatter prints what the generic one prints for the same five
// fields, whatever the values: ordinary ones, and ones a client controls (a method token,
// an unmatched path) that need redaction, truncation, escaping or quotes.
TEST_F(LogTest, HttpRequestLineIsTheGenericLine) {
  const std::string long_text(3000, 'x');
  const std::vector<std::string> texts = {
      "POST",
      "/proxy/v1/chat/completions",
      "-",
      "",
      "c7f66a88818ed0f7db299f22",
      "GET /secret HTTP/1.1",
      "sk-proj-abcdefghijklmnop1234",
      "Bearer eyJhbGciOiJIUzI1NiJ9.e30.signature",
      "a\"quote\\ and=equals",
      "line\nbreak\tand\x01control",
      std::string("bad utf8 \xC3\x28 and c1 \xC2\x85"),
      std::string(200, 'a') + "é",
      long_text,
  };
  const std::vector<double> latencies = {0, 0.001, 1.25, 12.345, 1e-05, 123456.789};
  const std::vector<int> statuses = {200, 404, 500, -1};
  size_t checked = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string& method = texts[i];
    const std::string& route = texts[(i + 3) % texts.size()];
    const std::string& user = texts[(i + 7) % texts.size()];
    for (double latency : latencies) {
      for (int status : statuses) {
        const std::string generic =
            format_event("http_request",
                         {field("method", method), field("route", route), field("status", status),
                          field("latency_ms", latency), field("user_id", user)});
        ASSERT_EQ(format_http_request(method, route, status, latency, user), generic);
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, texts.size() * latencies.size() * statuses.size());
  lines_.clear();
  http_request("POST", "/v1/x", 200, 0.5, "u1");
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0], "http_request method=POST route=/v1/x status=200 latency_ms=0.5 user_id=u1");
  set_level(Level::kWarn);
  http_request("POST", "/v1/x", 200, 0.5, "u1");
  EXPECT_EQ(lines_.size(), 1u) << "an info line below the level is dropped";
}

// The access line keeps its method and route part per thread; a secret registered
// after a line was formatted must still be redacted from the next one.
TEST_F(LogTest, HttpRequestLineRedactsASecretRegisteredAfterItsRouteWasSeen) {
  const std::string secret = "correcthorsebattery";  // no secret's shape: kept until registered
  const std::string route = "/api/x " + secret;
  const std::string before = format_http_request("GET", route, 200, 1, "u1");
  EXPECT_NE(before.find(secret), std::string::npos) << before;
  joey::register_secret(secret);
  const std::string after = format_http_request("GET", route, 200, 1, "u1");
  joey::clear_registered_secrets_for_testing();
  EXPECT_EQ(after.find(secret), std::string::npos) << after;
  EXPECT_EQ(after,
            format_event("http_request",
                         {field("method", "GET"), field("route", "/api/x [REDACTED]"),
                          field("status", 200), field("latency_ms", 1.0), field("user_id", "u1")}));
}

TEST_F(LogTest, OmitsBodyLikeFieldsWhateverTheirValue) {
  for (const char* name : {"body", "content", "prompt", "completion", "messages", "arguments",
                           "text", "request_body", "tool.arguments", "Content"}) {
    EXPECT_EQ(logged_value(name, "the user's private words"), "[omitted]") << name;
  }
  lines_.clear();
  info("event", {field("content", 42)});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0], "event content=[omitted]");
}

TEST_F(LogTest, KeepsCountsWhoseNameOnlyStartsLikeABody) {
  lines_.clear();
  info("event", {field("body_bytes", 10), field("input_tokens", 5)});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0], "event body_bytes=10 input_tokens=5");
}

TEST_F(LogTest, RedactsSecretNamedFields) {
  for (const char* name : {"api_key", "token", "authorization", "password"}) {
    EXPECT_EQ(logged_value(name, "plain"), "[REDACTED]") << name;
  }
}

// Verdicts on field names are remembered per thread in a few slots; many names sharing
// them, repeated, names past the remembered length and names differing only in case must
// each still get their own verdict.
TEST_F(LogTest, RememberedNameVerdictsStayRightAcrossManyNames) {
  const std::string long_secret(40, 'a');
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 300; ++i) {
      const std::string n = std::to_string(i);
      EXPECT_EQ(logged_value("count_" + n, "v"), "v") << n;
      EXPECT_EQ(logged_value("k" + n + "_token", "v"), "[REDACTED]") << n;
      EXPECT_EQ(logged_value("k" + n + ".Body", "v"), "[omitted]") << n;
    }
    EXPECT_EQ(logged_value(long_secret + "_password", "v"), "[REDACTED]");
    EXPECT_EQ(logged_value(long_secret + "_size", "v"), "v");
    EXPECT_EQ(logged_value("PROMPT", "v"), "[omitted]");
    EXPECT_EQ(logged_value("prompt_id", "v"), "v");
  }
}

TEST_F(LogTest, SanitizesEventAndFieldNames) {
  info("bad event\nname", {field("x y", 1)});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0], "bad_event_name x_y=1");
}

TEST_F(LogTest, DropsEventsBelowTheLevel) {
  set_level(Level::kWarn);
  debug("hidden");
  info("hidden");
  warn("shown");
  error("shown_too");
  set_level(Level::kOff);
  error("hidden_by_off");
  EXPECT_EQ(lines_, (std::vector<std::string>{"shown", "shown_too"}));
  EXPECT_FALSE(enabled(Level::kError));
}

TEST_F(LogTest, WritesToStderrWithoutATestSink) {
  set_sink_for_testing(nullptr);
  ::testing::internal::CaptureStderr();
  warn("disk_low", {field("free_mb", 12)});
  const std::string output = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(output.find("disk_low free_mb=12\n"), std::string::npos) << output;
  EXPECT_NE(output.find("warn"), std::string::npos) << output;
}

// Access lines logged as deferred wait until flush_deferred() — or until a line that does
// not wait, which writes them first, in the order logged.
TEST_F(LogTest, DeferredLinesWaitForAFlushOrTheNextLine) {
  set_sink_for_testing(nullptr);
  ::testing::internal::CaptureStderr();
  http_request("GET", "/a", 200, 1.5, "-", /*deferred=*/true);
  http_request("GET", "/b", 200, 1.5, "-", /*deferred=*/true);
  const std::string before_flush = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(before_flush, "");
  ::testing::internal::CaptureStderr();
  flush_deferred();
  const std::string flushed = ::testing::internal::GetCapturedStderr();
  const size_t a = flushed.find("route=/a");
  ASSERT_NE(a, std::string::npos) << flushed;
  EXPECT_NE(flushed.find("route=/b", a), std::string::npos) << flushed;

  ::testing::internal::CaptureStderr();
  http_request("GET", "/c", 200, 1.5, "-", /*deferred=*/true);
  warn("disk_low", {field("free_mb", 12)});
  const std::string in_order = ::testing::internal::GetCapturedStderr();
  const size_t c = in_order.find("route=/c");
  ASSERT_NE(c, std::string::npos) << in_order;
  EXPECT_NE(in_order.find("disk_low", c), std::string::npos) << in_order;
}

TEST(LogLevel, ParsesNamesCaseInsensitively) {
  EXPECT_EQ(parse_level("trace"), Level::kTrace);
  EXPECT_EQ(parse_level("DEBUG"), Level::kDebug);
  EXPECT_EQ(parse_level("info"), Level::kInfo);
  EXPECT_EQ(parse_level("warn"), Level::kWarn);
  EXPECT_EQ(parse_level("warning"), Level::kWarn);
  EXPECT_EQ(parse_level("error"), Level::kError);
  EXPECT_EQ(parse_level("off"), Level::kOff);
  EXPECT_EQ(parse_level("loud"), std::nullopt);
}

}  // namespace
}  // namespace joey::log
