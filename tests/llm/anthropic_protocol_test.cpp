#include "llm/anthropic_protocol.h"

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

// A streamed turn as api.anthropic.com sends it: text, then a tool_use block whose
// input arrives as input_json_delta pieces, with a ping and cache usage.
constexpr std::string_view kRecordedToolStream = R"(event: message_start
data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":2048,"cache_read_input_tokens":10240,"output_tokens":2},"content":[],"stop_reason":null}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Okay"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":", let me look at the build script."}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"read_file","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"path\": \"scr"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ipts/build.sh\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

event: message_stop
data: {"type":"message_stop"}

)";

Decoded decode(const std::vector<std::string_view>& pieces) {
  return decode_stream<AnthropicStreamDecoder>(pieces);
}

Decoded decode(std::string_view stream) { return decode(std::vector<std::string_view>{stream}); }

std::string event(const std::string& type, const std::string& data) {
  return "event: " + type + "\ndata: " + data + "\n\n";
}

const std::string kMessageStart = event(
    "message_start",
    R"({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"usage":{"input_tokens":10,"output_tokens":1}}})");
const std::string kMessageStop = event("message_stop", R"({"type":"message_stop"})");

TEST(AnthropicStream, RecordedStreamGivesTextToolCallAndCacheUsage) {
  const Decoded got = decode(kRecordedToolStream);
  ASSERT_TRUE(got.feed_status.ok()) << got.feed_status.error().message;
  ASSERT_TRUE(got.response.ok()) << got.response.error().message;
  EXPECT_EQ(got.response->text, "Okay, let me look at the build script.");
  EXPECT_THAT(got.text_pieces, ElementsAre("Okay", ", let me look at the build script."));
  ASSERT_EQ(got.response->tool_calls.size(), 1u);
  EXPECT_EQ(got.response->tool_calls[0].id, "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
  EXPECT_EQ(got.response->tool_calls[0].name, "read_file");
  EXPECT_EQ(got.response->tool_calls[0].arguments, R"({"path": "scripts/build.sh"})");
  EXPECT_EQ(got.response->stop_reason, "tool_use");
  EXPECT_EQ(got.response->usage.input_tokens, 472);
  EXPECT_EQ(got.response->usage.cache_write_tokens, 2048);
  EXPECT_EQ(got.response->usage.cache_read_tokens, 10240);
  EXPECT_EQ(got.response->usage.output_tokens, 89);  // the latest count, not 2 + 89
}

TEST(AnthropicStream, SplitAtEveryByteOffsetGivesTheSameResponse) {
  for (size_t offset = 1; offset < kRecordedToolStream.size(); ++offset) {
    const Decoded got =
        decode({kRecordedToolStream.substr(0, offset), kRecordedToolStream.substr(offset)});
    ASSERT_TRUE(got.response.ok()) << "split at " << offset;
    ASSERT_EQ(got.response->tool_calls.size(), 1u) << "split at " << offset;
    EXPECT_EQ(got.response->tool_calls[0].arguments, R"({"path": "scripts/build.sh"})");
    EXPECT_EQ(got.response->text, "Okay, let me look at the build script.");
  }
}

TEST(AnthropicStream, ByteByByteFeedGivesTheSameResponse) {
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < kRecordedToolStream.size(); ++i) {
    bytes.push_back(kRecordedToolStream.substr(i, 1));
  }
  const Decoded got = decode(bytes);
  ASSERT_TRUE(got.response.ok()) << got.response.error().message;
  EXPECT_EQ(got.response->tool_calls[0].arguments, R"({"path": "scripts/build.sh"})");
  EXPECT_EQ(got.response->usage.output_tokens, 89);
}

TEST(AnthropicStream, ToolUseWithoutInputPiecesHasEmptyObjectArguments) {
  const std::string stream =
      kMessageStart +
      event(
          "content_block_start",
          R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_9","name":"list_files","input":{}}})") +
      event(
          "content_block_delta",
          R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}})") +
      event("content_block_stop", R"({"type":"content_block_stop","index":0})") +
      event(
          "message_delta",
          R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":12}})") +
      kMessageStop;
  const Decoded got = decode(stream);
  ASSERT_TRUE(got.response.ok()) << got.response.error().message;
  ASSERT_EQ(got.response->tool_calls.size(), 1u);
  EXPECT_EQ(got.response->tool_calls[0].arguments, "{}");
  EXPECT_EQ(got.response->usage.input_tokens, 10);
  EXPECT_EQ(got.response->usage.output_tokens, 12);
}

TEST(AnthropicStream, TwoToolUseBlocksKeepTheirOwnPieces) {
  const std::string stream =
      kMessageStart +
      event(
          "content_block_start",
          R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_a","name":"read_file","input":{}}})") +
      event(
          "content_block_delta",
          R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"path\":"}})") +
      event(
          "content_block_delta",
          R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"\"a\"}"}})") +
      event("content_block_stop", R"({"type":"content_block_stop","index":0})") +
      event(
          "content_block_start",
          R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_b","name":"read_file","input":{}}})") +
      event(
          "content_block_delta",
          R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"path\":\"b\"}"}})") +
      event("content_block_stop", R"({"type":"content_block_stop","index":1})") + kMessageStop;
  const Decoded got = decode(stream);
  ASSERT_TRUE(got.response.ok()) << got.response.error().message;
  ASSERT_EQ(got.response->tool_calls.size(), 2u);
  EXPECT_EQ(got.response->tool_calls[0].id, "toolu_a");
  EXPECT_EQ(got.response->tool_calls[0].arguments, R"({"path":"a"})");
  EXPECT_EQ(got.response->tool_calls[1].id, "toolu_b");
  EXPECT_EQ(got.response->tool_calls[1].arguments, R"({"path":"b"})");
}

TEST(AnthropicStream, ThinkingBlocksAndUnknownEventsAreIgnored) {
  const std::string stream =
      kMessageStart +
      event(
          "content_block_start",
          R"({"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}})") +
      event(
          "content_block_delta",
          R"({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me think"}})") +
      event(
          "content_block_delta",
          R"({"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQB"}})") +
      event("content_block_stop", R"({"type":"content_block_stop","index":0})") +
      event("future_event", R"({"type":"future_event","x":1})") +
      event(
          "content_block_start",
          R"({"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}})") +
      event(
          "content_block_delta",
          R"({"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Answer."}})") +
      event(
          "message_delta",
          R"({"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":30}})") +
      kMessageStop;
  const Decoded got = decode(stream);
  ASSERT_TRUE(got.response.ok()) << got.response.error().message;
  EXPECT_EQ(got.response->text, "Answer.");
  EXPECT_THAT(got.text_pieces, ElementsAre("Answer."));
  EXPECT_TRUE(got.response->tool_calls.empty());
  EXPECT_EQ(got.response->stop_reason, "end_turn");
}

TEST(AnthropicStream, OverloadedErrorEventIsServerError) {
  const Decoded got = decode(
      kMessageStart +
      event("error",
            R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"));
  ASSERT_FALSE(got.feed_status.ok());
  EXPECT_EQ(got.feed_status.error().kind, ErrorKind::kServer);
  EXPECT_THAT(got.feed_status.error().message, HasSubstr("Overloaded"));
  ASSERT_FALSE(got.response.ok());
  EXPECT_EQ(got.response.error().kind, ErrorKind::kServer);
}

TEST(AnthropicStream, RateLimitErrorEventIsRateLimited) {
  const Decoded got = decode(event(
      "error",
      R"({"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}})"));
  ASSERT_FALSE(got.feed_status.ok());
  EXPECT_EQ(got.feed_status.error().kind, ErrorKind::kRateLimited);
  EXPECT_THAT(got.feed_status.error().message, HasSubstr("per-minute rate limit"));
}

TEST(AnthropicStream, StreamCutBeforeMessageStopFailsWithNetworkError) {
  const std::string_view cut =
      kRecordedToolStream.substr(0, kRecordedToolStream.find("event: message_delta"));
  const Decoded got = decode(cut);
  ASSERT_TRUE(got.feed_status.ok());
  EXPECT_FALSE(got.done);
  ASSERT_FALSE(got.response.ok());
  EXPECT_EQ(got.response.error().kind, ErrorKind::kNetwork);
}

TEST(AnthropicStream, PayloadThatIsNotJsonIsProtocolError) {
  const Decoded got = decode(kMessageStart + "event: content_block_delta\ndata: {\"type\":\n\n");
  ASSERT_FALSE(got.feed_status.ok());
  EXPECT_EQ(got.feed_status.error().kind, ErrorKind::kProtocol);
  EXPECT_THAT(got.feed_status.error().message, HasSubstr("content_block_delta"));
}

TEST(AnthropicStream, DeltaForABlockNeverStartedIsProtocolError) {
  const Decoded got = decode(
      kMessageStart +
      event(
          "content_block_delta",
          R"({"type":"content_block_delta","index":3,"delta":{"type":"text_delta","text":"x"}})"));
  ASSERT_FALSE(got.feed_status.ok());
  EXPECT_EQ(got.feed_status.error().kind, ErrorKind::kProtocol);
}

ChatRequest conversation() {
  ChatRequest request;
  request.model = "claude-sonnet-4-5";
  request.max_output_tokens = 4096;
  request.system_prompt = "You are joey.";
  request.messages.push_back({Role::kUser, "Fix the build.", {}, {}});
  request.messages.push_back(
      {Role::kAssistant,
       "Reading it.",
       {{"toolu_1", "read_file", R"({"path":"build.sh"})"}, {"toolu_2", "read_file", "not json"}},
       {}});
  // Two user turns in a row (a reminder added after the tool results) must merge,
  // with the tool results first.
  request.messages.push_back({Role::kUser, "", {}, {{"toolu_1", "read_file", "make", false}}});
  request.messages.push_back(
      {Role::kUser, "Keep going.", {}, {{"toolu_2", "read_file", "bad arguments", true}}});
  request.messages.push_back({Role::kAssistant, "", {{"toolu_3", "list_files", ""}}, {}});
  request.messages.push_back({Role::kUser, "", {}, {{"toolu_3", "list_files", "a\nb", false}}});
  request.tools.push_back(
      {"read_file", "Read a file.",
       json{{"type", "object"}, {"properties", {{"path", {{"type", "string"}}}}}}});
  request.tools.push_back({"list_files", "List files.", json{{"type", "object"}}});
  return request;
}

TEST(AnthropicRequestBody, MatchesGoldenBodyWithCachingAndMergedTurns) {
  const json expected = json::parse(R"({
    "model": "claude-sonnet-4-5",
    "max_tokens": 4096,
    "system": [{"type": "text", "text": "You are joey.", "cache_control": {"type": "ephemeral"}}],
    "messages": [
      {"role": "user", "content": [{"type": "text", "text": "Fix the build."}]},
      {"role": "assistant", "content": [
        {"type": "text", "text": "Reading it."},
        {"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": {"path": "build.sh"}},
        {"type": "tool_use", "id": "toolu_2", "name": "read_file", "input": {}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "make", "is_error": false},
        {"type": "tool_result", "tool_use_id": "toolu_2", "content": "bad arguments", "is_error": true},
        {"type": "text", "text": "Keep going.", "cache_control": {"type": "ephemeral"}}]},
      {"role": "assistant", "content": [
        {"type": "tool_use", "id": "toolu_3", "name": "list_files", "input": {}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_3", "content": "a\nb", "is_error": false,
         "cache_control": {"type": "ephemeral"}}]}
    ],
    "tools": [
      {"name": "read_file", "description": "Read a file.",
       "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}},
      {"name": "list_files", "description": "List files.", "input_schema": {"type": "object"},
       "cache_control": {"type": "ephemeral"}}
    ],
    "stream": true
  })");
  const json body = anthropic_request_body(conversation(), /*stream=*/true);
  EXPECT_EQ(body, expected) << body.dump(2);
}

TEST(AnthropicRequestBody, NoCacheControlWhenCachingIsOff) {
  ChatRequest request = conversation();
  request.prompt_caching = false;
  const std::string body = anthropic_request_body(request, /*stream=*/false).dump();
  EXPECT_EQ(body.find("cache_control"), std::string::npos);
  EXPECT_THAT(body, HasSubstr(R"("stream":false)"));
}

int count_cache_breakpoints(const json& value) {
  int count = 0;
  if (value.is_object()) {
    if (value.contains("cache_control")) ++count;
    for (const auto& [key, child] : value.items()) count += count_cache_breakpoints(child);
  } else if (value.is_array()) {
    for (const json& child : value) count += count_cache_breakpoints(child);
  }
  return count;
}

TEST(AnthropicRequestBody, LongConversationUsesAtMostFourBreakpoints) {
  ChatRequest request = conversation();
  for (int i = 0; i < 10; ++i) {
    request.messages.push_back({Role::kAssistant, "step " + std::to_string(i), {}, {}});
    request.messages.push_back({Role::kUser, "more " + std::to_string(i), {}, {}});
  }
  const json body = anthropic_request_body(request, /*stream=*/true);
  EXPECT_EQ(count_cache_breakpoints(body), 4);
  const json& messages = body["messages"];
  EXPECT_TRUE(messages.back()["content"].back().contains("cache_control"));
  EXPECT_TRUE(messages[messages.size() - 3]["content"].back().contains("cache_control"));
  EXPECT_FALSE(messages[messages.size() - 5]["content"].back().contains("cache_control"));
}

TEST(AnthropicRequestBody, OmitsEmptySystemAndToolsAndDropsEmptyTurns) {
  ChatRequest request;
  request.model = "claude-haiku-4-5";
  request.prompt_caching = false;
  request.messages.push_back({Role::kUser, "hi", {}, {}});
  request.messages.push_back({Role::kAssistant, "", {}, {}});
  request.messages.push_back({Role::kUser, "again", {}, {}});
  const json expected = json::parse(R"({
    "model": "claude-haiku-4-5", "max_tokens": 8192,
    "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "text", "text": "again"}]}],
    "stream": false
  })");
  EXPECT_EQ(anthropic_request_body(request, /*stream=*/false), expected);
}

TEST(AnthropicParseResponse, ParsesTextToolUseAndUsage) {
  const Result<ChatResponse> response = anthropic_parse_response(R"({
    "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
    "content": [
      {"type": "text", "text": "Listing."},
      {"type": "tool_use", "id": "toolu_01A", "name": "list_files", "input": {"path": ".", "recursive": true}}
    ],
    "stop_reason": "tool_use", "stop_sequence": null,
    "usage": {"input_tokens": 50, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 900, "output_tokens": 33}
  })");
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->text, "Listing.");
  ASSERT_EQ(response->tool_calls.size(), 1u);
  EXPECT_EQ(response->tool_calls[0].id, "toolu_01A");
  EXPECT_EQ(response->tool_calls[0].name, "list_files");
  EXPECT_EQ(json::parse(response->tool_calls[0].arguments),
            json::parse(R"({"path": ".", "recursive": true})"));
  EXPECT_EQ(response->stop_reason, "tool_use");
  EXPECT_EQ(response->usage.input_tokens, 50);
  EXPECT_EQ(response->usage.cache_read_tokens, 900);
  EXPECT_EQ(response->usage.cache_write_tokens, 0);
  EXPECT_EQ(response->usage.output_tokens, 33);
}

TEST(AnthropicParseResponse, ErrorBodiesAndGarbageBecomeErrors) {
  const Result<ChatResponse> too_long = anthropic_parse_response(
      R"({"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}})");
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().kind, ErrorKind::kContextOverflow);

  const Result<ChatResponse> garbage = anthropic_parse_response("upstream connect error");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().kind, ErrorKind::kProtocol);

  const Result<ChatResponse> no_content = anthropic_parse_response(R"({"type":"message"})");
  ASSERT_FALSE(no_content.ok());
  EXPECT_EQ(no_content.error().kind, ErrorKind::kProtocol);
}

TEST(AnthropicErrorMessage, ExtractsMessageAndType) {
  EXPECT_EQ(
      anthropic_error_message(
          R"({"type":"error","error":{"type":"not_found_error","message":"model: claude-9"}})"),
      "model: claude-9 (not_found_error)");
  EXPECT_EQ(
      anthropic_error_message(
          R"({"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}})"),
      "invalid x-api-key (authentication_error)");
}

TEST(AnthropicErrorMessage, FallsBackToTheStartOfTheBody) {
  // 299 ASCII bytes then a 3-byte character: the excerpt must not cut it in half.
  const std::string body = std::string(299, 'a') + "\xE2\x82\xAC" + std::string(50, 'b');
  const std::string message = anthropic_error_message(body);
  EXPECT_EQ(message, std::string(299, 'a') + "…");
  EXPECT_EQ(anthropic_error_message("<html>Service Unavailable</html>"),
            "<html>Service Unavailable</html>");
}

}  // namespace
}  // namespace joey::llm
