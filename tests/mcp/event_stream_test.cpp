// The SSE message reader both HTTP transports share (mcp/event_stream.h): messages
// delivered in order, data that is not JSON-RPC skipped with a reason, an oversized
// event refused naming the server, event ids kept for Last-Event-ID.
#include "mcp/event_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace joey::mcp {
namespace {

struct Recorded {
  std::vector<Message> messages;
  std::vector<std::string> skipped;
  std::vector<std::string> other_events;
};

SseMessageReader recording_reader(Recorded& recorded) {
  SseMessageHandlers handlers;
  handlers.on_message = [&recorded](Message message) {
    recorded.messages.push_back(std::move(message));
  };
  handlers.on_skipped = [&recorded](const std::string& reason) {
    recorded.skipped.push_back(reason);
  };
  handlers.on_other_event = [&recorded](const llm::SseEvent& event) {
    recorded.other_events.push_back(event.event + ":" + event.data);
    return ok_status();
  };
  return SseMessageReader("fake", std::move(handlers));
}

TEST(SseMessageReader, DeliversMessagesAndSkipsDataThatIsNotJsonRpc) {
  Recorded recorded;
  SseMessageReader reader = recording_reader(recorded);
  const std::string stream =
      "id: 7\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/"
      "list_changed\"}\n\n"
      "data: this is not JSON-RPC\n\n"
      "event: endpoint\ndata: /messages\n\n"
      "id: 9\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n";
  // Byte by byte: events split across chunks anywhere.
  for (char byte : stream) ASSERT_TRUE(reader.feed(std::string_view(&byte, 1)).ok());
  ASSERT_EQ(recorded.messages.size(), 2u);
  EXPECT_EQ(recorded.messages[0].method, "notifications/tools/list_changed");
  EXPECT_EQ(recorded.messages[1].type, Message::Type::kResponse);
  EXPECT_EQ(reader.delivered(), 2u);
  EXPECT_EQ(reader.skipped(), 1u);
  ASSERT_EQ(recorded.skipped.size(), 1u);
  EXPECT_EQ(recorded.skipped[0], reader.last_skip_reason());
  EXPECT_FALSE(reader.last_skip_reason().empty());
  EXPECT_EQ(recorded.other_events, std::vector<std::string>{"endpoint:/messages"});
  EXPECT_EQ(reader.last_event_id(), "9");
}

TEST(SseMessageReader, OversizedEventIsRefusedNamingTheServer) {
  Recorded recorded;
  SseMessageReader reader = recording_reader(recorded);
  ASSERT_TRUE(reader.feed("id: 1\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"a\"}\n\n").ok());
  ASSERT_TRUE(reader.feed("id: 2\ndata: ").ok());
  const std::string chunk(1 << 20, 'x');
  Status fed = ok_status();
  for (int i = 0; i < 20 && fed.ok(); ++i) fed = reader.feed(chunk);
  ASSERT_FALSE(fed.ok());
  EXPECT_EQ(fed.error().kind, ErrorKind::kProtocol);
  EXPECT_EQ(fed.error().message, "the MCP server fake sent an event larger than 16 MiB");
  EXPECT_EQ(recorded.messages.size(), 1u);
  EXPECT_EQ(reader.last_event_id(), "1");  // the cut event's id was never confirmed
}

TEST(SseMessageReader, AnOtherEventHandlersErrorIsPassedOn) {
  SseMessageHandlers handlers;
  handlers.on_other_event = [](const llm::SseEvent&) {
    return Status(make_error(ErrorKind::kProtocol, "bad endpoint"));
  };
  SseMessageReader reader("fake", std::move(handlers));
  Status fed = reader.feed("event: endpoint\ndata: //elsewhere\n\n");
  ASSERT_FALSE(fed.ok());
  EXPECT_EQ(fed.error().message, "bad endpoint");
}

}  // namespace
}  // namespace joey::mcp
