// The MCP client over streamable HTTP: against server-everything (streamableHttp) and
// a strict fake server (tests/mcp/data/fake_http_server.js), both on 127.0.0.1 —
// POSTs and their answers, and the GET stream for server-initiated messages.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "llm/egress_log.h"
#include "mcp/client.h"
#include "mcp/streamable_http_transport.h"
#include "mcp_test_support.h"
#include "node_http_server.h"

namespace joey::mcp {
namespace {

using nlohmann::json;
using testing::everything_script;
using testing::free_loopback_port;
using testing::NodeHttpServer;
using testing::source_path;

class StreamableHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    egress_path_ = std::filesystem::temp_directory_path() /
                   ("joey-mcp-egress-" + std::to_string(std::random_device()()) + ".log");
    egress_ = std::make_shared<llm::EgressLog>(egress_path_);
    factory_ = [egress = egress_](const Cancellation* cancellation) {
      llm::TransportOptions options;
      options.egress_log = egress;
      return llm::make_curl_transport(cancellation, options);
    };
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove(egress_path_, ignored);
  }

  ServerConfig http_config(const std::string& name, const std::string& url) const {
    ServerConfig config;
    config.name = name;
    config.kind = ServerConfig::Kind::kStreamableHttp;
    config.url = url;
    config.timeout = std::chrono::milliseconds(20'000);
    return config;
  }

  std::string egress_text() const {
    std::ifstream in(egress_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::filesystem::path egress_path_;
  std::shared_ptr<llm::EgressLog> egress_;
  HttpTransportFactory factory_;
};

#define JOEY_START_EVERYTHING_HTTP(server)                                                      \
  JOEY_REQUIRE_NODE_SCRIPT(node, everything_script());                                          \
  NodeHttpServer server;                                                                        \
  ASSERT_TRUE(server.start(node, {everything_script(), "streamableHttp"}, "listening on port")) \
      << server.output()

TEST_F(StreamableHttp, EverythingNegotiatesAndEchoes) {
  JOEY_START_EVERYTHING_HTTP(server);
  Result<std::unique_ptr<Client>> client =
      Client::connect(http_config("everything-http", server.url()), factory_);
  ASSERT_TRUE(client.ok()) << client.error().message;
  EXPECT_EQ((*client)->protocol_version(), "2025-06-18");
  EXPECT_EQ((*client)->process_id(), -1);
  Result<std::vector<Tool>> tools = (*client)->list_tools();
  ASSERT_TRUE(tools.ok()) << tools.error().message;
  EXPECT_GE(tools->size(), 5u);
  Result<ToolResult> echoed = (*client)->call_tool("echo", {{"message", "over http"}});
  ASSERT_TRUE(echoed.ok()) << echoed.error().message;
  EXPECT_NE(echoed->content.at(0).text.find("over http"), std::string::npos);
  EXPECT_TRUE((*client)->ping().ok());
}

TEST_F(StreamableHttp, EverythingImageErrorResultAndResources) {
  JOEY_START_EVERYTHING_HTTP(server);
  Result<std::unique_ptr<Client>> client =
      Client::connect(http_config("everything-http", server.url()), factory_);
  ASSERT_TRUE(client.ok()) << client.error().message;
  Result<ToolResult> image = (*client)->call_tool("get-tiny-image", json::object());
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_TRUE(std::any_of(image->content.begin(), image->content.end(), [](const Content& c) {
    return c.type == "image" && c.data.rfind("iVBORw0KGgo", 0) == 0;
  }));
  Result<ToolResult> invalid = (*client)->call_tool("echo", json::object());
  ASSERT_TRUE(invalid.ok()) << invalid.error().message;
  EXPECT_TRUE(invalid->is_error);
  Result<std::vector<Resource>> resources = (*client)->list_resources();
  ASSERT_TRUE(resources.ok()) << resources.error().message;
  ASSERT_FALSE(resources->empty());
  Result<std::vector<ResourceContents>> contents = (*client)->read_resource(resources->at(0).uri);
  ASSERT_TRUE(contents.ok()) << contents.error().message;
  ASSERT_FALSE(contents->empty());
}

// server-everything asks for roots/list on its GET stream (a request of its own, not
// part of any answer): the get-roots-list tool waits for that answer, so it hangs
// unless joey opened the stream and answered there.
TEST_F(StreamableHttp, EverythingAsksForRootsOnTheGetStreamAndIsAnswered) {
  JOEY_START_EVERYTHING_HTTP(server);
  Result<std::unique_ptr<Client>> client =
      Client::connect(http_config("everything-http", server.url()), factory_);
  ASSERT_TRUE(client.ok()) << client.error().message;
  EXPECT_TRUE(server.wait_for_output("Establishing new SSE stream for session")) << server.output();
  Result<ToolResult> roots = (*client)->call_tool("get-roots-list", json::object());
  ASSERT_TRUE(roots.ok()) << roots.error().message;
  EXPECT_NE(roots->content.at(0).text.find("no roots are currently configured"), std::string::npos)
      << roots->content.at(0).text;
}

TEST_F(StreamableHttp, ShutdownDeletesTheSessionAndRequestsAreInTheEgressLog) {
  JOEY_START_EVERYTHING_HTTP(server);
  Result<std::unique_ptr<Client>> client =
      Client::connect(http_config("everything-http", server.url()), factory_);
  ASSERT_TRUE(client.ok()) << client.error().message;
  ASSERT_TRUE(server.wait_for_output("Establishing new SSE stream for session")) << server.output();
  client = make_error(ErrorKind::kInternal, "released");  // destroys the client
  EXPECT_TRUE(server.wait_for_output("Received session termination request")) << server.output();
  const std::string egress = egress_text();
  EXPECT_NE(egress.find(R"("method":"POST","purpose":"mcp")"), std::string::npos) << egress;
  EXPECT_NE(egress.find(R"("method":"DELETE","purpose":"mcp")"), std::string::npos) << egress;
  EXPECT_NE(egress.find(R"("method":"GET","purpose":"mcp")"), std::string::npos) << egress;
}

class FakeHttp : public StreamableHttp {};

#define JOEY_START_FAKE_HTTP(server)                                                        \
  JOEY_REQUIRE_NODE_SCRIPT(node, source_path("tests/mcp/data/fake_http_server.js"));        \
  NodeHttpServer server;                                                                    \
  ASSERT_TRUE(                                                                              \
      server.start(node, {source_path("tests/mcp/data/fake_http_server.js")}, "listening")) \
      << server.output()

TEST_F(FakeHttp, SseAnswerIsReadUntilTheResponseEvenIfTheStreamStaysOpen) {
  JOEY_START_FAKE_HTTP(server);
  Result<std::unique_ptr<Client>> client =
      Client::connect(http_config("fake-http", server.url()), factory_);
  ASSERT_TRUE(client.ok()) << client.error().message;
  Result<std::vector<Tool>> tools = (*client)->list_tools();
  ASSERT_TRUE(tools.ok()) << tools.error().message;
  ASSERT_EQ(tools->size(), 1u);
  EXPECT_EQ(tools->at(0).name, "echo");
}

TEST_F(FakeHttp, ExpiredSessionIsReinitializedOnce) {
  JOEY_START_FAKE_HTTP(server);
  Result<std::unique_ptr<Client>> client =
      Client::connect(http_config("fake-http", server.url()), factory_);
  ASSERT_TRUE(client.ok()) << client.error().message;
  ASSERT_TRUE((*client)->call_tool("expire", json::object()).ok());
  Result<ToolResult> echoed = (*client)->call_tool("echo", {{"message", "still here"}});
  ASSERT_TRUE(echoed.ok()) << echoed.error().message;
  EXPECT_EQ(echoed->content.at(0).text, "still here");
  Result<ToolResult> stats = (*client)->call_tool("stats", json::object());
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(json::parse(stats->content.at(0).text)["initializations"], 2);
}

TEST_F(FakeHttp, ServerRequestOnTheAnswerStreamIsAnswered) {
  JOEY_START_FAKE_HTTP(server);
  Result<std::unique_ptr<Client>> client =
      Client::connect(http_config("fake-http", server.url()), factory_);
  ASSERT_TRUE(client.ok()) << client.error().message;
  Result<ToolResult> asked = (*client)->call_tool("ask", json::object());
  ASSERT_TRUE(asked.ok()) << asked.error().message;
  const json reply = json::parse(asked->content.at(0).text);
  EXPECT_EQ(reply["result"], json::object());
}

TEST_F(FakeHttp, ShutdownDeletesTheSession) {
  JOEY_START_FAKE_HTTP(server);
  {
    Result<std::unique_ptr<Client>> first =
        Client::connect(http_config("fake-http", server.url()), factory_);
    ASSERT_TRUE(first.ok()) << first.error().message;
  }
  Result<std::unique_ptr<Client>> second =
      Client::connect(http_config("fake-http", server.url()), factory_);
  ASSERT_TRUE(second.ok()) << second.error().message;
  Result<ToolResult> stats = (*second)->call_tool("stats", json::object());
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(json::parse(stats->content.at(0).text)["deletes"], 1);
}

// Polls `condition` every 50 ms, for at most `limit`.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds limit = std::chrono::milliseconds(10'000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

// The fake server's `stats` (see fake_http_server.js), null when the call failed.
json fake_stats(Client& client) {
  Result<ToolResult> stats = client.call_tool("stats", json::object());
  return stats.ok() ? json::parse(stats->content.at(0).text) : json();
}

bool get_stream_open(Client& client) { return fake_stats(client).value("gets", 0) >= 1; }

// Calls one of the fake's GET-stream tools; true when a GET stream was open to send on.
bool sent_on_get_stream(Client& client, const std::string& tool, const json& arguments = {}) {
  Result<ToolResult> called =
      client.call_tool(tool, arguments.is_null() ? json::object() : arguments);
  return called.ok() && json::parse(called->content.at(0).text).value("sent", false);
}

TEST_F(FakeHttp, ListChangedOnTheGetStreamIsNoticed) {
  JOEY_START_FAKE_HTTP(server);
  Result<std::unique_ptr<Client>> client =
      Client::connect(http_config("fake-http", server.url()), factory_);
  ASSERT_TRUE(client.ok()) << client.error().message;
  ASSERT_TRUE(eventually([&] { return get_stream_open(**client); })) << server.output();
  EXPECT_FALSE((*client)->tools_changed());
  ASSERT_TRUE(sent_on_get_stream(**client, "announce", {{"add", "added"}}));
  EXPECT_TRUE(eventually([&] { return (*client)->tools_changed(); }));
  Result<std::vector<Tool>> tools = (*client)->list_tools();
  ASSERT_TRUE(tools.ok()) << tools.error().message;
  ASSERT_EQ(tools->size(), 2u);
  EXPECT_EQ(tools->at(1).name, "added");
}

TEST_F(FakeHttp, ServerRequestOnTheGetStreamIsAnswered) {
  JOEY_START_FAKE_HTTP(server);
  Result<std::unique_ptr<Client>> client =
      Client::connect(http_config("fake-http", server.url()), factory_);
  ASSERT_TRUE(client.ok()) << client.error().message;
  ASSERT_TRUE(eventually([&] { return get_stream_open(**client); })) << server.output();
  ASSERT_TRUE(sent_on_get_stream(**client, "ask-get"));
  json stats;
  ASSERT_TRUE(eventually([&] {
    stats = fake_stats(**client);
    return stats.contains("getAnswers") && stats["getAnswers"].size() == 1;
  })) << stats.dump();
  EXPECT_EQ(stats["getAnswers"][0]["result"], json::object()) << stats.dump();
  EXPECT_EQ(stats["getAnswers"][0]["id"].get<std::string>().rfind("get-ask-", 0), 0u);
}

TEST_F(FakeHttp, DroppedGetStreamIsReopened) {
  JOEY_START_FAKE_HTTP(server);
  Result<std::unique_ptr<Client>> client =
      Client::connect(http_config("fake-http", server.url()), factory_);
  ASSERT_TRUE(client.ok()) << client.error().message;
  ASSERT_TRUE(eventually([&] { return get_stream_open(**client); })) << server.output();
  ASSERT_TRUE(sent_on_get_stream(**client, "drop"));
  // A new stream opens after the backoff, and delivers as the first did.
  ASSERT_TRUE(eventually([&] { return sent_on_get_stream(**client, "announce"); }));
  EXPECT_TRUE(eventually([&] { return (*client)->tools_changed(); }));
  EXPECT_EQ(fake_stats(**client).value("gets", 0), 2);
  EXPECT_TRUE((*client)->alive());
}

TEST_F(FakeHttp, ServerWithoutAGetStreamIsAskedOnceAndTheSessionGoesOn) {
  JOEY_REQUIRE_NODE_SCRIPT(node, source_path("tests/mcp/data/fake_http_server.js"));
  NodeHttpServer server;
  ASSERT_TRUE(server.start(node, {source_path("tests/mcp/data/fake_http_server.js"), "--no-get"},
                           "listening"))
      << server.output();
  Result<std::unique_ptr<Client>> client =
      Client::connect(http_config("fake-http", server.url()), factory_);
  ASSERT_TRUE(client.ok()) << client.error().message;
  ASSERT_TRUE(eventually([&] { return get_stream_open(**client); })) << server.output();
  // Longer than the first two reconnect delays (0.5 s, 1 s): a retry would show.
  std::this_thread::sleep_for(std::chrono::milliseconds(2'000));
  EXPECT_EQ(fake_stats(**client).value("gets", 0), 1);
  EXPECT_TRUE((*client)->alive());
  Result<ToolResult> echoed = (*client)->call_tool("echo", {{"message", "no stream needed"}});
  ASSERT_TRUE(echoed.ok()) << echoed.error().message;
  EXPECT_EQ(echoed->content.at(0).text, "no stream needed");
}

TEST_F(FakeHttp, ClientEndsPromptlyWhileItsGetStreamIsSilent) {
  JOEY_START_FAKE_HTTP(server);
  Result<std::unique_ptr<Client>> client =
      Client::connect(http_config("fake-http", server.url()), factory_);
  ASSERT_TRUE(client.ok()) << client.error().message;
  ASSERT_TRUE(eventually([&] { return get_stream_open(**client); })) << server.output();
  const auto started = std::chrono::steady_clock::now();
  client = make_error(ErrorKind::kInternal, "released");  // destroys the client
  // The stream's idle limit is 10 minutes: only its cancellation ends it this soon.
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15));
  const std::string egress = egress_text();
  EXPECT_NE(egress.find(R"("method":"GET","purpose":"mcp")"), std::string::npos) << egress;
}

// A StreamableHttpTransport driven by hand — initialize, initialized, tools/call —
// keeping every message it delivers, for what a Client does not show: the GET
// stream's statistics and the raw notifications.
class HandDrivenSession {
 public:
  HandDrivenSession(ServerConfig config, HttpTransportFactory factory)
      : transport_(std::move(config), std::move(factory)) {}

  Status open() {
    TransportHandlers handlers;
    handlers.on_message = [this](Message message) {
      std::lock_guard lock(mutex_);
      messages_.push_back(std::move(message));
    };
    TRY(transport_.start(std::move(handlers)));
    const json params = {{"protocolVersion", "2025-06-18"},
                         {"capabilities", json::object()},
                         {"clientInfo", {{"name", "joey-test"}, {"version", "1"}}}};
    TRY(transport_.send(make_request(RequestId(int64_t{0}), "initialize", params),
                        RequestId(int64_t{0}), deadline(), nullptr));
    transport_.set_protocol_version("2025-06-18");
    TRY(transport_.send(make_notification("notifications/initialized", json()), std::nullopt,
                        deadline(), nullptr));
    transport_.on_initialized();
    return ok_status();
  }

  // The text of a tool's first content item.
  Result<std::string> call(const std::string& tool, const json& arguments = json::object()) {
    const int64_t id = next_id_++;
    TRY(transport_.send(
        make_request(RequestId(id), "tools/call", {{"name", tool}, {"arguments", arguments}}),
        RequestId(id), deadline(), nullptr));
    std::lock_guard lock(mutex_);
    for (const Message& message : messages_) {
      if (message.id && *message.id == RequestId(id) && message.type == Message::Type::kResponse) {
        return message.result.value(json::json_pointer("/content/0/text"), std::string());
      }
    }
    return make_error(ErrorKind::kProtocol, "no answer to " + tool);
  }

  json stats() {
    Result<std::string> text = call("stats");
    return text.ok() ? json::parse(*text) : json();
  }

  size_t notifications(const std::string& method) {
    std::lock_guard lock(mutex_);
    return static_cast<size_t>(
        std::count_if(messages_.begin(), messages_.end(), [&](const Message& message) {
          return message.type == Message::Type::kNotification && message.method == method;
        }));
  }

  StreamableHttpTransport& transport() { return transport_; }

 private:
  static Clock::time_point deadline() { return Clock::now() + std::chrono::seconds(20); }

  StreamableHttpTransport transport_;
  std::mutex mutex_;
  std::vector<Message> messages_;
  int64_t next_id_ = 1;
};

constexpr const char* kListChanged = "notifications/tools/list_changed";

TEST_F(FakeHttp, GarbageOnTheGetStreamIsSkippedAndTheStreamGoesOn) {
  JOEY_START_FAKE_HTTP(server);
  HandDrivenSession session(http_config("fake-http", server.url()), factory_);
  ASSERT_TRUE(session.open().ok());
  ASSERT_TRUE(eventually([&] { return session.stats().value("gets", 0) >= 1; }));
  ASSERT_EQ(session.call("garbage").value_or(""), R"({"sent":true})");
  // The list_changed after the garbage arrives on the same stream.
  ASSERT_TRUE(eventually([&] { return session.notifications(kListChanged) == 1; }));
  const EventStreamStats stats = session.transport().event_stream_stats();
  EXPECT_EQ(stats.skipped, 1u);
  EXPECT_NE(stats.last_skip_reason.find("JSON"), std::string::npos) << stats.last_skip_reason;
  EXPECT_EQ(stats.requests, 1);
  EXPECT_TRUE(session.transport().alive());
  EXPECT_EQ(session.call("echo", {{"message", "still fine"}}).value_or(""), "still fine");
}

TEST_F(FakeHttp, OversizedEventDropsTheGetStreamWhichResumesFromTheLastEventId) {
  JOEY_START_FAKE_HTTP(server);
  HandDrivenSession session(http_config("fake-http", server.url()), factory_);
  ASSERT_TRUE(session.open().ok());
  ASSERT_TRUE(eventually([&] { return session.stats().value("gets", 0) >= 1; }));
  ASSERT_EQ(session.call("announce").value_or(""), R"({"sent":true})");  // event id 1
  ASSERT_TRUE(eventually([&] { return session.notifications(kListChanged) == 1; }));
  ASSERT_EQ(session.call("oversized").value_or(""), R"({"sent":true})");  // event id 2
  // The fake greets a stream resumed with Last-Event-ID with another list_changed.
  ASSERT_TRUE(eventually([&] { return session.notifications(kListChanged) == 2; },
                         std::chrono::milliseconds(30'000)))
      << session.transport().event_stream_stats().last_error;
  const EventStreamStats stats = session.transport().event_stream_stats();
  EXPECT_NE(stats.last_error.find("sent an event larger than 16 MiB"), std::string::npos)
      << stats.last_error;
  const json fake = session.stats();
  ASSERT_GE(fake["getLastEventIds"].size(), 2u) << fake.dump();
  EXPECT_TRUE(fake["getLastEventIds"][0].is_null()) << fake.dump();
  EXPECT_EQ(fake["getLastEventIds"].back(), "1") << fake.dump();
  EXPECT_TRUE(session.transport().alive());
  EXPECT_EQ(session.call("echo", {{"message", "still fine"}}).value_or(""), "still fine");
}

TEST_F(FakeHttp, NotOfferedGetStreamIsRecordedAsSuch) {
  JOEY_REQUIRE_NODE_SCRIPT(node, source_path("tests/mcp/data/fake_http_server.js"));
  NodeHttpServer server;
  ASSERT_TRUE(server.start(node, {source_path("tests/mcp/data/fake_http_server.js"), "--no-get"},
                           "listening"))
      << server.output();
  HandDrivenSession session(http_config("fake-http", server.url()), factory_);
  ASSERT_TRUE(session.open().ok());
  ASSERT_TRUE(eventually([&] { return session.transport().event_stream_stats().not_offered; }));
  const EventStreamStats stats = session.transport().event_stream_stats();
  EXPECT_EQ(stats.requests, 1);
  EXPECT_NE(stats.last_error.find("does not offer a GET stream (HTTP 405)"), std::string::npos)
      << stats.last_error;
  // A new session (after the old one ended) does not ask again.
  session.transport().reset_session();
  session.transport().on_initialized();
  EXPECT_EQ(session.transport().event_stream_stats().requests, 1);
}

TEST_F(FakeHttp, UnreachableServerFailsToConnect) {
  const int port = free_loopback_port();
  ASSERT_GT(port, 0);
  ServerConfig config = http_config("nobody", "http://127.0.0.1:" + std::to_string(port) + "/mcp");
  Result<std::unique_ptr<Client>> client = Client::connect(config, factory_);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().kind, ErrorKind::kNetwork);
  EXPECT_NE(client.error().message.find("the MCP server nobody"), std::string::npos)
      << client.error().message;
}

}  // namespace
}  // namespace joey::mcp
