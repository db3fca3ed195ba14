#include "client/cloud_sync.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include "base/ids.h"
#include "base/log.h"
#include "base/redact.h"
#include "base/strings.h"
#include "client/history_recorder.h"

namespace joey::client {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Per batch on the wire: the API takes up to 8 MiB; stay well below.
constexpr size_t kMaxBatchBytes = 4 << 20;
// Messages kept in memory while the gate is being fetched, per task, and closed
// batches waiting for it.
constexpr size_t kMaxWaitingEntries = 1000;
constexpr std::chrono::minutes kMaxRetryAfter{15};
// How often an idle sender looks at the gate's age.
constexpr std::chrono::seconds kIdleWake{30};

json usage_delta(const agent::UsageTotals& now, const agent::UsageTotals& before) {
  json body = {
      {"input_tokens", std::max<int64_t>(0, now.usage.input_tokens - before.usage.input_tokens)},
      {"output_tokens", std::max<int64_t>(0, now.usage.output_tokens - before.usage.output_tokens)},
      {"cache_read_tokens",
       std::max<int64_t>(0, now.usage.cache_read_tokens - before.usage.cache_read_tokens)},
      {"cache_write_tokens",
       std::max<int64_t>(0, now.usage.cache_write_tokens - before.usage.cache_write_tokens)}};
  if (now.cost_usd) body["cost_usd"] = std::max(0.0, *now.cost_usd - before.cost_usd.value_or(0));
  return body;
}

// Retry-After in seconds (the HTTP-date form is treated as absent).
std::chrono::milliseconds retry_after_header(const std::string& value) {
  if (value.empty() || value.size() > 9) return std::chrono::milliseconds(0);
  long seconds = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::chrono::milliseconds(0);
    seconds = seconds * 10 + (c - '0');
  }
  return std::min<std::chrono::milliseconds>(std::chrono::seconds(seconds), kMaxRetryAfter);
}

}  // namespace

std::string cut_content(const std::string& content, size_t max_bytes) {
  if (content.size() <= max_bytes) return content;
  const std::string marker =
      "\n[… cut by joey: " + std::to_string(content.size()) + " bytes in all]";
  const size_t keep = max_bytes > marker.size() ? max_bytes - marker.size() : 0;
  return std::string(utf8_prefix(content, keep)) + marker;
}

std::vector<WireMessage> wire_messages(const llm::Message& original, int64_t ts) {
  const llm::Message message = redact_message(original);
  std::vector<WireMessage> out;
  const bool user = message.role == llm::Role::kUser;
  for (const llm::ToolResult& result : message.tool_results) {
    out.push_back({ts, "tool_result",
                   cut_content(result.tool_name + (result.is_error ? " (error)" : "") + "\n" +
                               result.content)});
  }
  if (!message.text.empty())
    out.push_back({ts, user ? "user" : "assistant", cut_content(message.text)});
  for (const llm::ToolCall& call : message.tool_calls) {
    out.push_back({ts, "tool_call", cut_content(call.name + " " + call.arguments)});
  }
  return out;
}

std::string task_title(const std::string& task) {
  const std::string redacted = redact(trim(task));
  const std::string first_line = redacted.substr(0, redacted.find('\n'));
  return std::string(utf8_prefix(trim(first_line), kMaxTitleBytes));
}

// ---- CloudSync ----

CloudSync::CloudSync(std::filesystem::path home, std::optional<CloudCredentials> credentials,
                     CloudSyncOptions options)
    : home_(std::move(home)),
      credentials_(std::move(credentials)),
      options_(std::move(options)),
      run_id_(random_hex(4)),
      outbox_(cloud_state_dir(home_) / "outbox", options_.pid ? options_.pid : ::getpid(),
              options_.max_files, options_.max_bytes, options_.err) {}

std::unique_ptr<CloudSync> CloudSync::open(const std::filesystem::path& home,
                                           std::optional<CloudCredentials> credentials,
                                           CloudSyncOptions options) {
  if (!options.now_ms) options.now_ms = unix_millis_now;
  std::unique_ptr<CloudSync> sync(new CloudSync(home, std::move(credentials), std::move(options)));
  if (!sync->credentials_) {
    sync->gate_decided_ = true;  // signed out: unknown, nothing is uploaded
    return sync;
  }
  sync->sender_done_ = false;
  sync->sender_ = std::thread([raw = sync.get()] { raw->run_sender(); });
  return sync;
}

CloudSync::~CloudSync() { shutdown(); }

bool CloudSync::accepting() const {
  return credentials_ && !stopped_ && !shut_down_ &&
         (!gate_decided_ || collection_ == Collection::kOn);
}

Collection CloudSync::collection() const {
  std::lock_guard lock(mutex_);
  return collection_;
}

void CloudSync::task_started(const agent::TaskInfo& info) {
  std::lock_guard lock(mutex_);
  if (!accepting() || !is_wire_id(info.task_id)) return;
  TaskState& task = tasks_[info.task_id];
  task.mode = info.mode;
  task.model = info.model;
  task.title = task_title(info.task);
  task.metered_by_proxy = info.provider == "cloud";
}

void CloudSync::message_added(const std::string& task_id, const llm::Message& message) {
  std::lock_guard lock(mutex_);
  if (!accepting() || !is_wire_id(task_id)) return;
  TaskState& task = tasks_[task_id];
  for (WireMessage& wire : wire_messages(message, options_.now_ms())) {
    if (task.batch.empty()) task.batch_started_ms = wire.ts;
    task.batch_bytes += wire.content.size() + 64;
    task.batch.push_back(
        {{"ts", wire.ts}, {"role", wire.role}, {"content", std::move(wire.content)}});
    if (task.batch.size() >= options_.batch_messages || task.batch_bytes >= kMaxBatchBytes) {
      close_batch(task_id, task);
    }
  }
  close_aged_batches();
  changed_.notify_all();
}

void CloudSync::usage_updated(const std::string& task_id, const agent::UsageTotals& totals,
                              int requests) {
  std::lock_guard lock(mutex_);
  if (!accepting() || !is_wire_id(task_id)) return;
  TaskState& task = tasks_[task_id];
  if (task.model.empty()) return;  // the API needs the model; task_started names it
  if (task.metered_by_proxy) return;
  OutboxEntry entry;
  entry.task_id = task_id;
  entry.kind = "usage";
  entry.id = task_id + "-r" + std::to_string(requests) + "-" + run_id_;
  if (!is_wire_id(entry.id)) return;
  entry.body = usage_delta(totals, task.reported);
  entry.body["request_id"] = entry.id;
  entry.body["ts"] = options_.now_ms();
  entry.body["model"] = task.model;
  task.reported = totals;
  queue_entry(std::move(entry));
  changed_.notify_all();
}

void CloudSync::task_finished(const std::string& task_id, agent::TaskStatus, const std::string&) {
  std::lock_guard lock(mutex_);
  auto found = tasks_.find(task_id);
  if (found == tasks_.end()) return;
  if (accepting()) close_batch(task_id, found->second);
  tasks_.erase(found);
  changed_.notify_all();
}

void CloudSync::close_batch(const std::string& task_id, TaskState& task) {
  if (task.batch.empty()) return;
  OutboxEntry entry;
  entry.task_id = task_id;
  entry.kind = "messages";
  entry.id = task_id + "-b" + std::to_string(task.next_batch++) + "-" + run_id_;
  entry.body = {{"batch_id", entry.id}, {"messages", std::move(task.batch)}};
  if (!task.metadata_sent) {
    task.metadata_sent = true;
    if (!task.mode.empty()) entry.body["mode"] = task.mode;
    if (!task.model.empty()) entry.body["model"] = task.model;
    if (!task.title.empty()) entry.body["title"] = task.title;
  }
  task.batch = json::array();
  task.batch_bytes = 0;
  if (is_wire_id(entry.id)) queue_entry(std::move(entry));
}

void CloudSync::close_aged_batches() {
  const int64_t now = options_.now_ms();
  for (auto& [task_id, task] : tasks_) {
    if (!task.batch.empty() && now - task.batch_started_ms >= options_.batch_age.count()) {
      close_batch(task_id, task);
    }
  }
}

void CloudSync::queue_entry(OutboxEntry entry) {
  if (!gate_decided_) {
    waiting_for_gate_.push_back(std::move(entry));
    if (waiting_for_gate_.size() > kMaxWaitingEntries) {
      waiting_for_gate_.erase(waiting_for_gate_.begin());
    }
    return;
  }
  write_entry(std::move(entry));
}

void CloudSync::write_entry(OutboxEntry entry) {
  entry.server = credentials_->url;
  entry.user_id = user_id_;
  Result<std::string> name = outbox_.add(entry, options_.now_ms());
  if (!name.ok()) {
    log::warn("cloud_outbox_not_written",
              {log::field("error_kind", error_kind_name(name.error().kind))});
    return;
  }
  queue_.push_back(std::move(name).value());
}

void CloudSync::drop_everything_unsent() {
  waiting_for_gate_.clear();
  for (auto& [task_id, task] : tasks_) {
    task.batch = json::array();
    task.batch_bytes = 0;
  }
}

void CloudSync::resolve_gate(Collection collection, const std::string& user_id) {
  const bool first = !gate_decided_;
  const bool was_on = collection_ == Collection::kOn;
  gate_decided_ = true;
  collection_ = collection;
  if (collection != Collection::kOn) {
    drop_everything_unsent();
    if (collection == Collection::kOff) {
      // The owner turned collection off: what waits to be sent for them goes too (P7).
      std::vector<std::string> mine(queue_.begin(), queue_.end());
      queue_.clear();
      for (const std::string& name : mine) outbox_.remove(name);
      const size_t removed = outbox_.remove_all_for(credentials_->url, user_id);
      if (removed > 0) log::info("cloud_outbox_cleared", {log::field("files", removed)});
    }
    log::info("cloud_sync_off", {log::field("collection", collection_name(collection))});
    return;
  }
  user_id_ = user_id;
  if (first || !was_on) {
    std::vector<std::string> names = outbox_.claim_leftovers(credentials_->url, user_id_);
    names.insert(names.end(), queue_.begin(), queue_.end());
    std::sort(names.begin(), names.end());
    queue_.assign(names.begin(), names.end());
  }
  std::vector<OutboxEntry> waiting = std::move(waiting_for_gate_);
  waiting_for_gate_.clear();
  for (OutboxEntry& entry : waiting) write_entry(std::move(entry));
}

CloudSync::SendOutcome CloudSync::send(CloudConnection& connection, const std::string& name,
                                       int attempt, std::chrono::milliseconds& retry_after) {
  Result<OutboxEntry> entry = outbox_.read(name);
  if (!entry.ok()) {
    // Dropped by the bound, or damaged: nothing to send.
    if (entry.error().kind != ErrorKind::kNotFound) outbox_.remove(name);
    return SendOutcome::kDone;
  }
  Result<CloudResponse> answer = connection.call("POST", entry->path(), entry->body);
  if (!answer.ok()) {
    log::info("cloud_upload_failed",
              {log::field("kind", entry->kind),
               log::field("error_kind", error_kind_name(answer.error().kind)),
               log::field("attempt", attempt + 1)});
    return answer.error().kind == ErrorKind::kCancelled ? SendOutcome::kStop : SendOutcome::kRetry;
  }
  const long status = answer->status;
  if (answer->ok()) {
    outbox_.remove(name);
    return SendOutcome::kDone;
  }
  if (status == 408 || status == 429 || status >= 500) {
    log::info("cloud_upload_retry",
              {log::field("status", status), log::field("attempt", attempt + 1)});
    retry_after = retry_after_header(connection.last_head().header("retry-after"));
    return SendOutcome::kRetry;
  }
  if (status == 401) {
    log::warn("cloud_upload_stopped", {log::field("status", status)});
    return SendOutcome::kStop;
  }
  outbox_.remove(name);
  log::warn("cloud_upload_refused", {log::field("kind", entry->kind), log::field("status", status),
                                     log::field("code", answer->error_code())});
  if (status == 403 && answer->error_code() == "collection_disabled") {
    std::lock_guard lock(mutex_);
    collection_ = Collection::kOff;
    drop_everything_unsent();
    return SendOutcome::kStop;
  }
  return SendOutcome::kDone;
}

void CloudSync::run_sender() {
  std::unique_ptr<llm::HttpTransport> transport = options_.make_transport
                                                      ? options_.make_transport(&cancel_sending_)
                                                      : llm::make_curl_transport(&cancel_sending_);
  CloudConnection connection(credentials_->url, credentials_->token, std::move(transport));
  CloudSettings settings(home_, *credentials_, options_.now_ms);
  const Collection first = settings.refresh(connection);
  std::unique_lock lock(mutex_);
  resolve_gate(first, settings.user_id());
  changed_.notify_all();
  int attempt = 0;
  Clock::time_point retry_at = Clock::now();
  while (!cancel_sending_.requested()) {
    close_aged_batches();
    const bool can_send = !stopped_ && collection_ == Collection::kOn && !queue_.empty();
    if (stopping_ && !can_send) break;
    if (can_send && Clock::now() >= retry_at) {
      const std::string name = queue_.front();
      sending_ = true;
      lock.unlock();
      std::chrono::milliseconds retry_after{0};
      const SendOutcome outcome = send(connection, name, attempt, retry_after);
      lock.lock();
      sending_ = false;
      if (outcome == SendOutcome::kDone) {
        if (!queue_.empty() && queue_.front() == name) queue_.pop_front();
        attempt = 0;
      } else if (outcome == SendOutcome::kStop) {
        stopped_ = true;
      } else {
        if (stopping_) break;  // the next run tries again
        const auto backoff = std::min<std::chrono::milliseconds>(
            options_.retry_cap, options_.retry_base * (1LL << std::min(attempt, 16)));
        retry_at = Clock::now() + std::max(backoff, retry_after);
        ++attempt;
      }
      changed_.notify_all();
      continue;
    }
    if (!stopping_ && settings.stale()) {
      lock.unlock();
      const Collection now = settings.refresh(connection);
      lock.lock();
      // A failed fetch is already decided by the cache (client/cloud_settings.h).
      if (now != collection_) resolve_gate(now, settings.user_id());
      changed_.notify_all();
      continue;
    }
    Clock::time_point wake = Clock::now() + (stopping_ ? options_.exit_budget : kIdleWake);
    if (can_send) wake = std::min(wake, retry_at);
    if (!tasks_.empty()) wake = std::min(wake, Clock::now() + options_.batch_age);
    changed_.wait_until(lock, wake);
  }
  sender_done_ = true;
  changed_.notify_all();
}

bool CloudSync::wait_until_idle(std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, limit, [&] {
    return gate_decided_ && !sending_ &&
           (queue_.empty() || stopped_ || collection_ != Collection::kOn);
  });
}

void CloudSync::shutdown() {
  {
    std::unique_lock lock(mutex_);
    if (shut_down_) return;
    if (accepting()) {
      for (auto& [task_id, task] : tasks_) close_batch(task_id, task);
    }
    shut_down_ = true;
    stopping_ = true;
    changed_.notify_all();
    if (sender_.joinable() &&
        !changed_.wait_for(lock, options_.exit_budget, [&] { return sender_done_; })) {
      cancel_sending_.request();
    }
  }
  if (sender_.joinable()) sender_.join();
  std::lock_guard lock(mutex_);
  outbox_.release(std::vector<std::string>(queue_.begin(), queue_.end()));
  queue_.clear();
}

}  // namespace joey::client
