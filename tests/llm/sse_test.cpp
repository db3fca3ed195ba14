#include "llm/sse.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace joey::llm {
namespace {

struct Collected {
  std::vector<SseEvent> events;
  Status status;
};

std::function<Status(const SseEvent&)> collect_into(std::vector<SseEvent>& events) {
  return [&events](const SseEvent& event) {
    events.push_back(event);
    return ok_status();
  };
}

// Feeds `pieces` one after another into a fresh parser.
Collected parse(const std::vector<std::string>& pieces, SseParser& parser) {
  Collected collected;
  for (const std::string& piece : pieces) {
    collected.status = parser.feed(piece, collect_into(collected.events));
    if (!collected.status.ok()) break;
  }
  return collected;
}

Collected parse(const std::vector<std::string>& pieces) {
  SseParser parser;
  return parse(pieces, parser);
}

TEST(SseParser, DispatchesAtBlankLineWithDefaultTypeMessage) {
  const Collected got = parse({"data: hello\n\n"});
  ASSERT_TRUE(got.status.ok());
  ASSERT_EQ(got.events.size(), 1u);
  EXPECT_EQ(got.events[0].event, "message");
  EXPECT_EQ(got.events[0].data, "hello");
  EXPECT_EQ(got.events[0].id, "");
}

TEST(SseParser, UsesEventFieldAsType) {
  const Collected got = parse({"event: message_start\ndata: {}\n\n"});
  ASSERT_EQ(got.events.size(), 1u);
  EXPECT_EQ(got.events[0].event, "message_start");
  EXPECT_EQ(got.events[0].data, "{}");
}

TEST(SseParser, JoinsDataLinesWithNewline) {
  const Collected got = parse({"data: first\ndata:second\ndata\n\n"});
  ASSERT_EQ(got.events.size(), 1u);
  EXPECT_EQ(got.events[0].data, "first\nsecond\n");
}

TEST(SseParser, StripsExactlyOneSpaceAfterColon) {
  const Collected got = parse({"data:  two spaces\n\ndata:none\n\n"});
  ASSERT_EQ(got.events.size(), 2u);
  EXPECT_EQ(got.events[0].data, " two spaces");
  EXPECT_EQ(got.events[1].data, "none");
}

TEST(SseParser, IgnoresCommentsAndUnknownFields) {
  const Collected got =
      parse({": OPENROUTER PROCESSING\n\n:keep-alive\nretry: 10\nfoo: bar\ndata: x\n\n"});
  ASSERT_EQ(got.events.size(), 1u);
  EXPECT_EQ(got.events[0].data, "x");
}

TEST(SseParser, EventWithoutDataIsNotDispatched) {
  const Collected got = parse({"event: ping\n\ndata: after\n\n"});
  ASSERT_EQ(got.events.size(), 1u);
  EXPECT_EQ(got.events[0].event, "message");  // the type does not leak into the next event
  EXPECT_EQ(got.events[0].data, "after");
}

TEST(SseParser, AcceptsCrLfAndLoneCrLineEnds) {
  const Collected got = parse({"data: a\r\n\r\ndata: b\r\rdata: c\n\n"});
  ASSERT_EQ(got.events.size(), 3u);
  EXPECT_EQ(got.events[0].data, "a");
  EXPECT_EQ(got.events[1].data, "b");
  EXPECT_EQ(got.events[2].data, "c");
}

TEST(SseParser, CrLfSplitAcrossFeedsCountsAsOneLineEnd) {
  // Were "\r" and "\n" counted separately, "data: a" would be dispatched at the "\n".
  const Collected got = parse({"data: a\r", "\ndata: b\r", "\n\r", "\n"});
  ASSERT_EQ(got.events.size(), 1u);
  EXPECT_EQ(got.events[0].data, "a\nb");
}

TEST(SseParser, LoneCrAtEndOfFeedThenAnotherCrIsABlankLine) {
  const Collected got = parse({"data: a\r", "\r"});
  ASSERT_EQ(got.events.size(), 1u);
  EXPECT_EQ(got.events[0].data, "a");
}

TEST(SseParser, FinalEventWithoutBlankLineIsHeldBackAsPartial) {
  SseParser parser;
  const Collected got = parse({"data: one\n\ndata: two\n"}, parser);
  ASSERT_EQ(got.events.size(), 1u);
  EXPECT_TRUE(parser.has_partial_event());

  SseParser unterminated_line;
  EXPECT_TRUE(parse({"data: one"}, unterminated_line).events.empty());
  EXPECT_TRUE(unterminated_line.has_partial_event());
}

TEST(SseParser, NoPartialEventAfterCompleteEventsAndComments) {
  SseParser parser;
  const Collected got = parse({"data: one\n\n: keep-alive\n"}, parser);
  ASSERT_EQ(got.events.size(), 1u);
  EXPECT_FALSE(parser.has_partial_event());
}

TEST(SseParser, IdPersistsUntilChanged) {
  const Collected got = parse({"id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n"});
  ASSERT_EQ(got.events.size(), 3u);
  EXPECT_EQ(got.events[0].id, "7");
  EXPECT_EQ(got.events[1].id, "7");
  EXPECT_EQ(got.events[2].id, "");
}

TEST(SseParser, SkipsByteOrderMarkSplitAcrossFeeds) {
  const Collected got = parse({"\xEF",
                               "\xBB\xBF"
                               "data: x\n\n"});
  ASSERT_EQ(got.events.size(), 1u);
  EXPECT_EQ(got.events[0].data, "x");
}

TEST(SseParser, ByteByByteFeedGivesTheSameEvents) {
  const std::string stream =
      "event: a\r\ndata: 1\r\ndata: 2\r\n\r\n: c\rdata: 3\r\rid: 9\ndata: 4\n\n";
  const Collected whole = parse({stream});
  std::vector<std::string> bytes;
  for (const char c : stream) bytes.emplace_back(1, c);
  const Collected split = parse(bytes);
  ASSERT_EQ(whole.events.size(), 3u);
  ASSERT_EQ(split.events.size(), whole.events.size());
  for (size_t i = 0; i < whole.events.size(); ++i) {
    EXPECT_EQ(split.events[i].event, whole.events[i].event);
    EXPECT_EQ(split.events[i].data, whole.events[i].data);
    EXPECT_EQ(split.events[i].id, whole.events[i].id);
  }
  EXPECT_EQ(whole.events[0].data, "1\n2");
  EXPECT_EQ(whole.events[2].id, "9");
}

TEST(SseParser, EventLargerThanLimitIsProtocolError) {
  SseParser parser(16);
  const Collected got = parse({"data: 0123456789\n", "data: 0123456789\n\n"}, parser);
  ASSERT_FALSE(got.status.ok());
  EXPECT_EQ(got.status.error().kind, ErrorKind::kProtocol);
  EXPECT_TRUE(got.events.empty());
}

TEST(SseParser, OverlongLineWithoutEndIsProtocolError) {
  SseParser parser(16);
  const Collected got = parse({"data: 01234567", "89abcdef"}, parser);
  ASSERT_FALSE(got.status.ok());
  EXPECT_EQ(got.status.error().kind, ErrorKind::kProtocol);
}

TEST(SseParser, EventsUpToTheLimitPass) {
  SseParser parser(16);
  const Collected got = parse({"data: 0123456789\n\ndata: 0123456789\n\n"}, parser);
  ASSERT_TRUE(got.status.ok());
  EXPECT_EQ(got.events.size(), 2u);
}

TEST(SseParser, CallbackErrorStopsTheFeed) {
  SseParser parser;
  int calls = 0;
  const Status status = parser.feed("data: 1\n\ndata: 2\n\n", [&calls](const SseEvent&) -> Status {
    ++calls;
    return make_error(ErrorKind::kCancelled, "stop");
  });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind, ErrorKind::kCancelled);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace joey::llm
