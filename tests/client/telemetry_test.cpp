#include "client/telemetry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/atomic_file.h"
#include "base/json.h"
#include "client/settings.h"
#include "client/telemetry_command.h"
#include "client/telemetry_events.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// What the fake telemetry server saw, shared with the test after the transport is gone.
struct Recorded {
  std::mutex mutex;
  std::vector<llm::HttpRequest> requests;
  int transports_made = 0;
};

enum class Behaviour { kAccept, kNetworkDown, kRefuse400, kHangUntilCancelled };

class FakeTransport final : public llm::HttpTransport {
 public:
  FakeTransport(std::shared_ptr<Recorded> recorded, Behaviour behaviour, const Cancellation* cancel)
      : recorded_(std::move(recorded)), behaviour_(behaviour), cancel_(cancel) {}

  Result<llm::HttpResponseHead> perform(const llm::HttpRequest& request, const llm::HttpTimeouts&,
                                        const llm::HttpCallbacks&) override {
    {
      std::lock_guard lock(recorded_->mutex);
      recorded_->requests.push_back(request);
    }
    llm::HttpResponseHead head;
    switch (behaviour_) {
      case Behaviour::kAccept:
        head.status = 200;
        return head;
      case Behaviour::kRefuse400:
        head.status = 400;
        return head;
      case Behaviour::kNetworkDown:
        return make_error(ErrorKind::kNetwork, "connection refused");
      case Behaviour::kHangUntilCancelled:
        while (!cancel_->requested()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return make_error(ErrorKind::kCancelled, "cancelled");
    }
    return head;
  }

 private:
  std::shared_ptr<Recorded> recorded_;
  Behaviour behaviour_;
  const Cancellation* cancel_;
};

class TelemetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "joey-telemetry-XXXXXX").string();
    root_ = mkdtemp(pattern.data());
    home_ = root_ / "home";
    fs::create_directories(home_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }

  static TelemetryConfig on_config() {
    TelemetryConfig config;
    config.enabled = true;
    config.reason = "on (the default)";
    config.host = "http://127.0.0.1:9";
    return config;
  }

  std::shared_ptr<Telemetry> open(Behaviour behaviour, TelemetryConfig config = on_config()) {
    TelemetryOptions options;
    options.batch_delay = std::chrono::milliseconds(0);
    options.exit_budget = std::chrono::milliseconds(200);
    options.make_transport = [recorded = recorded_, behaviour](const Cancellation* cancel) {
      recorded->transports_made++;
      return std::make_unique<FakeTransport>(recorded, behaviour, cancel);
    };
    return Telemetry::open(config, home_, options);
  }

  // Every event of every batch sent, after checking each body's envelope.
  std::vector<nlohmann::json> sent_events() {
    std::lock_guard lock(recorded_->mutex);
    std::vector<nlohmann::json> events;
    for (const auto& request : recorded_->requests) {
      const nlohmann::json body = parse_json(request.body);
      EXPECT_TRUE(body.is_object()) << request.body;
      EXPECT_EQ(body.value("api_key", ""), kTelemetryApiKey);
      if (!body.contains("batch") || !body["batch"].is_array()) continue;
      for (const auto& event : body["batch"]) events.push_back(event);
    }
    return events;
  }

  std::string all_bodies() {
    std::lock_guard lock(recorded_->mutex);
    std::string text;
    for (const auto& request : recorded_->requests) text += request.body + "\n";
    return text;
  }

  size_t request_count() {
    std::lock_guard lock(recorded_->mutex);
    return recorded_->requests.size();
  }

  static unsigned mode_of(const fs::path& path) {
    struct stat info {};
    if (stat(path.c_str(), &info) != 0) return 0;
    return info.st_mode & 0777;
  }

  fs::path root_, home_;
  std::shared_ptr<Recorded> recorded_ = std::make_shared<Recorded>();
};

// ---- configuration ----

TelemetryConfig config_from(const std::string& file_text,
                            const std::map<std::string, std::string>& environment) {
  Settings settings = Settings::defaults();
  EXPECT_TRUE(settings.apply_file_text(file_text, "config.toml", ConfigScope::kGlobal).ok());
  EXPECT_TRUE(settings.apply_environment(environment).ok());
  return resolve_telemetry_config(settings, environment);
}

TEST(TelemetryConfigTest, OnByDefaultWithTheDefaultHost) {
  const TelemetryConfig config = config_from("", {});
  EXPECT_TRUE(config.enabled);
  EXPECT_EQ(config.reason, "on (the default)");
  EXPECT_EQ(config.host, kDefaultTelemetryHost);
  EXPECT_EQ(config.host_problem, "");
}

TEST(TelemetryConfigTest, EachOfTheThreeWaysTurnsItOffAndSaysWhich) {
  const TelemetryConfig by_setting = config_from("telemetry = false\n", {});
  EXPECT_FALSE(by_setting.enabled);
  EXPECT_THAT(by_setting.reason, HasSubstr("config.toml:1"));
  const TelemetryConfig by_env = config_from("", {{"JOEY_TELEMETRY", "0"}});
  EXPECT_FALSE(by_env.enabled);
  EXPECT_THAT(by_env.reason, HasSubstr("JOEY_TELEMETRY"));
  const TelemetryConfig by_dnt = config_from("telemetry = true\n", {{"DO_NOT_TRACK", "1"}});
  EXPECT_FALSE(by_dnt.enabled);
  EXPECT_THAT(by_dnt.reason, HasSubstr("DO_NOT_TRACK=1"));
}

TEST(TelemetryConfigTest, EnvironmentHostWinsOverTheSettingAndLosesItsSlash) {
  const TelemetryConfig config = config_from("telemetry_host = 'https://ph.example.com'\n",
                                             {{"JOEY_TELEMETRY_HOST", "http://127.0.0.1:8080/"}});
  EXPECT_EQ(config.host, "http://127.0.0.1:8080");
  EXPECT_EQ(config.host_origin, "env JOEY_TELEMETRY_HOST");
  EXPECT_EQ(config.host_problem, "");
  EXPECT_EQ(config_from("telemetry_host = 'https://ph.example.com/'\n", {}).host,
            "https://ph.example.com");
}

TEST(TelemetryConfigTest, PlainHttpToARemoteHostAndCredentialsAreRefused) {
  EXPECT_THAT(config_from("", {{"JOEY_TELEMETRY_HOST", "http://ph.example.com"}}).host_problem,
              HasSubstr("https"));
  EXPECT_THAT(
      config_from("", {{"JOEY_TELEMETRY_HOST", "https://user:pw@ph.example.com"}}).host_problem,
      HasSubstr("credentials"));
  EXPECT_NE(config_from("", {{"JOEY_TELEMETRY_HOST", "ftp://x"}}).host_problem, "");
}

// ---- vocabulary and scrubber ----

TEST(TelemetryScrubberTest, AcceptsModelIdsVersionsAndSlugs) {
  for (const char* value : {"gpt-4o", "claude-sonnet-4-5", "claude-3-5-sonnet-20241022",
                            "llama3:8b", "0.1.0", "scripted-model-1", "qwen2.5-coder"}) {
    EXPECT_TRUE(telemetry_value_is_safe(value)) << value;
  }
}

TEST(TelemetryScrubberTest, AcceptsOpenRouterModelIdsButNotPaths) {
  for (const char* value : {"anthropic/claude-sonnet-4.5", "meta-llama/llama-3.1-70b-instruct",
                            "openai/gpt-4o:free", "x-ai/grok-4", "qwen2.5-coder"}) {
    EXPECT_TRUE(telemetry_model_is_safe(value)) << value;
  }
  for (const char* value :
       {"/home/me", "src/agent/x.cpp", "Users/me", "notes.txt/x", "a//b", "/gpt-4o", "openai/",
        "../etc", "vendor/sk-abc123def456", "home/me@example.com", "openai/two words"}) {
    EXPECT_FALSE(telemetry_model_is_safe(value)) << value;
  }
  const nlohmann::json clean = sanitize_telemetry_properties(
      "task_created", {{"model", "anthropic/claude-sonnet-4.5"}, {"provider", "openrouter"}});
  EXPECT_EQ(clean.value("model", ""), "anthropic/claude-sonnet-4.5");
}

TEST(TelemetryScrubberTest, DropsPathsUrlsEmailsKeysTokensAndCode) {
  for (const char* value : {"/home/me/project",
                            "src\\main.cpp",
                            "~/secrets",
                            "./build",
                            "notes.txt/x",
                            "https://user:pass@example.com",
                            "me@example.com",
                            "sk-abc123def456",
                            "sk-ant-api03-xyz",
                            "ghp_0123456789abcdefghijklmnopqrstuvwxyz",
                            "AKIAIOSFODNN7EXAMPLE",
                            "0123456789abcdef0123456789abcdef",
                            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
                            "aGVsbG8gd29ybGQgdGhpcyBpcyBiYXNlNjQ",
                            "int main() { return 0; }",
                            "a;b",
                            "line\nbreak",
                            "two words",
                            "",
                            "ft:gpt-4o:acme:custom:abc"}) {
    EXPECT_FALSE(telemetry_value_is_safe(value)) << value;
  }
  EXPECT_FALSE(telemetry_value_is_safe(std::string(65, 'a')));
}

TEST(TelemetryScrubberTest, PropertiesOutsideTheEventsAllowListAreDropped) {
  const nlohmann::json clean =
      sanitize_telemetry_properties("task_created", {{"provider", "anthropic"},
                                                     {"model", "claude-sonnet-4-5"},
                                                     {"mode", "code"},
                                                     {"path", "README"},
                                                     {"tool", "read_file"},
                                                     {"task", "do things"}});
  EXPECT_EQ(clean,
            (nlohmann::json{
                {"provider", "anthropic"}, {"model", "claude-sonnet-4-5"}, {"mode", "code"}}));
  EXPECT_EQ(sanitize_telemetry_properties("file_opened", {{"mode", "code"}}),
            nlohmann::json::object());
  EXPECT_EQ(sanitize_telemetry_properties("task_created", "not an object"),
            nlohmann::json::object());
}

TEST(TelemetryScrubberTest, EnumerationsHideCustomNamesAndCountsMustBeCounts) {
  const nlohmann::json tool = sanitize_telemetry_properties(
      "tool_used",
      {{"tool", "mcp--acme-internal--deploy"}, {"mode", "acme-secret"}, {"ok", "yes"}});
  EXPECT_EQ(tool, (nlohmann::json{{"tool", "mcp"}, {"mode", "custom"}}));
  EXPECT_EQ(sanitize_telemetry_properties("tool_used", {{"tool", "CANARY_tool"}})["tool"], "other");
  const nlohmann::json counts = sanitize_telemetry_properties(
      "task_completed", {{"duration_ms", -5}, {"input_tokens", 12}, {"output_tokens", "7"}});
  EXPECT_EQ(counts, (nlohmann::json{{"input_tokens", 12}}));
  EXPECT_EQ(sanitize_telemetry_properties("task_failed", {{"error_class", "Disk /x full"}}),
            (nlohmann::json{{"error_class", "other"}}));
  EXPECT_EQ(sanitize_telemetry_properties("task_created", {{"model", "/home/me/model.gguf"}}),
            nlohmann::json::object());
}

TEST(TelemetryIdsTest, UuidsAreVersion4AndTimestampsIso8601Utc) {
  const std::string uuid = new_uuid_v4();
  EXPECT_TRUE(is_uuid(uuid)) << uuid;
  EXPECT_EQ(uuid[14], '4');
  EXPECT_NE(std::string("89ab").find(uuid[19]), std::string::npos);
  EXPECT_NE(new_uuid_v4(), uuid);
  EXPECT_TRUE(is_iso8601_utc(iso8601_utc_now())) << iso8601_utc_now();
  EXPECT_TRUE(is_iso8601_utc("2026-01-31T12:34:56Z"));
  EXPECT_FALSE(is_iso8601_utc("2026-01-31 12:34:56Z"));
  EXPECT_FALSE(is_iso8601_utc("2026-01-31T12:34:56.Z"));
  EXPECT_FALSE(is_uuid("not-a-uuid"));
}

// ---- queue parsing ----

TEST(TelemetryQueueTest, GarbageLinesAreDroppedAndEventsAreSanitisedAgain) {
  const std::string good_uuid = new_uuid_v4();
  const std::string text =
      "not json\n"
      "{\"event\":\"task_created\"}\n"  // no uuid, no timestamp
      "[1,2,3]\n"
      "{\"event\":\"file_opened\",\"uuid\":\"" +
      new_uuid_v4() +
      "\",\"timestamp\":\"2026-01-01T00:00:00Z\"}\n"
      "{\"event\":\"task_created\",\"distinct_id\":\"someone@example.com\",\"uuid\":\"" +
      good_uuid +
      "\",\"timestamp\":\"2026-01-01T00:00:00.123Z\",\"properties\":{\"mode\":\"code\","
      "\"path\":\"/etc/passwd\",\"model\":\"sk-live-123456789\"}}\n"
      "{\"event\":\n";
  const auto events = parse_telemetry_queue(text, "11111111-2222-4333-8444-555555555555");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["uuid"], good_uuid);
  EXPECT_EQ(events[0]["distinct_id"], "11111111-2222-4333-8444-555555555555");
  EXPECT_EQ(events[0]["properties"]["mode"], "code");
  EXPECT_FALSE(events[0]["properties"].contains("path"));
  EXPECT_FALSE(events[0]["properties"].contains("model"));
  EXPECT_EQ(events[0]["properties"]["$process_person_profile"], false);
}

TEST(TelemetryQueueTest, SerializingKeepsTheNewestWithinTheCaps) {
  std::vector<nlohmann::json> events;
  for (size_t i = 0; i < kMaxQueuedEvents + 50; ++i) {
    events.push_back({{"event", "tool_used"},
                      {"uuid", new_uuid_v4()},
                      {"timestamp", "2026-01-01T00:00:00Z"},
                      {"properties", {{"duration_ms", i}}}});
  }
  const std::string text = serialize_telemetry_queue(events);
  EXPECT_LE(text.size(), kMaxQueueBytes);
  const auto read = parse_telemetry_queue(text, "m");
  ASSERT_EQ(read.size(), kMaxQueuedEvents);
  EXPECT_EQ(read.back()["uuid"], events.back()["uuid"]);
  EXPECT_EQ(read.front()["uuid"], events[50]["uuid"]);
}

// ---- sending ----

TEST_F(TelemetryTest, CapturedEventsArePostedAsAPostHogBatch) {
  auto telemetry = open(Behaviour::kAccept);
  ASSERT_TRUE(telemetry->enabled());
  telemetry->capture("task_created",
                     {{"provider", "openai"}, {"model", "gpt-4o"}, {"mode", "code"}});
  telemetry->capture("tool_used", {{"tool", "read_file"}, {"ok", true}});
  telemetry->shutdown();

  {
    std::lock_guard lock(recorded_->mutex);
    ASSERT_FALSE(recorded_->requests.empty());
    EXPECT_EQ(recorded_->requests[0].method, "POST");
    EXPECT_EQ(recorded_->requests[0].url, "http://127.0.0.1:9/batch/");
  }
  const auto events = sent_events();
  ASSERT_EQ(events.size(), 2u);
  const auto machine_id = read_machine_id(home_);
  ASSERT_TRUE(machine_id);
  EXPECT_EQ(mode_of(home_ / kMachineIdFile), 0600u);
  for (const auto& event : events) {
    EXPECT_EQ(event["distinct_id"], *machine_id);
    EXPECT_TRUE(is_uuid(event["uuid"].get<std::string>()));
    EXPECT_TRUE(is_iso8601_utc(event["timestamp"].get<std::string>()));
    EXPECT_EQ(event["properties"]["$process_person_profile"], false);
    EXPECT_EQ(event["properties"]["$geoip_disable"], true);
    EXPECT_EQ(event["properties"]["$lib"], "joey");
    EXPECT_EQ(event["properties"]["app_version"], JOEY_VERSION);
  }
  EXPECT_EQ(events[0]["event"], "task_created");
  EXPECT_EQ(events[0]["properties"]["model"], "gpt-4o");
  EXPECT_NE(events[0]["uuid"], events[1]["uuid"]);
  // The last event sent is kept for `joey telemetry status`.
  auto last = read_file_to_string(home_ / kTelemetryLastFile);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(parse_json(*last)["uuid"], events[1]["uuid"]);
  EXPECT_FALSE(fs::exists(home_ / kTelemetryQueueFile));
}

TEST_F(TelemetryTest, TheMachineIdIsKeptAcrossRuns) {
  open(Behaviour::kAccept)->capture("task_created", {});
  const auto first = read_machine_id(home_);
  ASSERT_TRUE(first);
  auto again = open(Behaviour::kAccept);
  EXPECT_EQ(again->machine_id(), *first);
}

TEST_F(TelemetryTest, UnknownEventsAreNeverSent) {
  auto telemetry = open(Behaviour::kAccept);
  telemetry->capture("file_opened", {{"mode", "code"}});
  telemetry->shutdown();
  EXPECT_EQ(request_count(), 0u);
}

TEST_F(TelemetryTest, OffMeansNoRequestNoMachineIdAndTheQueueDeleted) {
  ASSERT_TRUE(write_file_atomically(home_ / kTelemetryQueueFile, "{}\n").ok());
  TelemetryConfig config = on_config();
  config.enabled = false;
  auto telemetry = open(Behaviour::kAccept, config);
  EXPECT_FALSE(telemetry->enabled());
  telemetry->capture("task_created", {{"mode", "code"}});
  std::ostringstream err;
  EXPECT_FALSE(telemetry->show_first_run_notice(err));
  telemetry->shutdown();
  EXPECT_EQ(recorded_->transports_made, 0);
  EXPECT_EQ(request_count(), 0u);
  EXPECT_FALSE(fs::exists(home_ / kMachineIdFile));
  EXPECT_FALSE(fs::exists(home_ / kTelemetryQueueFile));
  EXPECT_EQ(err.str(), "");
}

TEST_F(TelemetryTest, OfflineEventsAreQueuedAndSentByTheNextRun) {
  auto offline = open(Behaviour::kNetworkDown);
  offline->capture("task_created", {{"mode", "code"}});
  offline->capture("task_completed", {{"duration_ms", 5}});
  offline->shutdown();
  ASSERT_TRUE(fs::exists(home_ / kTelemetryQueueFile));
  EXPECT_EQ(mode_of(home_ / kTelemetryQueueFile), 0600u);
  EXPECT_EQ(telemetry_queue_length(home_), 2u);
  EXPECT_EQ(request_count(), 1u);  // no retries once a send failed
  const size_t tried = sent_events().size();

  auto online = open(Behaviour::kAccept);
  online->shutdown();
  const auto events = sent_events();
  ASSERT_EQ(events.size(), tried + 2);
  EXPECT_EQ(events[tried]["event"], "task_created");
  EXPECT_EQ(events[tried + 1]["event"], "task_completed");
  EXPECT_FALSE(fs::exists(home_ / kTelemetryQueueFile));
}

TEST_F(TelemetryTest, AHangingServerCannotHoldUpExitAndTheEventsStayQueued) {
  auto telemetry = open(Behaviour::kHangUntilCancelled);
  telemetry->capture("task_created", {{"mode", "code"}});
  telemetry->shutdown();  // returns once the exit budget is spent
  EXPECT_EQ(telemetry_queue_length(home_), 1u);
}

// A joey killed after it took the queue over leaves its claim file; the next joey adopts
// it, so the queued events are sent rather than lost.
TEST_F(TelemetryTest, EventsClaimedByAKilledJoeyAreSentByTheNextOne) {
  auto offline = open(Behaviour::kNetworkDown);
  offline->capture("task_created", {{"mode", "code"}});
  offline->capture("task_completed", {{"duration_ms", 5}});
  offline->shutdown();
  ASSERT_EQ(telemetry_queue_length(home_), 2u);

  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Claims the queue, then dies without shutdown(), like kill -9.
    auto claimed = open(Behaviour::kHangUntilCancelled);
    _exit(fs::exists(home_ / kTelemetryQueueFile) ? 1 : 0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child did not claim the queue";
  EXPECT_FALSE(fs::exists(home_ / kTelemetryQueueFile));
  const fs::path left = home_ / ("telemetry_queue.claimed-" + std::to_string(child) + ".jsonl");
  ASSERT_TRUE(fs::exists(left));
  EXPECT_EQ(mode_of(left), 0600u);

  const size_t tried = sent_events().size();
  auto next = open(Behaviour::kAccept);
  next->shutdown();
  const auto events = sent_events();
  ASSERT_EQ(events.size(), tried + 2);
  EXPECT_EQ(events[tried]["event"], "task_created");
  EXPECT_FALSE(fs::exists(left));
  for (const auto& entry : fs::directory_iterator(home_)) {
    EXPECT_FALSE(entry.path().filename().string().starts_with("telemetry_queue")) << entry.path();
  }
}

// The claim of a joey that is still running is its own: another joey leaves it alone,
// so the same events are not sent twice.
TEST_F(TelemetryTest, AClaimOfARunningJoeyIsNotSentTwice) {
  const pid_t parent = getppid();  // alive for the whole test
  const fs::path theirs = home_ / ("telemetry_queue.claimed-" + std::to_string(parent) + ".jsonl");
  auto offline = open(Behaviour::kNetworkDown);
  offline->capture("task_created", {{"mode", "code"}});
  offline->shutdown();
  fs::rename(home_ / kTelemetryQueueFile, theirs);
  auto other = open(Behaviour::kAccept);
  other->shutdown();
  EXPECT_EQ(sent_events().size(), 1u);  // only the offline run's failed attempt
  EXPECT_TRUE(fs::exists(theirs));
}

TEST_F(TelemetryTest, ABatchTheServerRefusesIsDroppedNotRetriedForever) {
  auto telemetry = open(Behaviour::kRefuse400);
  telemetry->capture("task_created", {{"mode", "code"}});
  telemetry->shutdown();
  EXPECT_EQ(request_count(), 1u);
  EXPECT_FALSE(fs::exists(home_ / kTelemetryQueueFile));
}

TEST_F(TelemetryTest, ARefusedHostSendsNothingAndTheQueueIsBounded) {
  TelemetryConfig config = on_config();
  config.host = "http://telemetry.example.com";
  config.host_problem = "must use https";
  auto telemetry = open(Behaviour::kAccept, config);
  for (size_t i = 0; i < kMaxQueuedEvents + 20; ++i) telemetry->capture("tool_used", {});
  telemetry->shutdown();
  EXPECT_EQ(request_count(), 0u);
  EXPECT_EQ(telemetry_queue_length(home_), kMaxQueuedEvents);
}

TEST_F(TelemetryTest, TheFirstRunNoticeIsShownOncePerHome) {
  auto telemetry = open(Behaviour::kAccept);
  std::ostringstream first, second;
  EXPECT_TRUE(telemetry->show_first_run_notice(first));
  EXPECT_THAT(first.str(), HasSubstr("never sends code, prompts"));
  EXPECT_THAT(first.str(), HasSubstr("joey config set telemetry off"));
  EXPECT_THAT(first.str(), HasSubstr("JOEY_TELEMETRY=0"));
  EXPECT_THAT(first.str(), HasSubstr("DO_NOT_TRACK=1"));
  EXPECT_FALSE(telemetry->show_first_run_notice(second));
  EXPECT_EQ(second.str(), "");
}

// ---- the EventSink decorator ----

class RecordingSink final : public agent::EventSink {
 public:
  std::vector<std::string> calls;
  void task_started(const std::string& id, const std::string&, const std::string&,
                    const std::string&) override {
    calls.push_back("task_started " + id);
  }
  void text(std::string_view piece) override { calls.push_back("text " + std::string(piece)); }
  void tool_call(const std::string& id, const std::string&, const std::string&) override {
    calls.push_back("tool_call " + id);
  }
  void tool_result(const std::string& id, const std::string&, bool, const std::string&) override {
    calls.push_back("tool_result " + id);
  }
  void command_output(std::string_view) override { calls.push_back("command_output"); }
  void approval_required(const std::string&, const std::string&, const std::string&) override {
    calls.push_back("approval_required");
  }
  void usage(const agent::UsageTotals&) override { calls.push_back("usage"); }
  void condensed(int64_t, int64_t) override { calls.push_back("condensed"); }
  void notice(const std::string& message) override { calls.push_back("notice " + message); }
  void error(const std::string& kind, const std::string&) override {
    calls.push_back("error " + kind);
  }
  void completion(const std::string&) override { calls.push_back("completion"); }
};

TEST_F(TelemetryTest, TheDecoratorForwardsEverythingAndDerivesAllowListedEvents) {
  auto telemetry = open(Behaviour::kAccept);
  auto recording = std::make_unique<RecordingSink>();
  RecordingSink* inner = recording.get();
  TelemetryEvents events(std::move(recording), telemetry);
  const std::string canary = "CANARY-7f3a9c";

  events.task_started("t1", "code", "anthropic", "claude-sonnet-4-5");
  events.text("thinking about " + canary);
  events.tool_call("c1", "read_file", "{\"path\":\"" + canary + ".txt\"}");
  events.tool_result("c1", "read_file", true, canary + " contents");
  events.tool_call("c2", "apply_diff", "{}");
  events.tool_result("c2", "apply_diff", false, "no match for " + canary);
  events.tool_call("c3", "switch_mode",
                   "{\"mode_slug\":\"architect\",\"reason\":\"" + canary + "\"}");
  events.tool_result("c3", "switch_mode", true, "switched");
  events.command_output(canary);
  events.approval_required("write_to_file", "write", canary);
  agent::UsageTotals totals;
  totals.usage.input_tokens = 120;
  totals.usage.output_tokens = 30;
  events.usage(totals);
  events.condensed(9000, 2000);
  events.notice(canary);
  events.completion("did " + canary);
  events.capture_checkpoint_restored();
  events.error("network", "could not reach " + canary);  // outside a task now
  telemetry->shutdown();

  EXPECT_EQ(inner->calls.size(), 15u);
  EXPECT_EQ(inner->calls.front(), "task_started t1");
  EXPECT_EQ(inner->calls.back(), "error network");

  std::vector<std::string> names;
  for (const auto& event : sent_events()) names.push_back(event["event"]);
  EXPECT_EQ(names,
            (std::vector<std::string>{"task_created", "tool_used", "tool_used", "diff_failed",
                                      "tool_used", "mode_switched", "context_condensed",
                                      "task_completed", "checkpoint_restored", "error"}));
  const auto sent = sent_events();
  EXPECT_EQ(sent[5]["properties"]["from_mode"], "code");
  EXPECT_EQ(sent[5]["properties"]["mode"], "architect");
  EXPECT_EQ(sent[7]["properties"]["input_tokens"], 120);
  EXPECT_EQ(sent[7]["properties"]["mode"], "architect");
  EXPECT_TRUE(sent[7]["properties"].contains("duration_ms"));
  EXPECT_EQ(sent[9]["properties"]["error_class"], "network");
  EXPECT_THAT(all_bodies(), Not(HasSubstr("CANARY")));
  for (const auto& event : sent) {
    for (const auto& [key, value] : event["properties"].items()) {
      if (key.starts_with("$")) continue;
      const auto& allowed = telemetry_event_properties(event["event"].get<std::string>());
      EXPECT_NE(std::find(allowed.begin(), allowed.end(), key), allowed.end()) << key;
    }
  }
}

TEST_F(TelemetryTest, ATaskErrorBecomesTaskFailedWithTheKindNotTheMessage) {
  auto telemetry = open(Behaviour::kAccept);
  TelemetryEvents events(std::make_unique<RecordingSink>(), telemetry);
  events.task_started("t1", "code", "openai", "gpt-4o");
  events.error("rate_limited",
               "429 Too Many Requests from api.openai.com (req-canary-51c3e) for "
               "sk-secret-key-123456");
  telemetry->shutdown();
  const auto sent = sent_events();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1]["event"], "task_failed");
  EXPECT_EQ(sent[1]["properties"]["error_class"], "rate_limited");
  // No part of the message. (Not "429" itself: random uuids and millisecond timestamps
  // hold those three digits in ~3% of runs.)
  for (const char* part :
       {"sk-secret", "req-canary-51c3e", "Too Many Requests", "api.openai.com"}) {
    EXPECT_THAT(all_bodies(), Not(HasSubstr(part)));
  }
}

TEST_F(TelemetryTest, ANullTelemetryOnlyForwards) {
  auto recording = std::make_unique<RecordingSink>();
  RecordingSink* inner = recording.get();
  TelemetryEvents events(std::move(recording), nullptr);
  events.task_started("t1", "code", "openai", "gpt-4o");
  events.completion("done");
  EXPECT_EQ(inner->calls, (std::vector<std::string>{"task_started t1", "completion"}));
}

// ---- joey telemetry status ----

class TelemetryCommandTest : public TelemetryTest {
 protected:
  void SetUp() override {
    TelemetryTest::SetUp();
    workspace_ = root_ / "workspace";
    fs::create_directories(workspace_);
    for (const char* name :
         {"JOEY_HOME", "JOEY_TELEMETRY", "DO_NOT_TRACK", "JOEY_TELEMETRY_HOST", "JOEY_PROVIDER",
          "JOEY_MODEL", "JOEY_BASE_URL", "JOEY_MODE", "JOEY_SANDBOX"}) {
      const char* old = getenv(name);
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      unsetenv(name);
    }
    setenv("JOEY_HOME", home_.c_str(), 1);
  }
  void TearDown() override {
    for (const auto& [name, value] : saved_) {
      if (value) {
        setenv(name.c_str(), value->c_str(), 1);
      } else {
        unsetenv(name.c_str());
      }
    }
    TelemetryTest::TearDown();
  }

  std::pair<int, std::string> status() {
    CLI::App app("joey");
    int exit_code = -1;
    std::ostringstream out, err;
    register_telemetry_command(app, exit_code, out, err);
    std::vector<std::string> args = {"telemetry", "status", "--cwd", workspace_.string()};
    std::reverse(args.begin(), args.end());
    app.parse(args);
    return {exit_code, out.str() + err.str()};
  }

  fs::path workspace_;
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST_F(TelemetryCommandTest, StatusBeforeAnyRunCreatesNothing) {
  const auto [code, text] = status();
  EXPECT_EQ(code, 0) << text;
  EXPECT_THAT(text, HasSubstr("telemetry: on (the default)"));
  EXPECT_THAT(text, HasSubstr(std::string("host: ") + std::string(kDefaultTelemetryHost)));
  EXPECT_THAT(text, HasSubstr("machine id: none"));
  EXPECT_THAT(text, HasSubstr("queued events: 0"));
  EXPECT_THAT(text, HasSubstr("last event sent: none"));
  EXPECT_FALSE(fs::exists(home_ / kMachineIdFile));
}

TEST_F(TelemetryCommandTest, StatusShowsWhyItIsOffAndTheLastEventInFull) {
  auto telemetry = open(Behaviour::kAccept);
  telemetry->capture("task_created", {{"mode", "code"}});
  telemetry->shutdown();
  setenv("DO_NOT_TRACK", "1", 1);
  const auto [code, text] = status();
  EXPECT_EQ(code, 0) << text;
  EXPECT_THAT(text, HasSubstr("telemetry: off (DO_NOT_TRACK=1)"));
  EXPECT_THAT(text, HasSubstr("machine id: " + telemetry->machine_id()));
  EXPECT_THAT(text, HasSubstr("\"event\": \"task_created\""));
  EXPECT_THAT(text, HasSubstr("\"$geoip_disable\": true"));
}

TEST_F(TelemetryCommandTest, StatusFailsOnASettingsFileThatDoesNotParse) {
  ASSERT_TRUE(write_file_atomically(home_ / "config.toml", "telemetry = [\n").ok());
  const auto [code, text] = status();
  EXPECT_EQ(code, 1);
  EXPECT_THAT(text, HasSubstr("joey: error: "));
}

}  // namespace
}  // namespace joey::client
