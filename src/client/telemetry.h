// Anonymous telemetry in PostHog's capture format (privacy promise P4).
//
// Events are {event, distinct_id, properties, timestamp, uuid}; a background thread
// sends them in batches as POST {host}/batch/ with {api_key, batch: [...]}. The
// distinct_id is a random UUID kept in $JOEY_HOME/machine_id (0600) — never derived
// from the hardware or the user. What an event may say is decided by
// client/telemetry_events.h (allow-lists and scrubber); capture() applies it.
//
// Telemetry never blocks, slows or fails a task: capture() only enqueues; sending
// happens on the sender thread with short timeouts; after a failed send nothing more
// is sent this run. shutdown() (also run by the destructor) gives the sender a bounded
// time (exit_budget, 1.5 s by default) to send what is left, cancels the request in
// flight when the time is up, and appends whatever is unsent to the bounded on-disk
// queue $JOEY_HOME/telemetry_queue.jsonl (0600; at most kMaxQueuedEvents events and
// kMaxQueueBytes bytes, oldest dropped, rewritten atomically). The next run takes the
// queue over (reads it and removes it) and sends it.
//
// Off — the setting `telemetry` false (`joey config set telemetry off`),
// JOEY_TELEMETRY=0 or DO_NOT_TRACK=1 — means no request at all, no machine id created
// and the queue file deleted. The host comes from JOEY_TELEMETRY_HOST, else the
// setting telemetry_host (refused in workspace files by Settings), else
// kDefaultTelemetryHost; it must be https, or http to a loopback address.
//
// Files in $JOEY_HOME: machine_id, telemetry_queue.jsonl, telemetry_last.json (the
// last event sent, for `joey telemetry status`), telemetry_notice (the first-run
// notice was shown). All 0600.
//
// Thread-safety: capture() may be called from any thread; open(), shutdown() and the
// destructor from one.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/cancel.h"
#include "base/result.h"
#include "client/settings.h"
#include "llm/http_transport.h"

namespace joey::client {

// joey's public, write-only project key (PostHog's phc_ convention); it identifies the
// project, not the user.
inline constexpr std::string_view kTelemetryApiKey = "phc_joey_public_telemetry";
inline constexpr std::string_view kDefaultTelemetryHost = "https://telemetry.joey.dev";
inline constexpr size_t kMaxQueuedEvents = 1000;
inline constexpr size_t kMaxQueueBytes = 1 << 20;

inline constexpr std::string_view kMachineIdFile = "machine_id";
inline constexpr std::string_view kTelemetryQueueFile = "telemetry_queue.jsonl";
inline constexpr std::string_view kTelemetryLastFile = "telemetry_last.json";
inline constexpr std::string_view kTelemetryNoticeFile = "telemetry_notice";

// Whether telemetry is on, why, and where it goes.
struct TelemetryConfig {
  bool enabled = false;
  // Why: "on by default", "off: JOEY_TELEMETRY=0", "off: DO_NOT_TRACK=1",
  // "on: set in /home/me/.joey/config.toml:3", ...
  std::string reason;
  std::string host;         // no trailing '/'
  std::string host_origin;  // "default", "env JOEY_TELEMETRY_HOST", "<file>:<line>"
  // Non-empty when the host is refused (not https nor loopback http, credentials in
  // it): then nothing is sent, events stay queued.
  std::string host_problem;
};

// The variables telemetry reads beyond Settings (JOEY_TELEMETRY_HOST).
std::map<std::string, std::string> telemetry_environment();

TelemetryConfig resolve_telemetry_config(const Settings& settings,
                                         const std::map<std::string, std::string>& environment);

// A random version-4 UUID, lowercase, from the kernel's CSPRNG.
std::string new_uuid_v4();
bool is_uuid(std::string_view text);
// "2026-01-31T12:34:56.789Z".
std::string iso8601_utc_now();
bool is_iso8601_utc(std::string_view text);

// The stored machine id, or nullopt when there is none (or it is not a UUID).
std::optional<std::string> read_machine_id(const std::filesystem::path& home);

// Rebuilds an event from untrusted JSON (the queue file): event name allow-listed,
// properties sanitised, uuid and timestamp well-formed, distinct_id replaced by
// `machine_id`. nullopt when it cannot be made valid.
std::optional<nlohmann::json> sanitize_telemetry_event(const nlohmann::json& event,
                                                       const std::string& machine_id);

// The queue file's text → its events, each through sanitize_telemetry_event; lines
// that are not JSON or not a valid event are dropped. At most kMaxQueuedEvents (the
// newest).
std::vector<nlohmann::json> parse_telemetry_queue(std::string_view text,
                                                  const std::string& machine_id);
// Events → queue text (one JSON object a line), keeping the newest that fit
// kMaxQueuedEvents and kMaxQueueBytes.
std::string serialize_telemetry_queue(const std::vector<nlohmann::json>& events);
// The number of lines in the queue file (0 when absent); for status.
size_t telemetry_queue_length(const std::filesystem::path& home);

// The body of POST /batch/.
std::string telemetry_batch_body(const std::vector<nlohmann::json>& events);

// The first-run notice: what is collected, what never is, how to turn it off.
std::string telemetry_notice_text();

struct TelemetryOptions {
  std::chrono::milliseconds exit_budget{1500};
  // How long the sender waits for more events before sending a batch.
  std::chrono::milliseconds batch_delay{100};
  size_t max_batch = 100;
  llm::HttpTimeouts timeouts{std::chrono::milliseconds(1000), std::chrono::milliseconds(2000),
                             std::chrono::milliseconds(2000)};
  // Makes the transport the sender uses; default libcurl.
  std::function<std::unique_ptr<llm::HttpTransport>(const Cancellation*)> make_transport;
};

class Telemetry {
 public:
  // Never fails: when off, deletes the queue and returns a disabled instance; when the
  // machine id cannot be stored, returns a disabled one too (telemetry must not get in
  // the way). Starts the sender thread when on and the host is acceptable.
  static std::shared_ptr<Telemetry> open(const TelemetryConfig& config,
                                         const std::filesystem::path& home,
                                         TelemetryOptions options = {});
  // A disabled instance that touches nothing.
  static std::shared_ptr<Telemetry> disabled();

  ~Telemetry();
  Telemetry(const Telemetry&) = delete;
  Telemetry& operator=(const Telemetry&) = delete;

  bool enabled() const { return enabled_; }
  const std::string& machine_id() const { return machine_id_; }

  // Sanitises and enqueues `event` (a no-op when disabled or the name is not allowed).
  // Never blocks on the network.
  void capture(std::string_view event, const nlohmann::json& properties);

  // Once per $JOEY_HOME, when on: writes the notice to `err` and leaves a marker.
  // Returns whether it printed.
  bool show_first_run_notice(std::ostream& err);

  // Bounded flush, then the unsent rest goes to the queue file. Idempotent; capture()
  // after shutdown() is a no-op.
  void shutdown();

 private:
  Telemetry(TelemetryConfig config, std::filesystem::path home, TelemetryOptions options);
  void run_sender();
  // Sends one batch (the sender thread); true when the server took it.
  bool send(const std::vector<nlohmann::json>& batch);
  void persist_unsent(std::vector<nlohmann::json> unsent);
  // Takes the on-disk queue (and claims left by killed joeys) into pending_, keeping
  // it in this process's claim file until shutdown().
  void claim_queue();

  const TelemetryConfig config_;
  const std::filesystem::path home_;
  std::filesystem::path claim_;  // this process's claim file, once claimed
  const TelemetryOptions options_;
  bool enabled_ = false;
  std::string machine_id_;

  Cancellation cancel_sending_;  // requested when the exit budget runs out
  std::unique_ptr<llm::HttpTransport> transport_;
  std::thread sender_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<nlohmann::json> pending_;     // GUARDED_BY(mutex_)
  std::vector<nlohmann::json> in_flight_;  // GUARDED_BY(mutex_)
  bool stopping_ = false;                  // GUARDED_BY(mutex_)
  bool offline_ = false;                   // GUARDED_BY(mutex_): a send failed
  bool sender_done_ = true;                // GUARDED_BY(mutex_)
  bool shut_down_ = false;                 // GUARDED_BY(mutex_)
};

}  // namespace joey::client
