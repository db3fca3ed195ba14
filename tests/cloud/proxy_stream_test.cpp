// The model proxy's I/O-free core: request bodies are changed only where the proxy
// must (provider prefix, OpenAI's usage chunk) and otherwise forwarded byte for byte;
// upstream streams are relayed unchanged however they are split, except the usage chunk
// the proxy itself asked for, while their token usage is read.
#include "cloud/proxy_stream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "base/json.h"
#include "llm/openai_protocol.h"

namespace joey::cloud {
namespace {

using nlohmann::json;

// --- prepare_request --------------------------------------------------------------

PreparedRequest prepare_ok(ProxyProtocol protocol, std::string_view body) {
  Result<PreparedRequest> prepared = prepare_request(protocol, body);
  EXPECT_TRUE(prepared.ok()) << (prepared.ok() ? "" : prepared.error().message);
  return prepared.ok() ? std::move(prepared).value() : PreparedRequest{};
}

Error prepare_error(ProxyProtocol protocol, std::string_view body) {
  Result<PreparedRequest> prepared = prepare_request(protocol, body);
  EXPECT_FALSE(prepared.ok());
  return prepared.ok() ? Error() : prepared.error();
}

// Values nlohmann would alter if the body were re-encoded: an integer past 64 bits,
// a float with more digits than a double keeps, escapes and raw non-ASCII text.
constexpr std::string_view kFragileFields =
    R"("seed": 123456789012345678901234567890, "temperature": 0.1000000000000000055511151231257827,)"
    R"( "messages": [{"role": "user", "content": "h\u00e9llo \ud83d\ude00 ✓ \"quoted\" \/"}])";

std::string chat_body(std::string_view model, std::string_view extra = "") {
  return "{ \"model\" : \"" + std::string(model) + "\", " + std::string(kFragileFields) +
         std::string(extra) + " }";
}

TEST(PrepareRequestTest, BodyNeedingNoChangeIsForwardedByteForByte) {
  const std::string body = chat_body("gpt-4o", R"(, "stream": false, "n": 1.5E+300)");
  const PreparedRequest prepared = prepare_ok(ProxyProtocol::kOpenAIChat, body);
  EXPECT_EQ(prepared.body, body);
  EXPECT_EQ(prepared.model, "gpt-4o");
  EXPECT_EQ(prepared.upstream_model, "gpt-4o");
  EXPECT_EQ(prepared.provider, UpstreamProvider::kOpenAI);
  EXPECT_FALSE(prepared.stream);
  EXPECT_FALSE(prepared.strip_usage_chunk);
}

TEST(PrepareRequestTest, AnthropicStreamRequestIsForwardedByteForByte) {
  const std::string body = R"({"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,)"
                           R"("messages":[{"role":"user","content":"hi"}]})";
  const PreparedRequest prepared = prepare_ok(ProxyProtocol::kAnthropicMessages, body);
  EXPECT_EQ(prepared.body, body);
  EXPECT_EQ(prepared.provider, UpstreamProvider::kAnthropic);
  EXPECT_TRUE(prepared.stream);
  EXPECT_FALSE(prepared.strip_usage_chunk);
}

TEST(PrepareRequestTest, OpenAiStreamGetsUsageChunkAndKeepsEverythingElseVerbatim) {
  const std::string body = chat_body("gpt-4o", R"(, "stream": true)");
  const PreparedRequest prepared = prepare_ok(ProxyProtocol::kOpenAIChat, body);
  EXPECT_TRUE(prepared.stream);
  EXPECT_TRUE(prepared.strip_usage_chunk);
  // The original text is a prefix: only the new member was spliced in before the "}".
  const std::string original_without_close = body.substr(0, body.rfind(" }"));
  EXPECT_EQ(prepared.body.substr(0, original_without_close.size()), original_without_close);
  EXPECT_NE(prepared.body.find(kFragileFields), std::string::npos);
  const json parsed = parse_json(prepared.body);
  ASSERT_TRUE(parsed.is_object());
  EXPECT_EQ(parsed["stream_options"], json({{"include_usage", true}}));
}

TEST(PrepareRequestTest, OtherStreamOptionsAreKeptWhenUsageIsAdded) {
  const PreparedRequest prepared = prepare_ok(
      ProxyProtocol::kOpenAIChat,
      R"({"model":"gpt-4o","stream":true,"stream_options":{"x_extra": 12345678901234567890123}})");
  EXPECT_TRUE(prepared.strip_usage_chunk);
  EXPECT_EQ(prepared.body,
            R"({"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true,)"
            R"("x_extra": 12345678901234567890123}})");
}

TEST(PrepareRequestTest, IncludeUsageFalseIsTurnedOnAndTheChunkHidden) {
  const PreparedRequest prepared =
      prepare_ok(ProxyProtocol::kOpenAIChat,
                 R"({"model":"gpt-4o","stream":true,"stream_options":{"include_usage": false}})");
  EXPECT_TRUE(prepared.strip_usage_chunk);
  EXPECT_EQ(prepared.body,
            R"({"model":"gpt-4o","stream":true,"stream_options":{"include_usage": true}})");
}

TEST(PrepareRequestTest, NullStreamOptionsAreReplaced) {
  const PreparedRequest prepared = prepare_ok(
      ProxyProtocol::kOpenAIChat, R"({"model":"gpt-4o","stream":true,"stream_options":null})");
  EXPECT_EQ(prepared.body,
            R"({"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true}})");
}

TEST(PrepareRequestTest, ClientThatAskedForUsageGetsTheChunkAndAnUnchangedBody) {
  const std::string body =
      R"({"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true}})";
  const PreparedRequest prepared = prepare_ok(ProxyProtocol::kOpenAIChat, body);
  EXPECT_EQ(prepared.body, body);
  EXPECT_FALSE(prepared.strip_usage_chunk);
}

TEST(PrepareRequestTest, NonStreamingRequestKeepsItsStreamOptions) {
  const std::string body = R"({"model":"gpt-4o","stream_options":{"include_usage":false}})";
  const PreparedRequest prepared = prepare_ok(ProxyProtocol::kOpenAIChat, body);
  EXPECT_EQ(prepared.body, body);
  EXPECT_FALSE(prepared.strip_usage_chunk);
}

TEST(PrepareRequestTest, ProviderPrefixPicksTheUpstreamAndIsRemovedFromTheBody) {
  struct Case {
    ProxyProtocol protocol;
    std::string model;
    UpstreamProvider provider;
    std::string upstream_model;
  };
  const std::vector<Case> cases = {
      {ProxyProtocol::kOpenAIChat, "openai/gpt-4o", UpstreamProvider::kOpenAI, "gpt-4o"},
      {ProxyProtocol::kOpenAIChat, "anthropic/claude-sonnet-4-5", UpstreamProvider::kAnthropic,
       "claude-sonnet-4-5"},
      {ProxyProtocol::kOpenAIChat, "openrouter/openai/gpt-4o", UpstreamProvider::kOpenRouter,
       "openai/gpt-4o"},
      {ProxyProtocol::kAnthropicMessages, "anthropic/claude-haiku-4-5",
       UpstreamProvider::kAnthropic, "claude-haiku-4-5"},
      {ProxyProtocol::kOpenAIChat, "gpt-4o", UpstreamProvider::kOpenAI, "gpt-4o"},
      {ProxyProtocol::kAnthropicMessages, "claude-opus-4-1", UpstreamProvider::kAnthropic,
       "claude-opus-4-1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.model);
    const std::string body = chat_body(c.model);
    const PreparedRequest prepared = prepare_ok(c.protocol, body);
    EXPECT_EQ(prepared.model, c.model);
    EXPECT_EQ(prepared.upstream_model, c.upstream_model);
    EXPECT_EQ(prepared.provider, c.provider);
    EXPECT_EQ(prepared.body, chat_body(c.upstream_model));
  }
}

TEST(PrepareRequestTest, EscapedModelKeyIsRecognisedAndRewritten) {
  const PreparedRequest prepared =
      prepare_ok(ProxyProtocol::kOpenAIChat, R"({"mod\u0065l":"openai/gpt-4o"})");
  EXPECT_EQ(prepared.upstream_model, "gpt-4o");
  EXPECT_EQ(prepared.body, R"({"mod\u0065l":"gpt-4o"})");
}

// A model without an escape is read where it lies; one with escapes is decoded.
TEST(PrepareRequestTest, EscapedModelValueIsDecoded) {
  const PreparedRequest plain =
      prepare_ok(ProxyProtocol::kOpenAIChat, R"({"model" : "gpt-4o" , "stream" : null})");
  EXPECT_EQ(plain.model, "gpt-4o");
  EXPECT_FALSE(plain.stream);
  const PreparedRequest escaped =
      prepare_ok(ProxyProtocol::kOpenAIChat, R"({"model":"openai\/gpt\u002d4o\u00e9"})");
  EXPECT_EQ(escaped.model, "openai/gpt-4o\xC3\xA9");
  EXPECT_EQ(escaped.upstream_model, "gpt-4o\xC3\xA9");
  EXPECT_EQ(escaped.body, "{\"model\":\"gpt-4o\xC3\xA9\"}");
}

TEST(PrepareRequestTest, ByteOrderMarkAndWhitespaceAroundTheObjectAreAccepted) {
  const std::string body = "\xEF\xBB\xBF \n{\"model\":\"openai/gpt-4o\"}\n";
  const PreparedRequest prepared = prepare_ok(ProxyProtocol::kOpenAIChat, body);
  EXPECT_EQ(prepared.body, "\xEF\xBB\xBF \n{\"model\":\"gpt-4o\"}\n");
}

TEST(PrepareRequestTest, MessagesApiRefusesModelsOfUpstreamsThatDoNotSpeakIt) {
  for (const char* model : {"openai/gpt-4o", "openrouter/anthropic/claude-sonnet-4"}) {
    const Error error = prepare_error(ProxyProtocol::kAnthropicMessages,
                                      std::string(R"({"model":")") + model + "\"}");
    EXPECT_EQ(error.kind, ErrorKind::kInvalidArgument);
    EXPECT_NE(error.message.find("/proxy/v1/chat/completions"), std::string::npos);
  }
}

TEST(PrepareRequestTest, MalformedBodiesAreRefusedWithTheFieldNamed) {
  struct Case {
    std::string body;
    std::string expected_words;
  };
  const std::vector<Case> cases = {
      {"not json", "not valid JSON"},
      {"", "not valid JSON"},
      {R"(["model"])", "JSON object"},
      {R"({"messages":[]})", "no \"model\""},
      {R"({"model":42})", "\"model\" must be a string"},
      {R"({"model":null})", "\"model\" must be a string"},
      {R"({"model":""})", "must not be empty"},
      {R"({"model":"openai/"})", "no model"},
      {R"({"model":"gpt-4o","stream":"yes"})", "\"stream\" must be true or false"},
      {R"({"model":"gpt-4o","stream":1})", "\"stream\" must be true or false"},
      {"{\"model\":\"gpt-4o\",\"user\":\"\xC3\x28\"}", "UTF-8"},
      {R"({"model":"gpt-4o","model":"gpt-5"})", "\"model\" twice"},
      {R"({"model":"gpt-4o","mod\u0065l":"o3"})", "\"model\" twice"},
      {R"({"model":"gpt-4o","stream":true,"stream":false})", "\"stream\" twice"},
      {R"({"model":"gpt-4o","stream":true,"stream_options":"on"})", "\"stream_options\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    const Error error = prepare_error(ProxyProtocol::kOpenAIChat, c.body);
    EXPECT_EQ(error.kind, ErrorKind::kInvalidArgument);
    EXPECT_NE(error.message.find(c.expected_words), std::string::npos) << error.message;
  }
}

// --- StreamMeter ------------------------------------------------------------------

struct Relayed {
  std::string out;
  MeteredUsage usage;
  bool ok = true;
  ErrorKind error_kind = ErrorKind::kInternal;
  bool saw_error = false;
  bool saw_end = false;
};

struct MeterOptions {
  ProxyProtocol protocol = ProxyProtocol::kOpenAIChat;
  bool streaming = true;
  bool strip = false;
  size_t max_event_bytes = 1 << 20;
  size_t max_json_bytes = 8 << 20;
};

// Feeds `input` in pieces of the given sizes (cycled; the whole input when empty).
Relayed relay(const MeterOptions& options, std::string_view input,
              const std::vector<size_t>& piece_sizes = {}) {
  StreamMeter meter(options.protocol, options.streaming, options.strip, options.max_event_bytes,
                    options.max_json_bytes);
  Relayed relayed;
  size_t pos = 0;
  for (size_t i = 0; pos < input.size() && relayed.ok; ++i) {
    const size_t size = piece_sizes.empty() ? input.size() : piece_sizes[i % piece_sizes.size()];
    Status status = meter.feed(input.substr(pos, size), relayed.out);
    if (!status.ok()) {
      relayed.ok = false;
      relayed.error_kind = status.error().kind;
    }
    pos += size;
  }
  if (relayed.ok) {
    Status status = meter.finish(relayed.out);
    relayed.ok = status.ok();
  }
  relayed.usage = meter.usage();
  relayed.saw_error = meter.saw_error_event();
  relayed.saw_end = meter.saw_end();
  return relayed;
}

std::vector<size_t> random_pieces(uint32_t seed) {
  std::mt19937 random(seed);
  std::uniform_int_distribution<size_t> size(1, 40);
  std::vector<size_t> pieces;
  for (int i = 0; i < 64; ++i) pieces.push_back(size(random));
  return pieces;
}

// An OpenAI stream shaped like tests/e2e/scripted_provider.mjs with include_usage: text,
// a tool call whose arguments arrive in pieces, the finish chunk, the usage-only chunk.
const std::string kOpenAiUsageEvent =
    R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":30,"completion_tokens":12,"total_tokens":42,"prompt_tokens_details":{"cached_tokens":5,"audio_tokens":0}}})"
    "\n\n";

std::string openai_chunk(std::string_view choices) {
  return std::string(R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,)") +
         R"("model":"gpt-4o-2024-08-06","choices":)" + std::string(choices) +
         ",\"usage\":null}\n\n";
}

std::string openai_stream_before_usage() {
  return openai_chunk(
             R"([{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}])") +
         openai_chunk(R"([{"index":0,"delta":{"content":"Hel"},"finish_reason":null}])") +
         openai_chunk(R"([{"index":0,"delta":{"content":"lo ✓"},"finish_reason":null}])") +
         openai_chunk(
             R"([{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function",)"
             R"("function":{"name":"read_file","arguments":""}}]},"finish_reason":null}])") +
         openai_chunk(
             R"([{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"pa"}}]},"finish_reason":null}])") +
         openai_chunk(
             R"([{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"th\":\"a.txt\"}"}}]},"finish_reason":null}])") +
         openai_chunk(R"([{"index":0,"delta":{},"finish_reason":"tool_calls"}])");
}

const std::string kDone = "data: [DONE]\n\n";

std::string openai_stream() { return openai_stream_before_usage() + kOpenAiUsageEvent + kDone; }

std::string with_crlf(std::string_view text) {
  std::string result;
  for (const char c : text) {
    if (c == '\n') result.push_back('\r');
    result.push_back(c);
  }
  return result;
}

// An SSE event with a name, as Anthropic and the Responses API send them.
std::string named_event(std::string_view name, std::string_view data) {
  return "event: " + std::string(name) + "\ndata: " + std::string(data) + "\n\n";
}

// An Anthropic stream shaped like tests/e2e/scripted_provider.mjs.
std::string anthropic_stream() {
  return named_event(
             "message_start",
             R"({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant",)"
             R"("model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,)"
             R"("usage":{"input_tokens":25,"cache_creation_input_tokens":3,"cache_read_input_tokens":7,)"
             R"("output_tokens":1,"service_tier":"standard"}}})") +
         named_event(
             "content_block_start",
             R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use",)"
             R"("id":"toolu_1","name":"read_file","input":{}}})") +
         named_event("ping", R"({"type":"ping"})") +
         named_event(
             "content_block_delta",
             R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta",)"
             R"("partial_json":"{\"pa"}})") +
         named_event(
             "content_block_delta",
             R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta",)"
             R"("partial_json":"th\":\"a.txt\"}"}})") +
         named_event("content_block_stop", R"({"type":"content_block_stop","index":0})") +
         named_event(
             "message_delta",
             R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},)"
             R"("usage":{"output_tokens":12}})") +
         named_event("message_stop", R"({"type":"message_stop"})");
}

// OpenAI's Responses API stream as it comes (events named like their data's "type"):
// a function call whose arguments arrive in pieces, then response.completed with usage.
std::string responses_stream() {
  return named_event("response.created",
                     R"({"type":"response.created","sequence_number":0,"response":{"id":"resp_1",)"
                     R"("object":"response","status":"in_progress","model":"gpt-5-2025-08-07",)"
                     R"("output":[],"usage":null}})") +
         named_event("response.output_item.added",
                     R"({"type":"response.output_item.added","sequence_number":1,"output_index":0,)"
                     R"("item":{"id":"fc_1","type":"function_call","status":"in_progress",)"
                     R"("arguments":"","call_id":"call_1","name":"read_file"}})") +
         named_event("response.function_call_arguments.delta",
                     R"({"type":"response.function_call_arguments.delta","sequence_number":2,)"
                     R"("item_id":"fc_1","output_index":0,"delta":"{\"pa"})") +
         named_event("response.function_call_arguments.delta",
                     R"({"type":"response.function_call_arguments.delta","sequence_number":3,)"
                     R"("item_id":"fc_1","output_index":0,"delta":"th\":\"a.txt\"}"})") +
         named_event(
             "response.completed",
             R"({"type":"response.completed","sequence_number":4,"response":{"id":"resp_1",)"
             R"("object":"response","status":"completed","model":"gpt-5-2025-08-07","output":[],)"
             R"("usage":{"input_tokens":40,"input_tokens_details":{"cached_tokens":8},)"
             R"("output_tokens":15,"output_tokens_details":{"reasoning_tokens":6},)"
             R"("total_tokens":55}}})");
}

void expect_openai_usage(const MeteredUsage& usage) {
  EXPECT_TRUE(usage.seen);
  EXPECT_EQ(usage.input_tokens, 25);  // prompt_tokens 30 minus 5 cached
  EXPECT_EQ(usage.cache_read_tokens, 5);
  EXPECT_EQ(usage.cache_write_tokens, 0);
  EXPECT_EQ(usage.output_tokens, 12);
  EXPECT_EQ(usage.model, "gpt-4o-2024-08-06");
}

TEST(StreamMeterTest, OpenAiStreamIsForwardedUnchangedWhenNotStripping) {
  const Relayed relayed = relay({}, openai_stream());
  ASSERT_TRUE(relayed.ok);
  EXPECT_EQ(relayed.out, openai_stream());
  expect_openai_usage(relayed.usage);
  EXPECT_TRUE(relayed.saw_end);
  EXPECT_FALSE(relayed.saw_error);
}

// What a client that did not ask for usage gets from OpenAI directly: no usage member.
std::string without_null_usage(std::string stream) {
  const std::string member = ",\"usage\":null";
  for (size_t at = stream.find(member); at != std::string::npos; at = stream.find(member, at)) {
    stream.erase(at, member.size());
  }
  return stream;
}

TEST(StreamMeterTest, StrippingRemovesExactlyTheUsageChunkEventAndTheNullUsageMembers) {
  const Relayed relayed = relay({.strip = true}, openai_stream());
  ASSERT_TRUE(relayed.ok);
  EXPECT_EQ(relayed.out, without_null_usage(openai_stream_before_usage()) + kDone);
  EXPECT_NE(openai_stream_before_usage(), without_null_usage(openai_stream_before_usage()));
  expect_openai_usage(relayed.usage);
  EXPECT_TRUE(relayed.saw_end);
}

TEST(StreamMeterTest, StrippingWorksWithCrlfLineEnds) {
  const Relayed relayed = relay({.strip = true}, with_crlf(openai_stream()));
  ASSERT_TRUE(relayed.ok);
  EXPECT_EQ(relayed.out, with_crlf(without_null_usage(openai_stream_before_usage()) + kDone));
  expect_openai_usage(relayed.usage);
}

TEST(StreamMeterTest, StrippingWorksWithBareCrLineEndsAndDataWithoutSpace) {
  std::string usage_event = kOpenAiUsageEvent;
  usage_event.replace(0, 6, "data:");
  std::string stream = openai_stream_before_usage() + usage_event + kDone;
  std::replace(stream.begin(), stream.end(), '\n', '\r');
  std::string expected = without_null_usage(openai_stream_before_usage()) + kDone;
  std::replace(expected.begin(), expected.end(), '\n', '\r');
  for (uint32_t seed = 0; seed < 8; ++seed) {
    const Relayed relayed = relay({.strip = true}, stream, random_pieces(seed));
    ASSERT_TRUE(relayed.ok);
    EXPECT_EQ(relayed.out, expected);
    expect_openai_usage(relayed.usage);
  }
}

TEST(StreamMeterTest, ByteByByteAndRandomSplitsGiveTheSameOutputAndUsage) {
  const std::vector<std::pair<MeterOptions, std::string>> streams = {
      {{}, openai_stream()},
      {{.strip = true}, openai_stream()},
      {{.strip = true}, with_crlf(openai_stream())},
      {{.protocol = ProxyProtocol::kAnthropicMessages}, anthropic_stream()},
      {{.protocol = ProxyProtocol::kAnthropicMessages}, with_crlf(anthropic_stream())},
      {{.protocol = ProxyProtocol::kOpenAIResponses}, responses_stream()},
      {{.protocol = ProxyProtocol::kOpenAIResponses}, with_crlf(responses_stream())},
  };
  for (const auto& [options, stream] : streams) {
    const Relayed whole = relay(options, stream);
    ASSERT_TRUE(whole.ok);
    std::vector<std::vector<size_t>> splits = {{1}, {2}, {3}};
    for (uint32_t seed = 1; seed <= 20; ++seed) splits.push_back(random_pieces(seed));
    for (const auto& pieces : splits) {
      const Relayed split = relay(options, stream, pieces);
      ASSERT_TRUE(split.ok);
      EXPECT_EQ(split.out, whole.out);
      EXPECT_EQ(split.usage.input_tokens, whole.usage.input_tokens);
      EXPECT_EQ(split.usage.output_tokens, whole.usage.output_tokens);
      EXPECT_EQ(split.usage.cache_read_tokens, whole.usage.cache_read_tokens);
      EXPECT_EQ(split.usage.cache_write_tokens, whole.usage.cache_write_tokens);
      EXPECT_EQ(split.usage.model, whole.usage.model);
      EXPECT_EQ(split.saw_end, whole.saw_end);
    }
  }
}

TEST(StreamMeterTest, AnthropicUsageComesFromMessageStartAndTheLastMessageDelta) {
  const Relayed relayed =
      relay({.protocol = ProxyProtocol::kAnthropicMessages, .strip = true}, anthropic_stream());
  ASSERT_TRUE(relayed.ok);
  EXPECT_EQ(relayed.out, anthropic_stream());  // nothing is stripped from Messages streams
  EXPECT_TRUE(relayed.usage.seen);
  EXPECT_EQ(relayed.usage.input_tokens, 25);
  EXPECT_EQ(relayed.usage.cache_write_tokens, 3);
  EXPECT_EQ(relayed.usage.cache_read_tokens, 7);
  EXPECT_EQ(relayed.usage.output_tokens, 12);
  EXPECT_EQ(relayed.usage.model, "claude-sonnet-4-5-20250929");
  EXPECT_TRUE(relayed.saw_end);
  EXPECT_FALSE(relayed.saw_error);
}

// Responses API: usage from the last event's response object, input_tokens counting the
// cached ones; the stream passes unchanged (nothing is asked for, so nothing is cut).
TEST(StreamMeterTest, ResponsesUsageComesFromTheCompletedResponse) {
  const Relayed relayed = relay({.protocol = ProxyProtocol::kOpenAIResponses}, responses_stream());
  ASSERT_TRUE(relayed.ok);
  EXPECT_EQ(relayed.out, responses_stream());
  EXPECT_TRUE(relayed.usage.seen);
  EXPECT_EQ(relayed.usage.input_tokens, 32);
  EXPECT_EQ(relayed.usage.cache_read_tokens, 8);
  EXPECT_EQ(relayed.usage.cache_write_tokens, 0);
  EXPECT_EQ(relayed.usage.output_tokens, 15);
  EXPECT_EQ(relayed.usage.model, "gpt-5-2025-08-07");
  EXPECT_TRUE(relayed.saw_end);
  EXPECT_FALSE(relayed.saw_error);

  // A stream cut before its last event has no usage and no end.
  const std::string cut =
      responses_stream().substr(0, responses_stream().find("event: response.completed"));
  const Relayed partial = relay({.protocol = ProxyProtocol::kOpenAIResponses}, cut);
  ASSERT_TRUE(partial.ok);
  EXPECT_FALSE(partial.usage.seen);
  EXPECT_FALSE(partial.saw_end);
  EXPECT_EQ(partial.usage.model, "gpt-5-2025-08-07");  // from response.created

  // An incomplete one (max_output_tokens reached) ends it too, with its usage.
  const std::string incomplete =
      named_event("response.incomplete",
                  R"({"type":"response.incomplete","sequence_number":1,"response":{"id":"resp_3",)"
                  R"("status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},)"
                  R"("model":"gpt-5","usage":{"input_tokens":12,"output_tokens":64}}})");
  const Relayed stopped = relay({.protocol = ProxyProtocol::kOpenAIResponses}, incomplete);
  ASSERT_TRUE(stopped.ok);
  EXPECT_TRUE(stopped.saw_end);
  EXPECT_FALSE(stopped.saw_error);
  EXPECT_EQ(stopped.usage.input_tokens, 12);
  EXPECT_EQ(stopped.usage.output_tokens, 64);

  // A failed response ends the stream as an error, with whatever usage it reports.
  const std::string failed = named_event(
      "response.failed",
      R"({"type":"response.failed","sequence_number":1,"response":{"id":"resp_2","status":"failed",)"
      R"("model":"gpt-5","error":{"code":"server_error","message":"boom"},"usage":null}})");
  const Relayed failure = relay({.protocol = ProxyProtocol::kOpenAIResponses}, failed);
  ASSERT_TRUE(failure.ok);
  EXPECT_TRUE(failure.saw_end);
  EXPECT_TRUE(failure.saw_error);
  EXPECT_FALSE(failure.usage.seen);
}

TEST(PrepareRequestTest, ResponsesApiServesOpenAiAndOpenRouterModelsAndForwardsTheBody) {
  const std::string body = R"({"model":"openai/gpt-5","input":"hi","stream":true,"store":false,)"
                           R"("include":["reasoning.encrypted_content"]})";
  const PreparedRequest prepared = prepare_ok(ProxyProtocol::kOpenAIResponses, body);
  EXPECT_EQ(prepared.provider, UpstreamProvider::kOpenAI);
  EXPECT_EQ(prepared.upstream_model, "gpt-5");
  EXPECT_TRUE(prepared.stream);
  EXPECT_FALSE(prepared.strip_usage_chunk);  // the last event always carries usage
  EXPECT_EQ(prepared.body, R"({"model":"gpt-5","input":"hi","stream":true,"store":false,)"
                           R"("include":["reasoning.encrypted_content"]})");
  EXPECT_EQ(prepare_ok(ProxyProtocol::kOpenAIResponses, R"({"model":"gpt-5","input":"x"})").body,
            R"({"model":"gpt-5","input":"x"})");
  EXPECT_EQ(prepare_ok(ProxyProtocol::kOpenAIResponses, R"({"model":"openrouter/openai/gpt-5"})")
                .provider,
            UpstreamProvider::kOpenRouter);
  const Error error =
      prepare_error(ProxyProtocol::kOpenAIResponses, R"({"model":"anthropic/claude-haiku-4-5"})");
  EXPECT_EQ(error.kind, ErrorKind::kInvalidArgument);
  EXPECT_NE(error.message.find("/proxy/v1/messages"), std::string::npos) << error.message;
}

TEST(StreamMeterTest, SplitToolCallDeltasPassUnchanged) {
  const Relayed openai = relay({.strip = true}, openai_stream(), {7});
  EXPECT_NE(openai.out.find(R"("arguments":"{\"pa"})"), std::string::npos);
  EXPECT_NE(openai.out.find(R"("arguments":"th\":\"a.txt\"}"})"), std::string::npos);
  const Relayed anthropic =
      relay({.protocol = ProxyProtocol::kAnthropicMessages}, anthropic_stream(), {5});
  EXPECT_EQ(anthropic.out, anthropic_stream());
}

TEST(StreamMeterTest, MidStreamErrorsAreNoticedAndForwarded) {
  const std::string openai =
      openai_chunk(R"([{"index":0,"delta":{"content":"Hi"},"finish_reason":null}])") +
      R"(data: {"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}})"
      "\n\n";
  const Relayed openai_relayed = relay({.strip = true}, openai);
  EXPECT_EQ(openai_relayed.out, without_null_usage(openai));
  EXPECT_TRUE(openai_relayed.saw_error);
  EXPECT_FALSE(openai_relayed.saw_end);

  const std::string anthropic = named_event(
      "error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  const Relayed anthropic_relayed =
      relay({.protocol = ProxyProtocol::kAnthropicMessages}, anthropic);
  EXPECT_EQ(anthropic_relayed.out, anthropic);
  EXPECT_TRUE(anthropic_relayed.saw_error);
}

// Deltas are read without building their document; these are the shapes where a
// reader that only looked at the bytes would go wrong.
TEST(StreamMeterTest, EventsReadWithoutTheirDocumentMeterExactlyAsParsedOnes) {
  const auto event = [](const std::string& data) { return "data: " + data + "\n\n"; };
  // "usage" inside a string, or deeper than the top level, is not the member.
  const std::string inner = event(
      R"({"model":"m1","choices":[{"delta":{"content":"\"usage\":null","usage":null}}],"usage":null})");
  Relayed relayed = relay({.strip = true}, inner);
  ASSERT_TRUE(relayed.ok);
  EXPECT_EQ(
      relayed.out,
      event(R"({"model":"m1","choices":[{"delta":{"content":"\"usage\":null","usage":null}}]})"));
  EXPECT_FALSE(relayed.usage.seen);
  EXPECT_EQ(relayed.usage.model, "m1");

  // Escaped member names and values are the names and values they spell.
  relayed = relay({}, event(R"({"model":"gpt\u002d4o","choices":[],)"
                            R"("us\u0061ge":{"prompt_tokens":5,"completion_tokens":2}})"));
  EXPECT_TRUE(relayed.usage.seen);
  EXPECT_EQ(relayed.usage.input_tokens, 5);
  EXPECT_EQ(relayed.usage.output_tokens, 2);
  EXPECT_EQ(relayed.usage.model, "gpt-4o");

  // A member given twice counts by its last copy, as in a parsed document.
  relayed = relay({}, event(R"({"usage":{"prompt_tokens":1,"completion_tokens":1},"usage":null})"));
  EXPECT_FALSE(relayed.usage.seen);
  relayed = relay({}, event(R"({"usage":null,"usage":{"prompt_tokens":3,"completion_tokens":1}})"));
  EXPECT_TRUE(relayed.usage.seen);
  EXPECT_EQ(relayed.usage.input_tokens, 3);

  // The last model named wins; a null error is no error; an empty or non-string model is none.
  relayed = relay({}, event(R"({"model":"a","error":null,"choices":[]})") +
                          event(R"({"model":"b","choices":[]})") +
                          event(R"({"model":"","choices":[]})") + event(R"({"model":7})"));
  EXPECT_EQ(relayed.usage.model, "b");
  EXPECT_FALSE(relayed.saw_error);

  // Too deep for parse_json, not an object, or not JSON: nothing is metered or changed.
  const std::string deep = std::string(300, '[') + std::string(300, ']');
  const std::string unmetered = event(R"({"x":)" + deep + R"(,"usage":null,"model":"deep"})") +
                                event(R"(["usage",null])") +
                                event(R"({"model":"broken","usage":null)");
  relayed = relay({.strip = true}, unmetered);
  ASSERT_TRUE(relayed.ok);
  EXPECT_EQ(relayed.out, unmetered);
  EXPECT_EQ(relayed.usage.model, "");

  // Anthropic: the data's type decides, the SSE event name only backs a missing one up.
  const std::string anthropic =
      named_event("content_block_delta",
                  R"({"type":"message_delta","usage":{"output_tokens":9}})") +
      named_event("message_delta", R"({"usage":{"output_tokens":11}})") +
      named_event("message_delta",
                  R"({"type":"content_block_delta","usage":{"output_tokens":99}})") +
      named_event("ping", R"({"type":"message_stop"})");
  relayed = relay({.protocol = ProxyProtocol::kAnthropicMessages}, anthropic);
  EXPECT_EQ(relayed.out, anthropic);
  EXPECT_TRUE(relayed.usage.seen);
  EXPECT_EQ(relayed.usage.output_tokens, 11);
  EXPECT_TRUE(relayed.saw_end);
}

// The usage object is built from its layout, not by the parser; the counts must be what
// the parsed object gives: floats, negatives, integers past 64 bits, other types,
// escaped and repeated keys, nesting.
TEST(StreamMeterTest, UsageBuiltFromItsLayoutCountsAsTheParsedObject) {
  for (
      const char* usage : {
          R"({"prompt_tokens":7.9,"completion_tokens":-3})",
          R"({"prompt_tokens":-0,"completion_tokens":1e3})",
          R"({"prompt_tokens":18446744073709551615,"completion_tokens":18446744073709551616})",
          R"({"prompt_tokens":-9223372036854775808,"completion_tokens":-9223372036854775809})",
          R"({"prompt_tokens":"12","completion_tokens":true,"total_tokens":null})",
          R"({"prompt_tokens":5,"prompt_tokens":6,"completion_tokens":[1,2]})",
          R"({"prompt_tokens":40,"prompt_tokens_details":{"cached_tokens":30,"cached_tokens":31}})",
          R"({ "prompt_tokens" : 9 , "completion_tokens" : 4 , "x" : { "y" : [ ] } })",
          R"({"prompt_tokens":40,"prompt_cache_hit_tokens":12,"completion_tokens":2})",
          R"({"prompt_tokens":40,"prompt_tokens_details":{"cach\u0065d_tokens":25,)"
          R"("audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":3}})",
      }) {
    const llm::Usage expected = llm::openai_usage(parse_json(usage));
    // In a stream's chunk, and in a whole JSON answer.
    for (const Relayed& relayed :
         {relay({}, "data: {\"usage\":" + std::string(usage) + "}\n\n"),
          relay({.streaming = false}, "{\"model\":\"m\",\"usage\":" + std::string(usage) + "}")}) {
      EXPECT_TRUE(relayed.usage.seen) << usage;
      EXPECT_EQ(relayed.usage.input_tokens, expected.input_tokens) << usage;
      EXPECT_EQ(relayed.usage.output_tokens, expected.output_tokens) << usage;
      EXPECT_EQ(relayed.usage.cache_read_tokens, expected.cache_read_tokens) << usage;
    }
  }
}

// An Anthropic answer's usage read where it lies counts as count_field reads the parsed
// object: present members replace, absent ones keep 0.
TEST(StreamMeterTest, AnthropicJsonUsageCountsAsTheParsedObject) {
  for (const char* usage : {
           R"({"input_tokens":25,"output_tokens":12})",
           R"({"input_tokens":7.9,"output_tokens":-3,"cache_read_input_tokens":1e3})",
           R"({"input_tokens":18446744073709551616,"output_tokens":"4"})",
           R"({"input_tokens":5,"input_tokens":6,"cache_creation_input_tokens":null})",
           R"({"inp\u0075t_tokens":9,"output_tokens":[1],"x":{"input_tokens":100}})",
       }) {
    const nlohmann::json parsed = parse_json(usage);
    const auto count = [&](const char* key) -> int64_t {
      if (!parsed.contains(key)) return 0;
      const nlohmann::json& value = parsed[key];
      if (value.is_number_float()) {
        const double number = value.get<double>();
        if (!(number > 0)) return 0;
        return number >= 9.0e18 ? std::numeric_limits<int64_t>::max()
                                : static_cast<int64_t>(number);
      }
      if (value.is_number_unsigned()) {
        return static_cast<int64_t>(std::min<uint64_t>(
            value.get<uint64_t>(), static_cast<uint64_t>(std::numeric_limits<int64_t>::max())));
      }
      return value.is_number_integer() ? std::max<int64_t>(0, value.get<int64_t>()) : 0;
    };
    const Relayed relayed = relay(
        {.protocol = ProxyProtocol::kAnthropicMessages, .streaming = false},
        R"({"type":"message","model":"claude-haiku-4-5","usage":)" + std::string(usage) + "}");
    EXPECT_TRUE(relayed.usage.seen) << usage;
    EXPECT_EQ(relayed.usage.input_tokens, count("input_tokens")) << usage;
    EXPECT_EQ(relayed.usage.output_tokens, count("output_tokens")) << usage;
    EXPECT_EQ(relayed.usage.cache_read_tokens, count("cache_read_input_tokens")) << usage;
    EXPECT_EQ(relayed.usage.cache_write_tokens, count("cache_creation_input_tokens")) << usage;
    EXPECT_EQ(relayed.usage.model, "claude-haiku-4-5");
  }
}

// The members around the usage, read where they lie: the last copy of a member counts, an
// escaped model is decoded, an empty one is ignored, a non-null error or an error type is
// an error, and with stripping only a usage chunk without choices is dropped.
TEST(StreamMeterTest, MembersBesideTheUsageReadAsInAParsedDocument) {
  const Relayed repeated =
      relay({.streaming = false}, R"({"model":"a","model":"gpt\u002d4o","error":null,"usage":{}})");
  EXPECT_EQ(repeated.usage.model, "gpt-4o");
  EXPECT_FALSE(repeated.saw_error);
  EXPECT_TRUE(repeated.usage.seen);
  const Relayed empty_model = relay({.streaming = false}, R"({"model":"","usage":3})");
  EXPECT_EQ(empty_model.usage.model, "");
  EXPECT_FALSE(empty_model.usage.seen);
  EXPECT_TRUE(relay({.streaming = false}, R"({"error":{"message":"x"}})").saw_error);
  EXPECT_TRUE(relay({.protocol = ProxyProtocol::kAnthropicMessages, .streaming = false},
                    R"({"type":"err\u006fr","error":{"type":"overloaded_error"}})")
                  .saw_error);
  EXPECT_FALSE(relay({.streaming = false}, R"({"type":"errors","error":null})").saw_error);
  const std::string usage = R"("usage":{"prompt_tokens":3,"completion_tokens":1})";
  for (const auto& [choices, dropped] : std::vector<std::pair<std::string, bool>>{
           {"", true},
           {R"("choices":null,)", true},
           {R"("choices":[ ],)", true},
           {R"("choices":[],"choices":[{"index":0}],)", false},
           {R"("choices":[{"index":0}],"choices":[],)", true},
           {R"("choices":{},)", false}}) {
    const std::string chunk = "data: {" + choices + usage + "}\n\n";
    const Relayed relayed = relay({.strip = true}, chunk);
    EXPECT_EQ(relayed.out.empty(), dropped) << chunk;
    EXPECT_EQ(relayed.usage.input_tokens, 3) << chunk;
  }
}

// Without stripping, a chunk that would change nothing is not checked as JSON; with
// stripping every chunk is. Both must meter every stream alike: chunks that keep or change
// the model, errors, usage in any chunk, escapes, chunks that are not JSON or too deep.
TEST(StreamMeterTest, ChunksSkippedUncheckedMeterAsCheckedOnes) {
  const auto event = [](const std::string& data) { return "data: " + data + "\n\n"; };
  const std::string deep = std::string(300, '[') + std::string(300, ']');
  const std::vector<std::string> chunks = {
      R"({"model":"m1","choices":[{"delta":{"content":"hi"}}],"usage":null})",
      R"({"model":"m1","choices":[{"delta":{"content":"\"model\":\"m9\""}}],"usage":null})",
      R"({"model":"m2","choices":[],"usage":null})",
      R"({"model":"m\u0031","choices":[]})",
      R"({"model":"m3","choices":[],"usage":null)",
      R"({"model":"m1","usage":{"prompt_tokens":4,"completion_tokens":2},"choices":[)",
      R"({"x":)" + deep + R"(,"model":"m4","usage":{"prompt_tokens":9}})",
      R"({"x":)" + deep + R"(,"model":"m1","usage":null})",
      R"({"model":"m1","error":null})",
      R"({"model":"m1","error":{"message":"overloaded"}})",
      R"({"model":"","usage":{"prompt_tokens":7,"completion_tokens":3},"choices":[]})",
      R"({"model":"m1","usage":{"prompt_tokens":5,"completion_tokens":1},"usage":null})",
      R"({"model":7,"usage":null})",
      R"({"usage":{"prompt_tokens":2,"completion_tokens":8}})",
      R"(["model","m5"])",
      R"({"model":"m1","choices":[{"delta":{}}],"usage":null,"model":"m6"})",
      "not json at all",
  };
  // Every chunk alone after a first one naming m1, and every ordered pair.
  std::vector<std::string> streams;
  for (const std::string& chunk : chunks) streams.push_back(event(chunks[0]) + event(chunk));
  for (const std::string& first : chunks) {
    for (const std::string& second : chunks) streams.push_back(event(first) + event(second));
  }
  for (const std::string& stream : streams) {
    SCOPED_TRACE(stream);
    const Relayed unchecked = relay({}, stream);
    const Relayed checked = relay({.strip = true}, stream);
    ASSERT_TRUE(unchecked.ok && checked.ok);
    EXPECT_EQ(unchecked.out, stream);
    EXPECT_EQ(unchecked.usage.model, checked.usage.model);
    EXPECT_EQ(unchecked.usage.seen, checked.usage.seen);
    EXPECT_EQ(unchecked.usage.input_tokens, checked.usage.input_tokens);
    EXPECT_EQ(unchecked.usage.output_tokens, checked.usage.output_tokens);
    EXPECT_EQ(unchecked.saw_error, checked.saw_error);
  }
  // The pairs above reach every outcome: a changed model, usage, an error.
  const Relayed changed = relay({}, event(chunks[0]) + event(chunks[2]));
  EXPECT_EQ(changed.usage.model, "m2");
  const Relayed counted = relay({}, event(chunks[0]) + event(chunks[10]));
  EXPECT_EQ(counted.usage.input_tokens, 7);
  EXPECT_TRUE(relay({}, event(chunks[0]) + event(chunks[9])).saw_error);
  const Relayed broken = relay({}, event(chunks[0]) + event(chunks[4]));
  EXPECT_EQ(broken.usage.model, "m1") << "a chunk that is not JSON changes nothing";
}

TEST(StreamMeterTest, CutStreamForwardsItsLastPartialEventAtFinish) {
  const std::string stream = openai_stream_before_usage() + "data: {\"id\":\"chatcmpl-1\",\"cho";
  const Relayed relayed = relay({.strip = true}, stream, {9});
  ASSERT_TRUE(relayed.ok);
  EXPECT_EQ(relayed.out, without_null_usage(stream));
  EXPECT_FALSE(relayed.saw_end);
  EXPECT_FALSE(relayed.usage.seen);
}

TEST(StreamMeterTest, FinalUsageChunkWithoutBlankLineIsForwardedAndCounted) {
  std::string usage_event = kOpenAiUsageEvent;
  usage_event.resize(usage_event.size() - 2);
  const std::string stream = openai_stream_before_usage() + usage_event;
  const Relayed relayed = relay({.strip = true}, stream);
  ASSERT_TRUE(relayed.ok);
  EXPECT_EQ(relayed.out, without_null_usage(stream));
  expect_openai_usage(relayed.usage);
}

TEST(StreamMeterTest, OversizedEventIsAProtocolError) {
  const std::string stream = openai_chunk("[]") + "data: " + std::string(300, 'x') + "\n\n";
  for (const bool strip : {false, true}) {
    const Relayed relayed = relay({.strip = strip, .max_event_bytes = 256}, stream, {17});
    EXPECT_FALSE(relayed.ok);
    EXPECT_EQ(relayed.error_kind, ErrorKind::kProtocol);
  }
  // A line with no end at all is bounded too.
  const Relayed endless = relay({.max_event_bytes = 256}, std::string(1000, 'a'), {10});
  EXPECT_FALSE(endless.ok);
  EXPECT_EQ(endless.error_kind, ErrorKind::kProtocol);
}

TEST(StreamMeterTest, GarbageIsForwardedUnchangedAndMetersNothing) {
  std::mt19937 random(42);
  std::string garbage;
  for (int i = 0; i < 4000; ++i) garbage.push_back(static_cast<char>(random() % 256));
  const std::vector<std::string> inputs = {
      garbage, "<html>502 Bad Gateway</html>\r\n\r\n", "data: {\"usage\":\n\n",
      "data: {\"choices\":[],\"usage\":7}\n\n", "\n\n\r\r:comment\n\nevent: x\n\n"};
  for (const std::string& input : inputs) {
    for (const bool strip : {false, true}) {
      for (const ProxyProtocol protocol :
           {ProxyProtocol::kOpenAIChat, ProxyProtocol::kAnthropicMessages}) {
        const Relayed relayed = relay({.protocol = protocol, .strip = strip}, input, {13});
        ASSERT_TRUE(relayed.ok);
        EXPECT_EQ(relayed.out, input);
        EXPECT_FALSE(relayed.usage.seen);
      }
    }
  }
}

TEST(StreamMeterTest, JsonBodyUsageIsReadAtFinish) {
  const std::string openai =
      R"({"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-2024-08-06",)"
      R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],)"
      R"("usage":{"prompt_tokens":30,"completion_tokens":12,"total_tokens":42,)"
      R"("prompt_tokens_details":{"cached_tokens":5}}})";
  const Relayed openai_relayed = relay({.streaming = false}, openai, {11});
  ASSERT_TRUE(openai_relayed.ok);
  EXPECT_EQ(openai_relayed.out, openai);
  expect_openai_usage(openai_relayed.usage);
  EXPECT_TRUE(openai_relayed.saw_end);

  const std::string anthropic =
      R"({"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5",)"
      R"("content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn",)"
      R"("usage":{"input_tokens":25,"cache_creation_input_tokens":3,"cache_read_input_tokens":7,)"
      R"("output_tokens":12}})";
  const Relayed anthropic_relayed =
      relay({.protocol = ProxyProtocol::kAnthropicMessages, .streaming = false}, anthropic);
  EXPECT_EQ(anthropic_relayed.out, anthropic);
  EXPECT_EQ(anthropic_relayed.usage.input_tokens, 25);
  EXPECT_EQ(anthropic_relayed.usage.cache_write_tokens, 3);
  EXPECT_EQ(anthropic_relayed.usage.cache_read_tokens, 7);
  EXPECT_EQ(anthropic_relayed.usage.output_tokens, 12);
  EXPECT_FALSE(anthropic_relayed.saw_error);

  const std::string responses =
      R"({"id":"resp_1","object":"response","status":"completed","model":"gpt-5-2025-08-07",)"
      R"("output":[{"type":"message","content":[{"type":"output_text","text":"Hi"}]}],)"
      R"("usage":{"input_tokens":40,"input_tokens_details":{"cached_tokens":8},)"
      R"("output_tokens":15,"output_tokens_details":{"reasoning_tokens":6},"total_tokens":55}})";
  const Relayed responses_relayed =
      relay({.protocol = ProxyProtocol::kOpenAIResponses, .streaming = false}, responses, {7});
  EXPECT_EQ(responses_relayed.out, responses);
  EXPECT_EQ(responses_relayed.usage.input_tokens, 32);
  EXPECT_EQ(responses_relayed.usage.cache_read_tokens, 8);
  EXPECT_EQ(responses_relayed.usage.output_tokens, 15);
  EXPECT_EQ(responses_relayed.usage.model, "gpt-5-2025-08-07");
}

TEST(StreamMeterTest, JsonErrorBodyIsNoticed) {
  const std::string body =
      R"({"type":"error","error":{"type":"rate_limit_error","message":"slow down"}})";
  const Relayed relayed =
      relay({.protocol = ProxyProtocol::kAnthropicMessages, .streaming = false}, body);
  EXPECT_EQ(relayed.out, body);
  EXPECT_TRUE(relayed.saw_error);
  EXPECT_FALSE(relayed.usage.seen);
}

TEST(StreamMeterTest, JsonBodyOverTheLimitIsForwardedWithUnknownUsage) {
  const std::string body = R"({"usage":{"prompt_tokens":30,"completion_tokens":12},"pad":")" +
                           std::string(500, 'p') + "\"}";
  const Relayed relayed = relay({.streaming = false, .max_json_bytes = 100}, body, {64});
  ASSERT_TRUE(relayed.ok);
  EXPECT_EQ(relayed.out, body);
  EXPECT_FALSE(relayed.usage.seen);
  const Relayed within = relay({.streaming = false, .max_json_bytes = body.size()}, body, {64});
  EXPECT_TRUE(within.usage.seen);
}

TEST(StreamMeterTest, FeedingAfterFinishIsRefused) {
  StreamMeter meter(ProxyProtocol::kOpenAIChat, true, false);
  std::string out;
  ASSERT_TRUE(meter.feed("data: x\n\n", out).ok());
  ASSERT_TRUE(meter.finish(out).ok());
  const Status status = meter.feed("more", out);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind, ErrorKind::kInternal);
  EXPECT_EQ(out, "data: x\n\n");
}

// --- error_body and request_cost --------------------------------------------------

TEST(ErrorBodyTest, OpenAiShapeCarriesTypeAndCode) {
  const json body = parse_json(error_body(ProxyProtocol::kOpenAIChat, 403, "model not allowed"));
  EXPECT_EQ(body["error"]["message"], "model not allowed");
  EXPECT_EQ(body["error"]["type"], "permission_error");
  EXPECT_EQ(body["error"]["code"], "permission_error");
  EXPECT_TRUE(body["error"]["param"].is_null());
}

TEST(ErrorBodyTest, ResponsesApiErrorsHaveOpenAisShape) {
  const json body = parse_json(error_body(ProxyProtocol::kOpenAIResponses, 404, "gone"));
  EXPECT_EQ(body["error"]["type"], "not_found_error");
  EXPECT_EQ(body["error"]["message"], "gone");
}

TEST(ErrorBodyTest, AnthropicShapeIsTypedError) {
  const json body =
      parse_json(error_body(ProxyProtocol::kAnthropicMessages, 429, "too many requests"));
  EXPECT_EQ(body["type"], "error");
  EXPECT_EQ(body["error"]["type"], "rate_limit_error");
  EXPECT_EQ(body["error"]["message"], "too many requests");
}

TEST(ErrorBodyTest, StatusPicksTheErrorType) {
  EXPECT_STREQ(error_type_for_status(ProxyProtocol::kOpenAIChat, 400), "invalid_request_error");
  EXPECT_STREQ(error_type_for_status(ProxyProtocol::kOpenAIChat, 413), "invalid_request_error");
  EXPECT_STREQ(error_type_for_status(ProxyProtocol::kAnthropicMessages, 413), "request_too_large");
  EXPECT_STREQ(error_type_for_status(ProxyProtocol::kOpenAIChat, 401), "authentication_error");
  EXPECT_STREQ(error_type_for_status(ProxyProtocol::kOpenAIChat, 404), "not_found_error");
  EXPECT_STREQ(error_type_for_status(ProxyProtocol::kOpenAIChat, 500), "api_error");
  EXPECT_STREQ(error_type_for_status(ProxyProtocol::kOpenAIChat, 502), "api_error");
  EXPECT_STREQ(error_type_for_status(ProxyProtocol::kOpenAIChat, 503), "api_error");
  EXPECT_STREQ(error_type_for_status(ProxyProtocol::kOpenAIChat, 529), "overloaded_error");
  EXPECT_STREQ(error_type_for_status(ProxyProtocol::kOpenAIChat, 504), "timeout_error");
}

// The variables joeyd reads the operator's keys from, as its refusals and README name them.
TEST(UpstreamProviderTest, OperatorKeyVariablesAreTheDocumentedNames) {
  EXPECT_EQ(operator_key_variable(UpstreamProvider::kOpenAI), "JOEYD_OPENAI_API_KEY");
  EXPECT_EQ(operator_key_variable(UpstreamProvider::kAnthropic), "JOEYD_ANTHROPIC_API_KEY");
  EXPECT_EQ(operator_key_variable(UpstreamProvider::kOpenRouter), "JOEYD_OPENROUTER_API_KEY");
}

TEST(ErrorBodyTest, InvalidUtf8MessageStillGivesJson) {
  const json body = parse_json(error_body(ProxyProtocol::kOpenAIChat, 502, "bad \xFF byte"));
  ASSERT_TRUE(body.is_object());
  EXPECT_TRUE(body["error"]["message"].is_string());
}

TEST(RequestCostTest, KnownModelIsPricedAndUnknownUsageOrModelIsNot) {
  const Result<llm::PriceTable> prices =
      llm::PriceTable::parse(R"({"models":{"m1":{"input":1,"output":2,"cache_read":0.5}}})");
  ASSERT_TRUE(prices.ok());
  MeteredUsage usage;
  usage.input_tokens = 1'000'000;
  usage.output_tokens = 1'000'000;
  usage.cache_read_tokens = 2'000'000;
  EXPECT_FALSE(request_cost(usage, *prices, "m1").has_value());  // not seen
  usage.seen = true;
  const std::optional<double> cost = request_cost(usage, *prices, "m1");
  ASSERT_TRUE(cost.has_value());
  EXPECT_DOUBLE_EQ(*cost, 1.0 + 2.0 + 1.0);
  EXPECT_FALSE(request_cost(usage, *prices, "unknown-model").has_value());
}

}  // namespace
}  // namespace joey::cloud
