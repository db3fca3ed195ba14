#include "llm/openai_protocol.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "llm/sse.h"
#include "llm/stream_decoding.h"

namespace joey::llm {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A streamed turn as api.openai.com sends it with stream_options.include_usage: a
// role delta, text, one tool call whose arguments arrive in pieces, the finish
// chunk, the usage chunk with empty choices, then [DONE].
constexpr std::string_view kRecordedToolStream =
    R"(data: {"id":"chatcmpl-B1x2","object":"chat.completion.chunk","created":1731000000,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_9a1","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-B1x2","object":"chat.completion.chunk","created":1731000000,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_9a1","choices":[{"index":0,"delta":{"content":"Let me read"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-B1x2","object":"chat.completion.chunk","created":1731000000,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_9a1","choices":[{"index":0,"delta":{"content":" the file."},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-B1x2","object":"chat.completion.chunk","created":1731000000,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_9a1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_Qm7TfV2","type":"function","function":{"name":"read_file","arguments":""}}]},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-B1x2","object":"chat.completion.chunk","created":1731000000,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_9a1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"pa"}}]},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-B1x2","object":"chat.completion.chunk","created":1731000000,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_9a1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"th\": \"src/"}}]},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-B1x2","object":"chat.completion.chunk","created":1731000000,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_9a1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"main.cpp\"}"}}]},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-B1x2","object":"chat.completion.chunk","created":1731000000,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_9a1","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"usage":null}

data: {"id":"chatcmpl-B1x2","object":"chat.completion.chunk","created":1731000000,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_9a1","choices":[],"usage":{"prompt_tokens":1200,"completion_tokens":42,"total_tokens":1242,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0}}}

data: [DONE]

)";

Decoded decode(const std::vector<std::string_view>& pieces) {
  return decode_stream<OpenAiStreamDecoder>(pieces);
}

Decoded decode(std::string_view stream) { return decode(std::vector<std::string_view>{stream}); }

std::string chunk(const std::string& choice_json) {
  return R"(data: {"id":"c","object":"chat.completion.chunk","choices":[)" + choice_json + "]}\n\n";
}

TEST(OpenAiStream, RecordedStreamGivesTextToolCallAndUsage) {
  const Decoded got = decode(kRecordedToolStream);
  ASSERT_TRUE(got.feed_status.ok());
  ASSERT_TRUE(got.response.ok()) << got.response.error().message;
  const ChatResponse& response = *got.response;
  EXPECT_EQ(response.text, "Let me read the file.");
  EXPECT_THAT(got.text_pieces, ElementsAre("Let me read", " the file."));
  ASSERT_EQ(response.tool_calls.size(), 1u);
  EXPECT_EQ(response.tool_calls[0].id, "call_Qm7TfV2");
  EXPECT_EQ(response.tool_calls[0].name, "read_file");
  EXPECT_EQ(response.tool_calls[0].arguments, R"({"path": "src/main.cpp"})");
  EXPECT_EQ(response.stop_reason, "tool_use");
  EXPECT_EQ(response.usage.input_tokens, 176);
  EXPECT_EQ(response.usage.cache_read_tokens, 1024);
  EXPECT_EQ(response.usage.output_tokens, 42);
  EXPECT_EQ(response.usage.cache_write_tokens, 0);
}

TEST(OpenAiStream, SplitAtEveryByteOffsetGivesTheSameResponse) {
  for (size_t offset = 1; offset < kRecordedToolStream.size(); ++offset) {
    const Decoded got =
        decode({kRecordedToolStream.substr(0, offset), kRecordedToolStream.substr(offset)});
    ASSERT_TRUE(got.response.ok()) << "split at " << offset;
    ASSERT_EQ(got.response->tool_calls.size(), 1u) << "split at " << offset;
    EXPECT_EQ(got.response->tool_calls[0].arguments, R"({"path": "src/main.cpp"})");
    EXPECT_EQ(got.response->text, "Let me read the file.");
    EXPECT_EQ(got.response->usage.output_tokens, 42);
  }
}

TEST(OpenAiStream, ByteByByteFeedGivesTheSameResponse) {
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < kRecordedToolStream.size(); ++i) {
    bytes.push_back(kRecordedToolStream.substr(i, 1));
  }
  const Decoded got = decode(bytes);
  ASSERT_TRUE(got.response.ok()) << got.response.error().message;
  EXPECT_EQ(got.response->tool_calls[0].arguments, R"({"path": "src/main.cpp"})");
  EXPECT_THAT(got.text_pieces, ElementsAre("Let me read", " the file."));
  EXPECT_EQ(got.response->usage.input_tokens, 176);
}

TEST(OpenAiStream, InterleavedToolCallsAreKeptApartByIndex) {
  const std::string stream =
      chunk(
          R"({"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_A","type":"function","function":{"name":"read_file","arguments":""}}]}})") +
      chunk(
          R"({"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_B","type":"function","function":{"name":"list_files","arguments":"{\"pa"}}]}})") +
      chunk(
          R"({"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"path\":"}}]}})") +
      chunk(
          R"({"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"th\":\".\"}"}},{"index":0,"function":{"arguments":"\"a.txt\"}"}}]}})") +
      chunk(R"({"index":0,"delta":{},"finish_reason":"tool_calls"})") + "data: [DONE]\n\n";
  const Decoded got = decode(stream);
  ASSERT_TRUE(got.response.ok()) << got.response.error().message;
  ASSERT_EQ(got.response->tool_calls.size(), 2u);
  EXPECT_EQ(got.response->tool_calls[0].id, "call_A");
  EXPECT_EQ(got.response->tool_calls[0].name, "read_file");
  EXPECT_EQ(got.response->tool_calls[0].arguments, R"({"path":"a.txt"})");
  EXPECT_EQ(got.response->tool_calls[1].id, "call_B");
  EXPECT_EQ(got.response->tool_calls[1].name, "list_files");
  EXPECT_EQ(got.response->tool_calls[1].arguments, R"({"path":"."})");
  EXPECT_TRUE(got.text_pieces.empty());
}

TEST(OpenAiStream, ArgumentsAreTheExactConcatenationEvenWhenInvalid) {
  const std::string stream =
      chunk(
          R"({"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","function":{"name":"write_to_file","arguments":"{ \"path\" :"}}]}})") +
      chunk(
          R"({"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"  \"x\\n\", "}}]}})") +
      chunk(R"({"index":0,"delta":{},"finish_reason":"tool_calls"})") + "data: [DONE]\n\n";
  const Decoded got = decode(stream);
  ASSERT_TRUE(got.response.ok());
  EXPECT_EQ(got.response->tool_calls[0].arguments, "{ \"path\" :  \"x\\n\", ");
}

TEST(OpenAiStream, ToolCallWithoutIdGetsOneFromItsIndex) {
  const std::string stream =
      chunk(
          R"({"index":0,"delta":{"tool_calls":[{"index":2,"function":{"name":"list_files","arguments":"{}"}}]}})") +
      "data: [DONE]\n\n";
  const Decoded got = decode(stream);
  ASSERT_TRUE(got.response.ok());
  ASSERT_EQ(got.response->tool_calls.size(), 1u);
  EXPECT_EQ(got.response->tool_calls[0].id, "call_2");
}

TEST(OpenAiStream, ToolCallsWithoutIndexAreSeparatedByTheirIds) {
  // A few compatible servers send each call whole, with no index.
  const std::string stream =
      chunk(
          R"({"index":0,"delta":{"tool_calls":[{"id":"call_a","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"a\"}"}}]}})") +
      chunk(
          R"({"index":0,"delta":{"tool_calls":[{"id":"call_b","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"b\"}"}}]}})") +
      chunk(R"({"index":0,"delta":{},"finish_reason":"tool_calls"})") + "data: [DONE]\n\n";
  const Decoded got = decode(stream);
  ASSERT_TRUE(got.response.ok()) << got.response.error().message;
  ASSERT_EQ(got.response->tool_calls.size(), 2u);
  EXPECT_EQ(got.response->tool_calls[0].id, "call_a");
  EXPECT_EQ(got.response->tool_calls[0].arguments, R"({"path":"a"})");
  EXPECT_EQ(got.response->tool_calls[1].id, "call_b");
  EXPECT_EQ(got.response->tool_calls[1].arguments, R"({"path":"b"})");
}

TEST(OpenAiStream, UsageInsideTheLastChoiceChunkIsTaken) {
  // Ollama and some proxies put usage on the finish chunk instead of a separate one.
  const std::string stream =
      chunk(R"({"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null})") +
      R"(data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop"}],"usage":{"prompt_tokens":30,"completion_tokens":2,"total_tokens":32}})"
      "\n\ndata: [DONE]\n\n";
  const Decoded got = decode(stream);
  ASSERT_TRUE(got.response.ok());
  EXPECT_EQ(got.response->text, "Hi");
  EXPECT_EQ(got.response->stop_reason, "end_turn");
  EXPECT_EQ(got.response->usage.input_tokens, 30);
  EXPECT_EQ(got.response->usage.output_tokens, 2);
  EXPECT_EQ(got.response->usage.cache_read_tokens, 0);
}

TEST(OpenAiStream, MissingUsageLeavesZeros) {
  const std::string stream =
      chunk(R"({"index":0,"delta":{"content":"ok"},"finish_reason":"length"})") +
      "data: [DONE]\n\n";
  const Decoded got = decode(stream);
  ASSERT_TRUE(got.response.ok());
  EXPECT_EQ(got.response->stop_reason, "max_tokens");
  EXPECT_EQ(got.response->usage.input_tokens, 0);
  EXPECT_EQ(got.response->usage.output_tokens, 0);
}

TEST(OpenAiStream, IgnoresKeepAliveCommentsNullContentAndUnknownFields) {
  const std::string stream =
      ": OPENROUTER PROCESSING\n\n" +
      chunk(
          R"({"index":0,"delta":{"role":"assistant","content":null,"reasoning":"hmm","x_new":[1]},"finish_reason":null,"native_finish_reason":null})") +
      ": OPENROUTER PROCESSING\n\n" +
      chunk(R"({"index":0,"delta":{"content":"Done."},"finish_reason":"stop"})") +
      "data: [DONE]\n\n";
  const Decoded got = decode(stream);
  ASSERT_TRUE(got.response.ok()) << got.response.error().message;
  EXPECT_EQ(got.response->text, "Done.");
  EXPECT_THAT(got.text_pieces, ElementsAre("Done."));
}

TEST(OpenAiStream, DoneMarksTheEndAndLaterEventsAreIgnored) {
  const std::string stream = chunk(R"({"index":0,"delta":{"content":"a"}})") + "data: [DONE]\n\n" +
                             chunk(R"({"index":0,"delta":{"content":"b"}})") + "data: not json\n\n";
  const Decoded got = decode(stream);
  ASSERT_TRUE(got.feed_status.ok());
  EXPECT_TRUE(got.done);
  ASSERT_TRUE(got.response.ok());
  EXPECT_EQ(got.response->text, "a");
}

TEST(OpenAiStream, StreamCutBeforeDoneFailsWithNetworkError) {
  const std::string_view cut = kRecordedToolStream.substr(0, kRecordedToolStream.find("[DONE]"));
  const Decoded got = decode(cut);
  EXPECT_FALSE(got.done);
  ASSERT_FALSE(got.response.ok());
  EXPECT_EQ(got.response.error().kind, ErrorKind::kNetwork);
  EXPECT_THAT(got.response.error().message, HasSubstr("ended before the response was complete"));
}

TEST(OpenAiStream, PayloadThatIsNotJsonIsProtocolError) {
  const Decoded got = decode(chunk(R"({"index":0,"delta":{"content":"a"}})") +
                             "data: <html>Bad gateway</html>\n\n");
  ASSERT_FALSE(got.feed_status.ok());
  EXPECT_EQ(got.feed_status.error().kind, ErrorKind::kProtocol);
  EXPECT_THAT(got.feed_status.error().message, HasSubstr("not a JSON object"));
  ASSERT_FALSE(got.response.ok());
  EXPECT_EQ(got.response.error().kind, ErrorKind::kProtocol);
}

TEST(OpenAiStream, MidStreamRateLimitErrorIsRateLimited) {
  const Decoded got = decode(
      chunk(R"({"index":0,"delta":{"content":"a"}})") +
      R"(data: {"error":{"message":"Rate limit reached for gpt-4o on tokens per min","type":"tokens","param":null,"code":"rate_limit_exceeded"}})"
      "\n\n");
  ASSERT_FALSE(got.feed_status.ok());
  EXPECT_EQ(got.feed_status.error().kind, ErrorKind::kRateLimited);
  EXPECT_THAT(got.feed_status.error().message, HasSubstr("Rate limit reached for gpt-4o"));
  ASSERT_FALSE(got.response.ok());
  EXPECT_EQ(got.response.error().kind, ErrorKind::kRateLimited);
}

TEST(OpenAiStream, MidStreamProviderErrorIsServerError) {
  // OpenRouter reports an upstream failure inside a chunk, with a numeric code.
  const Decoded got = decode(
      R"(data: {"id":"gen-1","object":"chat.completion.chunk","error":{"code":502,"message":"Provider disconnected"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]})"
      "\n\n");
  ASSERT_FALSE(got.feed_status.ok());
  EXPECT_EQ(got.feed_status.error().kind, ErrorKind::kServer);
  EXPECT_THAT(got.feed_status.error().message, HasSubstr("Provider disconnected"));
}

TEST(OpenAiStream, NumericRateLimitCodeIsRateLimited) {
  const Decoded got =
      decode(R"(data: {"error":{"code":429,"message":"Rate limit exceeded: free-models-per-day"}})"
             "\n\n");
  ASSERT_FALSE(got.feed_status.ok());
  EXPECT_EQ(got.feed_status.error().kind, ErrorKind::kRateLimited);
}

TEST(OpenAiRequestBody, MatchesGoldenBodyWithToolsAndToolResults) {
  ChatRequest request;
  request.model = "gpt-4o";
  request.system_prompt = "You are joey.";
  request.messages.push_back({Role::kUser, "Fix the bug.", {}, {}});
  request.messages.push_back({Role::kAssistant,
                              "Reading both files.",
                              {{"call_1", "read_file", R"({"path":"a.cpp"})"},
                               {"call_2", "read_file", R"({"path":"b.cpp"})"}},
                              {}});
  request.messages.push_back(
      {Role::kUser,
       "Also check the header.",
       {},
       {{"call_1", "read_file", "int a;", false}, {"call_2", "read_file", "no such file", true}}});
  request.messages.push_back({Role::kAssistant, "", {{"call_3", "list_files", "{}"}}, {}});
  request.messages.push_back({Role::kUser, "", {}, {{"call_3", "list_files", "a.h", false}}});
  request.tools.push_back(
      {"read_file", "Read a file.",
       json{{"type", "object"}, {"properties", {{"path", {{"type", "string"}}}}}}});
  request.tools.push_back({"list_files", "List files.", nullptr});

  const json expected = json::parse(R"({
    "model": "gpt-4o",
    "messages": [
      {"role": "system", "content": "You are joey."},
      {"role": "user", "content": "Fix the bug."},
      {"role": "assistant", "content": "Reading both files.", "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"a.cpp\"}"}},
        {"id": "call_2", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"b.cpp\"}"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "int a;"},
      {"role": "tool", "tool_call_id": "call_2", "content": "no such file"},
      {"role": "user", "content": "Also check the header."},
      {"role": "assistant", "content": null, "tool_calls": [
        {"id": "call_3", "type": "function", "function": {"name": "list_files", "arguments": "{}"}}]},
      {"role": "tool", "tool_call_id": "call_3", "content": "a.h"}
    ],
    "tools": [
      {"type": "function", "function": {"name": "read_file", "description": "Read a file.",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}},
      {"type": "function", "function": {"name": "list_files", "description": "List files.",
        "parameters": {"type": "object", "properties": {}}}}
    ],
    "stream": true,
    "stream_options": {"include_usage": true}
  })");
  EXPECT_EQ(openai_request_body(request, /*stream=*/true), expected)
      << openai_request_body(request, true).dump(2);
}

TEST(OpenAiRequestBody, OmitsToolsSystemAndStreamOptionsWhenNotNeeded) {
  ChatRequest request;
  request.model = "llama3.1";
  request.messages.push_back({Role::kUser, "hi", {}, {}});
  const json expected = json::parse(R"({
    "model": "llama3.1",
    "messages": [{"role": "user", "content": "hi"}],
    "stream": false
  })");
  EXPECT_EQ(openai_request_body(request, /*stream=*/false), expected);
}

TEST(OpenAiParseResponse, ParsesTextToolCallsAndUsage) {
  const Result<ChatResponse> response = openai_parse_response(R"({
    "id": "chatcmpl-9", "object": "chat.completion", "created": 1731000000, "model": "gpt-4o",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Running it.",
      "tool_calls": [{"id": "call_x", "type": "function",
        "function": {"name": "execute_command", "arguments": "{\"command\": \"make\"}"}}],
      "refusal": null}, "logprobs": null, "finish_reason": "tool_calls"}],
    "usage": {"prompt_tokens": 500, "completion_tokens": 20, "total_tokens": 520,
      "prompt_tokens_details": {"cached_tokens": 128}}
  })");
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->text, "Running it.");
  ASSERT_EQ(response->tool_calls.size(), 1u);
  EXPECT_EQ(response->tool_calls[0].id, "call_x");
  EXPECT_EQ(response->tool_calls[0].name, "execute_command");
  EXPECT_EQ(response->tool_calls[0].arguments, R"({"command": "make"})");
  EXPECT_EQ(response->stop_reason, "tool_use");
  EXPECT_EQ(response->usage.input_tokens, 372);
  EXPECT_EQ(response->usage.cache_read_tokens, 128);
  EXPECT_EQ(response->usage.output_tokens, 20);
}

TEST(OpenAiParseResponse, NullContentAndStopReason) {
  const Result<ChatResponse> response = openai_parse_response(
      R"({"choices":[{"index":0,"message":{"role":"assistant","content":null},"finish_reason":"stop"}]})");
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->text, "");
  EXPECT_EQ(response->stop_reason, "end_turn");
}

TEST(OpenAiParseResponse, RejectsBodiesThatAreNotCompletions) {
  const Result<ChatResponse> not_json = openai_parse_response("<html>502 Bad Gateway</html>");
  ASSERT_FALSE(not_json.ok());
  EXPECT_EQ(not_json.error().kind, ErrorKind::kProtocol);

  const Result<ChatResponse> no_choices = openai_parse_response(R"({"object":"list","data":[]})");
  ASSERT_FALSE(no_choices.ok());
  EXPECT_EQ(no_choices.error().kind, ErrorKind::kProtocol);
  EXPECT_THAT(no_choices.error().message, HasSubstr("no choices"));

  const Result<ChatResponse> error = openai_parse_response(
      R"({"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}})");
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.error().kind, ErrorKind::kContextOverflow);
  EXPECT_THAT(error.error().message, HasSubstr("maximum context length"));
}

TEST(OpenAiErrorMessage, ExtractsMessageAndCode) {
  EXPECT_EQ(
      openai_error_message(
          R"({"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}})"),
      "Incorrect API key provided. (invalid_api_key)");
  EXPECT_EQ(
      openai_error_message(
          R"({"error":{"message":"The model `gpt-9` does not exist","type":"invalid_request_error"}})"),
      "The model `gpt-9` does not exist (invalid_request_error)");
  EXPECT_EQ(openai_error_message(R"({"error":"model not found"})"), "model not found");
}

TEST(OpenAiErrorMessage, FallsBackToTheStartOfTheBody) {
  const std::string html = "<html><body>" + std::string(500, 'x') + "</body></html>";
  const std::string message = openai_error_message(html);
  EXPECT_TRUE(message.starts_with("<html><body>xxx"));
  EXPECT_LE(message.size(), 300u + 3u);  // 300 bytes and an ellipsis
  EXPECT_EQ(openai_error_message("  Bad Gateway\n"), "Bad Gateway");
  EXPECT_EQ(openai_error_message(""), "(empty response body)");
  EXPECT_EQ(openai_error_message(R"({"detail":"nope"})"), R"({"detail":"nope"})");
}

}  // namespace
}  // namespace joey::llm
