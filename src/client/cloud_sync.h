// Uploading task history to the joey Cloud (issue 7; privacy promises P2, P7, P13).
//
// CloudSync is an agent::TaskRecorder the runtime runs beside the local history
// recorder. While the collection gate (client/cloud_settings.h) is on it turns each
// message into wire messages — redacted first (redact_message, P2), roles user,
// assistant, tool_call ("NAME ARGUMENTS"), tool_result ("NAME[ (error)]\nCONTENT"), each
// content cut to kMaxWireContentBytes with a visible marker — and groups them per task
// into batches. A batch is closed at task end, at kBatchMessages wire messages, or when
// its first message is older than batch_age; a closed batch becomes one outbox file
// (client/cloud_outbox.h). The first batch of a task in a run carries its mode, model
// and title (the first line of the task text, redacted, cut to 200 bytes). After each
// model request the usage delta goes to POST /api/tasks/{id}/usage through the same outbox,
// except for tasks whose provider is "cloud": the Cloud's proxy records their usage.
// Batch ids are "{task}-b{N}-{run}" and request ids "{task}-r{N}-{run}", where run is
// random per process: a resumed task starts counting again, and its ids must not be
// taken by the server for repeats of the earlier run's.
//
// A background sender thread first fetches the gate (GET /api/agent/settings), then
// claims the outbox files left by earlier runs for this server and user, and posts
// every file in order: 2xx (a duplicate included) deletes it; 429, 5xx and network
// errors retry with capped exponential backoff honouring Retry-After; 403
// collection_disabled deletes it and stops uploading for the run; 401 stops sending and
// keeps the files; any other 4xx deletes the file with one log line. It refreshes the
// gate when it is older than an hour. While the gate is not yet known, messages wait in
// memory; when it turns out off or unknown (signed out, server down and no recent
// cache) they are dropped and nothing is written or sent. With the gate off, the
// outbox files of this server and user are deleted too (their owner turned collection off).
//
// shutdown() (also the destructor) closes every batch, gives the sender exit_budget
// (2 s) to send what it can, cancels the request in flight when the time is up, and
// hands unsent files back to the outbox for the next run.
//
// Never logs or prints message content; requests go through CloudClient (egress
// purpose "cloud", token only in the Authorization header).
//
// Thread-safety: the recorder methods are called from one thread (the task loop's);
// the sender is internal; shutdown() and the destructor from the owning thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/task_recorder.h"
#include "base/cancel.h"
#include "base/result.h"
#include "client/cloud_client.h"
#include "client/cloud_outbox.h"
#include "client/cloud_settings.h"
#include "llm/conversation.h"
#include "llm/http_transport.h"

namespace joey::client {

inline constexpr size_t kMaxWireContentBytes = 64 << 10;
inline constexpr size_t kMaxTitleBytes = 200;
inline constexpr size_t kBatchMessages = 50;

struct WireMessage {
  int64_t ts = 0;  // unix ms
  std::string role;
  std::string content;
};

// `message` (redacted here) as the API's messages, contents cut to kMaxWireContentBytes.
std::vector<WireMessage> wire_messages(const llm::Message& message, int64_t ts);
// `content` when it fits `max_bytes`, else its UTF-8-safe start and a marker
// "\n[… cut by joey: N bytes in all]" so that the whole is at most `max_bytes`.
std::string cut_content(const std::string& content, size_t max_bytes = kMaxWireContentBytes);
// The first line of the task text, redacted, at most kMaxTitleBytes.
std::string task_title(const std::string& task);

struct CloudSyncOptions {
  std::chrono::milliseconds exit_budget{2000};
  std::chrono::milliseconds batch_age{2000};
  size_t batch_messages = kBatchMessages;
  std::chrono::milliseconds retry_base{1000};
  std::chrono::milliseconds retry_cap{60'000};
  size_t max_files = kOutboxMaxFiles;
  uint64_t max_bytes = kOutboxMaxBytes;
  // The sender's transport; default libcurl. The cancellation is requested when the exit
  // budget runs out.
  std::function<std::unique_ptr<llm::HttpTransport>(const Cancellation*)> make_transport;
  std::function<int64_t()> now_ms;  // default unix_millis_now
  std::FILE* err = stderr;
  pid_t pid = 0;  // the claim owner; 0: this process (tests simulate other runs)
};

class CloudSync : public agent::TaskRecorder {
 public:
  // Never fails. Signed out (`credentials` nullopt): a recorder that does nothing.
  static std::unique_ptr<CloudSync> open(const std::filesystem::path& home,
                                         std::optional<CloudCredentials> credentials,
                                         CloudSyncOptions options = {});
  ~CloudSync() override;
  CloudSync(const CloudSync&) = delete;
  CloudSync& operator=(const CloudSync&) = delete;

  void task_started(const agent::TaskInfo& info) override;
  void message_added(const std::string& task_id, const llm::Message& message) override;
  void usage_updated(const std::string& task_id, const agent::UsageTotals& totals,
                     int requests) override;
  void task_finished(const std::string& task_id, agent::TaskStatus status,
                     const std::string& detail) override;

  // The gate as the sender last decided it (kUnknown until the first fetch ends).
  Collection collection() const;
  // Waits (at most `limit`) until the gate is decided and every file this process holds
  // is sent or sending has stopped. True when that happened. For tests and the
  // interactive session's idle moments; never needed for correctness.
  bool wait_until_idle(std::chrono::milliseconds limit);
  // Bounded drain, then unsent files go back to the outbox. Idempotent.
  void shutdown();

 private:
  struct TaskState {
    std::string mode;
    std::string model;
    std::string title;
    bool metadata_sent = false;
    int next_batch = 1;
    nlohmann::json batch = nlohmann::json::array();
    size_t batch_bytes = 0;
    int64_t batch_started_ms = 0;
    agent::UsageTotals reported;  // usage already queued
    // Run with --provider cloud: the proxy records each request's usage itself, so the
    // agent's report would count it twice.
    bool metered_by_proxy = false;
  };
  enum class SendOutcome { kDone, kRetry, kStop };

  CloudSync(std::filesystem::path home, std::optional<CloudCredentials> credentials,
            CloudSyncOptions options);
  void run_sender();
  void resolve_gate(Collection collection, const std::string& user_id);  // REQUIRES mutex_
  void close_batch(const std::string& task_id, TaskState& task);         // REQUIRES mutex_
  void close_aged_batches();                                             // REQUIRES mutex_
  void queue_entry(OutboxEntry entry);                                   // REQUIRES mutex_
  void write_entry(OutboxEntry entry);                                   // REQUIRES mutex_
  void drop_everything_unsent();                                         // REQUIRES mutex_
  bool accepting() const;                                                // REQUIRES mutex_
  SendOutcome send(CloudConnection& connection, const std::string& name, int attempt,
                   std::chrono::milliseconds& retry_after);

  const std::filesystem::path home_;
  const std::optional<CloudCredentials> credentials_;
  const CloudSyncOptions options_;
  const std::string run_id_;
  Outbox outbox_;

  Cancellation cancel_sending_;
  std::thread sender_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  Collection collection_ = Collection::kUnknown;  // GUARDED_BY(mutex_)
  bool gate_decided_ = false;                     // GUARDED_BY(mutex_)
  std::string user_id_;                           // GUARDED_BY(mutex_)
  bool stopped_ = false;                          // GUARDED_BY(mutex_): 401/403, no more sends
  std::map<std::string, TaskState> tasks_;        // GUARDED_BY(mutex_)
  std::vector<OutboxEntry> waiting_for_gate_;     // GUARDED_BY(mutex_)
  std::deque<std::string> queue_;                 // GUARDED_BY(mutex_): claimed files, in order
  bool sending_ = false;                          // GUARDED_BY(mutex_)
  bool stopping_ = false;                         // GUARDED_BY(mutex_)
  bool sender_done_ = true;                       // GUARDED_BY(mutex_)
  bool shut_down_ = false;                        // GUARDED_BY(mutex_)
};

}  // namespace joey::client
