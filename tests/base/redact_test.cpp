#include "base/redact.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

namespace joey {
namespace {

class RedactTest : public ::testing::Test {
 protected:
  void TearDown() override { clear_registered_secrets_for_testing(); }
};

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST_F(RedactTest, ReplacesEachKnownKeyShape) {
  const struct {
    std::string text;
    std::string secret;
  } cases[] = {
      {"Incorrect API key provided: sk-proj-AbCdEf0123456789xyzXYZ.", "AbCdEf0123456789xyz"},
      {"key sk-ant-api03-AbCdEf0123456789AbCdEf0123456789 rejected",
       "AbCdEf0123456789AbCdEf0123456789"},
      {"sk-or-v1-0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"},
      {"sk-0123456789abcdefABCDEF", "0123456789abcdefABCDEF"},
      {"Authorization: Bearer abc123def456ghi", "abc123def456ghi"},
      {"id AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE"},
      {"temporary ASIAY34FZKBOKMUTVV7A", "ASIAY34FZKBOKMUTVV7A"},
      {"token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk "
       "expired",
       "eyJzdWIiOiIxMjM0In0"},
      {"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx\nabc\n-----END RSA PRIVATE KEY-----\n",
       "MIIEowIBAAKCAQEAx"},
      {"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "MIIEvQIBADANBgkq"},
      {"x -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----",
       "b3BlbnNzaC1rZXk"},
  };
  for (const auto& test_case : cases) {
    const std::string redacted = redact(test_case.text);
    EXPECT_FALSE(contains(redacted, test_case.secret)) << redacted;
    EXPECT_TRUE(contains(redacted, kRedactedMarker)) << redacted;
  }
}

TEST_F(RedactTest, KeepsTheTextAroundAKey) {
  EXPECT_EQ(redact("bad key sk-test-0123456789abcdef0123 (HTTP 401)"),
            "bad key [REDACTED] (HTTP 401)");
  EXPECT_EQ(redact("Authorization: Bearer abc123def456ghi\nnext"),
            "Authorization: Bearer [REDACTED]\nnext");
  EXPECT_EQ(redact("a\n-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\nb"),
            "a\n[REDACTED]\nb");
}

TEST_F(RedactTest, FindsKeysAfterAnEscapeInJsonText) {
  // Tool call arguments are JSON: a key after "\\n" follows the letter n.
  EXPECT_EQ(redact(R"({"content":"a\nAKIAABCDEFGHIJKLMNOP\tsk-ant-api03-abcdefghijklmnop1234"})"),
            R"({"content":"a\n[REDACTED]\t[REDACTED]"})");
  // An ordinary word after an escape is left alone.
  EXPECT_EQ(redact(R"(line\nothing\tabs)"), R"(line\nothing\tabs)");
}

TEST_F(RedactTest, ReplacesRegisteredValuesInsideOtherText) {
  register_secret("my-local-key-xyz");
  register_secret("plainwordsecret");
  EXPECT_EQ(redact("prefixmy-local-key-xyzsuffix"), "prefix[REDACTED]suffix");
  EXPECT_EQ(redact("a plainwordsecret b plainwordsecret"), "a [REDACTED] b [REDACTED]");
  EXPECT_EQ(redact("{\"key\":\"my-local-key-xyz\"}"), "{\"key\":\"[REDACTED]\"}");
}

TEST_F(RedactTest, LongerRegisteredValueWinsOverItsPrefix) {
  register_secret("abcdefgh");
  register_secret("abcdefgh-ijklmnop");
  EXPECT_EQ(redact("x abcdefgh-ijklmnop y abcdefgh"), "x [REDACTED] y [REDACTED]");
}

TEST_F(RedactTest, IgnoresRegisteredValuesShorterThanEightBytes) {
  register_secret("short");
  register_secret("");
  EXPECT_EQ(redact("a short note"), "a short note");
}

TEST_F(RedactTest, RegistersFromSeveralThreads) {
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([i] {
      for (int j = 0; j < 50; ++j) {
        register_secret("thread-secret-" + std::to_string(i) + "-" + std::to_string(j));
        (void)redact("some text thread-secret-0-0");
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(redact("x thread-secret-3-49 y"), "x [REDACTED] y");
}

TEST_F(RedactTest, LeavesOrdinaryTextAndCodeUnchanged) {
  const std::vector<std::string> ordinary = {
      "The bearer of this letter is a friend.",
      "Bearer tokens are sent in the Authorization header.",
      "const token = await getToken(); password = input('Password: ')",
      "api_key = os.environ['OPENAI_API_KEY']",
      "/work/main/src/agent/tool_runner.cpp:42: error: expected ';'",
      "commit 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
      "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "task-runner finished 20261125T154419-1a2b3c4d",
      "model claude-sonnet-4-20250514 and gpt-4o-mini-2024-07-18",
      "pip install scikit-learn; import sklearn; sk-learn-and-more-words",
      "risk-assessment-for-the-quarter is done",
      "The AKIA prefix marks AWS access keys; AKIAEXAMPLE is too short.",
      "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----",
      "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
      "dGhpcyBpcyBhIHNlY3JldCB2YWx1ZSAxMjM0NTY3OA==",
      "eyJ is how base64 JSON starts; a.b.c is not a token",
      "for (size_t i = 0; i < n; ++i) { total += values[i]; }",
      "https://example.com/path?page=2&sort=desc",
      "Grüße aus Köln — 東京 🚀",
  };
  for (const std::string& text : ordinary) {
    EXPECT_EQ(redact(text), text);
  }
}

TEST_F(RedactTest, LogLineScopeAlsoReplacesAssignmentsAndRandomRuns) {
  EXPECT_EQ(redact("url?api_key=shortsecret&x=1", RedactScope::kLogLine),
            "url?api_key=[REDACTED]&x=1");
  EXPECT_EQ(redact("password=\"hunter2\"", RedactScope::kLogLine), "password=\"[REDACTED]\"");
  EXPECT_EQ(redact("bearer abc", RedactScope::kLogLine), "bearer [REDACTED]");
  EXPECT_EQ(redact("digest 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b", RedactScope::kLogLine),
            "digest [REDACTED]");
  EXPECT_EQ(redact("/work/main/src/agent/tool_runner.cpp", RedactScope::kLogLine),
            "/work/main/src/agent/tool_runner.cpp");
}

TEST_F(RedactTest, CopiesInvalidUtf8AndBinaryThrough) {
  const std::string binary("\xff\xfe\x00\x01 sk-test-0123456789abcdef0123 \xc3", 35);
  const std::string redacted = redact(binary);
  const char expected[] = "\xff\xfe\x00\x01 [REDACTED] \xc3";
  EXPECT_EQ(redacted, std::string(expected, sizeof(expected) - 1));
}

TEST_F(RedactTest, OutputStaysBoundedForHostileInput) {
  register_secret("abcdefgh");
  std::mt19937 random(7);
  const std::string alphabet = "abcdefghsk-AKIAeyJ.=: \n\xff/+_Bearer0123456789-----BEGIN";
  for (int round = 0; round < 300; ++round) {
    std::string input;
    const size_t size = random() % 400;
    for (size_t i = 0; i < size; ++i) input.push_back(alphabet[random() % alphabet.size()]);
    for (RedactScope scope : {RedactScope::kText, RedactScope::kLogLine}) {
      const std::string redacted = redact(input, scope);
      EXPECT_LE(redacted.size(), input.size() * 2 + kRedactedMarker.size()) << input;
    }
  }
  const std::string repeated(1 << 20, 'a');
  EXPECT_EQ(redact(repeated, RedactScope::kText), repeated);
}

TEST_F(RedactTest, RedactingTwiceChangesNothingMore) {
  register_secret("registered-value-1");
  const std::string once =
      redact("sk-test-0123456789abcdef0123 and registered-value-1 and Bearer abc123def456");
  EXPECT_EQ(redact(once), once);
  EXPECT_EQ(redact(once, RedactScope::kLogLine), once);
}

}  // namespace
}  // namespace joey
