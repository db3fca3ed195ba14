#include "llm/model_client.h"

#include <gtest/gtest.h>

#include <deque>

namespace joey::llm {
namespace {

// A transport that answers from a queue of canned responses and records requests.
struct CannedResponse {
  long status = 200;
  std::map<std::string, std::string> headers;
  std::string body;
  std::optional<Error> transport_error;  // returned after the body was delivered
};

class CannedTransport final : public HttpTransport {
 public:
  std::deque<CannedResponse> responses;
  std::vector<HttpRequest> requests;

  Result<HttpResponseHead> perform(const HttpRequest& request, const HttpTimeouts&,
                                   const HttpCallbacks& callbacks) override {
    requests.push_back(request);
    if (responses.empty()) return make_error(ErrorKind::kNetwork, "connection refused");
    CannedResponse response = responses.front();
    responses.pop_front();
    HttpResponseHead head;
    head.status = response.status;
    head.headers = response.headers;
    if (callbacks.on_head) callbacks.on_head(head);
    if (!response.body.empty() && callbacks.on_body) {
      // Deliver in small pieces, as a network would.
      for (size_t offset = 0; offset < response.body.size(); offset += 7) {
        Status status = callbacks.on_body(std::string_view(response.body).substr(offset, 7));
        if (!status.ok()) return std::move(status).error();
      }
    }
    if (response.transport_error) return *response.transport_error;
    return head;
  }
};

ProviderConfig openai_config() {
  ProviderConfig config;
  config.info = find_provider("openai-compatible").value();
  config.base_url = "http://127.0.0.1:1/v1";
  config.model = "test-model";
  config.api_key = "sk-fake";
  return config;
}

const char* kToolCallStream =
    "data: "
    "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"}"
    "}]}\n\n"
    "data: "
    "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":"
    "\"call_1\","
    "\"type\":\"function\",\"function\":{\"name\":\"read_file\",\"arguments\":\"{\\\"pa\"}}]}}]}"
    "\n\n"
    "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
    "\"function\":{\"arguments\":\"th\\\":\\\"a.txt\\\"}\"}}]}}]}\n\n"
    "data: "
    "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
    "data: "
    "{\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5}}\n\n"
    "data: [DONE]\n\n";

CannedResponse sse(std::string body) {
  return CannedResponse{
      200, {{"content-type", "text/event-stream"}}, std::move(body), std::nullopt};
}

ModelClientOptions fast_options() {
  ModelClientOptions options;
  options.retry.base_delay = std::chrono::milliseconds(1);
  return options;
}

ChatRequest simple_request() {
  ChatRequest request;
  request.model = "test-model";
  request.messages.push_back({Role::kUser, "hello", {}, {}});
  return request;
}

TEST(ModelClient, JoinsStreamedToolCallArguments) {
  CannedTransport transport;
  transport.responses.push_back(sse(kToolCallStream));
  auto client = make_model_client(openai_config(), transport, fast_options());
  std::string streamed;
  Result<ChatResponse> response =
      client->send(simple_request(), {[&](std::string_view text) { streamed += text; }});
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(streamed, "Hi");
  ASSERT_EQ(response->tool_calls.size(), 1u);
  EXPECT_EQ(response->tool_calls[0].arguments, "{\"path\":\"a.txt\"}");
  EXPECT_EQ(response->usage.input_tokens, 10);
  ASSERT_EQ(transport.requests.size(), 1u);
  EXPECT_EQ(transport.requests[0].url, "http://127.0.0.1:1/v1/chat/completions");
}

TEST(ModelClient, RetriesRateLimitThenSucceeds) {
  CannedTransport transport;
  transport.responses.push_back(
      {429, {{"retry-after", "0"}}, R"({"error":{"message":"slow down"}})", std::nullopt});
  transport.responses.push_back({500, {}, R"({"error":{"message":"boom"}})", std::nullopt});
  transport.responses.push_back(sse(kToolCallStream));
  std::vector<RetryNotice> notices;
  ModelClientOptions options = fast_options();
  options.on_retry = [&](const RetryNotice& notice) { notices.push_back(notice); };
  auto client = make_model_client(openai_config(), transport, options);
  Result<ChatResponse> response = client->send(simple_request(), {});
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(transport.requests.size(), 3u);
  ASSERT_EQ(notices.size(), 2u);
  EXPECT_NE(notices[0].reason.find("rate limit"), std::string::npos);
}

TEST(ModelClient, GivesUpAfterBoundedRetries) {
  CannedTransport transport;
  for (int i = 0; i < 10; ++i) transport.responses.push_back({503, {}, "overloaded", std::nullopt});
  auto client = make_model_client(openai_config(), transport, fast_options());
  Result<ChatResponse> response = client->send(simple_request(), {});
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().kind, ErrorKind::kServer);
  EXPECT_EQ(transport.requests.size(), 4u);
}

// A server that says whether to try again (x-should-retry, as the official SDKs read
// it) is obeyed over the status: the joey proxy answers a provider it has no key for
// with 503 and "false", and retrying that only makes the user wait.
TEST(ModelClient, TheServersWordOnRetryingWinsOverTheStatus) {
  CannedTransport refused;
  for (int i = 0; i < 4; ++i) {
    refused.responses.push_back({503,
                                 {{"x-should-retry", "false"}},
                                 R"({"error":{"message":"the joey proxy has no API key"}})",
                                 std::nullopt});
  }
  auto client = make_model_client(openai_config(), refused, fast_options());
  Result<ChatResponse> response = client->send(simple_request(), {});
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().kind, ErrorKind::kServer);
  EXPECT_NE(response.error().message.find("no API key"), std::string::npos);
  EXPECT_EQ(refused.requests.size(), 1u);

  CannedTransport asked;
  asked.responses.push_back(
      {400, {{"x-should-retry", "true"}}, R"({"error":{"message":"try again"}})", std::nullopt});
  asked.responses.push_back(sse(kToolCallStream));
  client = make_model_client(openai_config(), asked, fast_options());
  response = client->send(simple_request(), {});
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(asked.requests.size(), 2u);
}

TEST(ModelClient, StreamCutMidEventIsRetried) {
  CannedTransport transport;
  std::string cut(kToolCallStream);
  cut.resize(cut.size() / 2);
  transport.responses.push_back(sse(cut));
  transport.responses.push_back(sse(kToolCallStream));
  auto client = make_model_client(openai_config(), transport, fast_options());
  Result<ChatResponse> response = client->send(simple_request(), {});
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(transport.requests.size(), 2u);
}

TEST(ModelClient, AuthFailureIsNotRetriedAndNamesTheVariable) {
  CannedTransport transport;
  transport.responses.push_back(
      {401,
       {},
       R"({"error":{"message":"Incorrect API key provided","code":"invalid_api_key"}})",
       std::nullopt});
  ProviderConfig config = openai_config();
  config.info = find_provider("openai").value();
  auto client = make_model_client(config, transport, fast_options());
  Result<ChatResponse> response = client->send(simple_request(), {});
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().kind, ErrorKind::kAuth);
  EXPECT_NE(response.error().message.find("OPENAI_API_KEY"), std::string::npos);
  EXPECT_NE(response.error().message.find("Incorrect API key"), std::string::npos);
  EXPECT_EQ(transport.requests.size(), 1u);
}

TEST(ModelClient, NonStreamingAnswerIsAccepted) {
  CannedTransport transport;
  transport.responses.push_back(
      {200,
       {{"content-type", "application/json"}},
       R"({"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"done"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}})",
       std::nullopt});
  auto client = make_model_client(openai_config(), transport, fast_options());
  Result<ChatResponse> response = client->send(simple_request(), {});
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->text, "done");
}

TEST(ProviderHttpError, MapsStatusesToActionableMessages) {
  ProviderConfig config = openai_config();
  Error overflow = provider_http_error(
      config, 400,
      R"({"error":{"message":"This model's maximum context length is 128000 tokens","code":"context_length_exceeded"}})");
  EXPECT_EQ(overflow.kind, ErrorKind::kContextOverflow);
  EXPECT_NE(overflow.message.find("context window"), std::string::npos);

  Error unknown = provider_http_error(
      config, 404,
      R"({"error":{"message":"The model `nope` does not exist","code":"model_not_found"}})");
  EXPECT_EQ(unknown.kind, ErrorKind::kUnknownModel);
  EXPECT_NE(unknown.message.find("joey models"), std::string::npos);

  EXPECT_EQ(provider_http_error(config, 429, "").kind, ErrorKind::kRateLimited);
  EXPECT_EQ(provider_http_error(config, 529, "").kind, ErrorKind::kServer);
  EXPECT_EQ(provider_http_error(config, 422, "{}").kind, ErrorKind::kInvalidArgument);
}

TEST(ProviderHttpError, TheCloudProxysRefusalsAreItsPolicyNotAKeyProblem) {
  ProviderConfig config =
      resolve_cloud_provider({"https://joey.example.com", "joey_pat_x"}, "claude-sonnet-4-5", false)
          .value();
  const std::string words =
      "the model 'claude-sonnet-4-5' (anthropic) is not allowed: your organization's admin "
      "restricts which models its members can use";
  Error refused = provider_http_error(
      config, 403,
      R"({"type":"error","error":{"type":"permission_error","message":")" + words + R"("}})");
  EXPECT_EQ(refused.kind, ErrorKind::kPermissionDenied);
  EXPECT_TRUE(refused.message.starts_with("the joey Cloud refused the request (HTTP 403: " + words))
      << refused.message;
  Error budget = provider_http_error(
      config, 402,
      R"({"type":"error","error":{"type":"invalid_request_error","message":"spent"}})");
  EXPECT_EQ(budget.kind, ErrorKind::kPermissionDenied);
  Error token = provider_http_error(config, 401, "");
  EXPECT_EQ(token.kind, ErrorKind::kAuth);
  EXPECT_NE(token.message.find("joey login"), std::string::npos);
  Error unknown = provider_http_error(config, 404, R"({"error":{"message":"model: nope"}})");
  EXPECT_EQ(unknown.kind, ErrorKind::kUnknownModel);
  EXPECT_NE(unknown.message.find("joey models --provider cloud"), std::string::npos);
  EXPECT_EQ(unknown.message.find("--base-url"), std::string::npos);
  // The proxy's own 503 (no key for the provider) is an answer, not a failure: its words
  // say what to do.
  Error keyless = provider_http_error(
      config, 503,
      R"({"type":"error","error":{"type":"api_error","message":"the joey proxy has no API key"}})");
  EXPECT_EQ(keyless.kind, ErrorKind::kServer);
  EXPECT_TRUE(keyless.message.starts_with(
      "the joey Cloud cannot serve this request (HTTP 503: the joey proxy has no API key"))
      << keyless.message;
  EXPECT_NE(provider_http_error(config, 500, "").message.find("the joey Cloud failed"),
            std::string::npos);

  // A Cloud that cannot be reached is named the same way.
  CannedTransport down;  // no responses: every request is refused
  auto client = make_model_client(config, down, fast_options());
  Result<ChatResponse> response = client->send(simple_request(), {});
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().kind, ErrorKind::kNetwork);
  EXPECT_TRUE(response.error().message.starts_with("could not reach the joey Cloud at https://"))
      << response.error().message;
}

TEST(RetryDelay, HonoursRetryAfterAndBacksOffWithJitter) {
  RetryPolicy policy;
  policy.base_delay = std::chrono::milliseconds(100);
  policy.max_delay = std::chrono::milliseconds(1000);
  EXPECT_EQ(retry_delay(policy, 1, "3").count(), 3000);
  for (int i = 0; i < 50; ++i) {
    auto first = retry_delay(policy, 1, "").count();
    EXPECT_GE(first, 50);
    EXPECT_LE(first, 100);
    auto third = retry_delay(policy, 3, "").count();
    EXPECT_GE(third, 200);
    EXPECT_LE(third, 400);
    EXPECT_LE(retry_delay(policy, 20, "").count(), 1000);
  }
  // An HTTP-date in the past means "now".
  EXPECT_EQ(retry_delay(policy, 1, "Wed, 21 Oct 2015 07:28:00 GMT").count(), 0);
}

}  // namespace
}  // namespace joey::llm
