#include "client/telemetry.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <system_error>
#include <utility>

#include "base/atomic_file.h"
#include "base/ids.h"
#include "base/json.h"
#include "base/log.h"
#include "client/private_files.h"
#include "client/telemetry_events.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

std::string describe_origin(const std::string& origin) {
  if (origin == "default") return "the default";
  if (origin == "env DO_NOT_TRACK") return "DO_NOT_TRACK=1";
  if (origin.starts_with("env ")) return "environment variable " + origin.substr(4);
  if (origin.starts_with("flag ")) return origin;
  return "set in " + origin;
}

// Why a host is refused, or "" when it is fine.
std::string host_problem(const std::string& host) {
  const bool https = host.starts_with("https://");
  if (!https && !host.starts_with("http://")) return "the telemetry host must be an http(s) URL";
  const std::string authority = host.substr(host.find("://") + 3);
  if (authority.find('@') != std::string::npos) {
    return "the telemetry host must not carry credentials";
  }
  if (host.find_first_of("?# \t\r\n") != std::string::npos) {
    return "the telemetry host must be a plain URL (no query, fragment or spaces)";
  }
  const std::string name = llm::url_host(host);
  if (name.empty()) return "the telemetry host is not a valid URL";
  if (!https && !llm::is_loopback_host(name)) {
    return "the telemetry host must use https (plain http only to a loopback address)";
  }
  return "";
}

// The $-properties PostHog reads, plus the version and OS family every event carries.
void add_standard_properties(nlohmann::json& properties) {
  if (!properties.contains("app_version")) properties["app_version"] = JOEY_VERSION;
  if (!properties.contains("os_family")) properties["os_family"] = telemetry_os_family();
  properties["$process_person_profile"] = false;
  properties["$geoip_disable"] = true;
  properties["$lib"] = "joey";
  properties["$lib_version"] = JOEY_VERSION;
}

enum class SendOutcome { kSent, kRejected, kFailed };

// A running joey claims the queue by renaming it to "telemetry_queue.claimed-PID.jsonl":
// rename is atomic, so of two joeys starting at once only one sends the queued events,
// and a joey killed before it finished leaves its claim behind for the next one.
constexpr std::string_view kClaimPrefix = "telemetry_queue.claimed-";
constexpr std::string_view kClaimSuffix = ".jsonl";

fs::path claim_path(const fs::path& home, pid_t pid, int part = 0) {
  std::string name = std::string(kClaimPrefix) + std::to_string(pid);
  if (part > 0) name += "." + std::to_string(part);
  return home / (name + std::string(kClaimSuffix));
}

// The pid a claim file names, or 0 when `name` is not a claim.
pid_t claim_owner(const std::string& name) {
  return client::claim_owner(name, kClaimPrefix, kClaimSuffix);
}

// Claim files in `home`, whoever owns them.
std::vector<fs::path> queue_claims(const fs::path& home) {
  std::vector<fs::path> claims;
  std::error_code error;
  for (fs::directory_iterator it(home, error), end; !error && it != end; it.increment(error)) {
    if (claim_owner(it->path().filename().string()) > 0) claims.push_back(it->path());
  }
  return claims;
}

}  // namespace

std::map<std::string, std::string> telemetry_environment() {
  std::map<std::string, std::string> environment;
  if (const char* host = std::getenv("JOEY_TELEMETRY_HOST")) {
    environment["JOEY_TELEMETRY_HOST"] = host;
  }
  return environment;
}

TelemetryConfig resolve_telemetry_config(const Settings& settings,
                                         const std::map<std::string, std::string>& environment) {
  TelemetryConfig config;
  const auto value = settings.get("telemetry");
  const bool* on = value ? std::get_if<bool>(&value->data) : nullptr;
  config.enabled = on ? *on : true;
  config.reason = std::string(config.enabled ? "on" : "off") + " (" +
                  describe_origin(value ? value->origin : "default") + ")";

  const auto env_host = environment.find("JOEY_TELEMETRY_HOST");
  const auto setting_host = settings.get("telemetry_host");
  const std::string* setting_text =
      setting_host ? std::get_if<std::string>(&setting_host->data) : nullptr;
  if (env_host != environment.end() && !trim(env_host->second).empty()) {
    config.host = std::string(trim(env_host->second));
    config.host_origin = "env JOEY_TELEMETRY_HOST";
  } else if (setting_text && !trim(*setting_text).empty()) {
    config.host = std::string(trim(*setting_text));
    config.host_origin = setting_host->origin;
  } else {
    config.host = std::string(kDefaultTelemetryHost);
    config.host_origin = "default";
  }
  while (config.host.ends_with('/')) config.host.pop_back();
  config.host_problem = host_problem(config.host);
  return config;
}

std::string new_uuid_v4() {
  std::string hex = random_hex(16);
  hex[12] = '4';  // version 4
  const int nibble =
      std::isdigit(static_cast<unsigned char>(hex[16])) ? hex[16] - '0' : hex[16] - 'a' + 10;
  hex[16] = "89ab"[nibble & 3];  // RFC 4122 variant
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

bool is_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) {
      return false;
    }
  }
  return true;
}

std::string iso8601_utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis));
  return buffer;
}

bool is_iso8601_utc(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction]Z
  if (text.size() < 20 || text.size() > 30 || text.back() != 'Z') return false;
  const std::string_view date_time = text.substr(0, 19);
  for (size_t i = 0; i < date_time.size(); ++i) {
    const char expected = i == 4 || i == 7 ? '-' : i == 10 ? 'T' : i == 13 || i == 16 ? ':' : '0';
    if (expected == '0' ? !std::isdigit(static_cast<unsigned char>(date_time[i]))
                        : date_time[i] != expected) {
      return false;
    }
  }
  const std::string_view rest = text.substr(19, text.size() - 20);
  if (rest.empty()) return true;
  return rest.front() == '.' && all_digits(rest.substr(1)) && rest.size() <= 10;
}

std::optional<std::string> read_machine_id(const fs::path& home) {
  auto text = read_file_to_string(home / kMachineIdFile);
  if (!text.ok()) return std::nullopt;
  const std::string_view id = trim(*text);
  if (!is_uuid(id)) return std::nullopt;
  return std::string(id);
}

std::optional<nlohmann::json> sanitize_telemetry_event(const nlohmann::json& event,
                                                       const std::string& machine_id) {
  const std::string* name = string_field(event, "event");
  const std::string* uuid = string_field(event, "uuid");
  const std::string* timestamp = string_field(event, "timestamp");
  if (!name || !is_telemetry_event(*name) || !uuid || !is_uuid(*uuid) || !timestamp ||
      !is_iso8601_utc(*timestamp)) {
    return std::nullopt;
  }
  const nlohmann::json* properties = object_field(event, "properties");
  nlohmann::json clean =
      sanitize_telemetry_properties(*name, properties ? *properties : nlohmann::json::object());
  add_standard_properties(clean);
  return nlohmann::json{{"event", *name},
                        {"distinct_id", machine_id},
                        {"properties", std::move(clean)},
                        {"timestamp", *timestamp},
                        {"uuid", *uuid}};
}

std::vector<nlohmann::json> parse_telemetry_queue(std::string_view text,
                                                  const std::string& machine_id) {
  // A file far beyond the cap was not written by joey; read only its tail.
  constexpr size_t kMaxRead = 2 * kMaxQueueBytes;
  if (text.size() > kMaxRead) {
    text = text.substr(text.size() - kMaxRead);
    const size_t newline = text.find('\n');
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
  }
  std::deque<nlohmann::json> events;
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    const std::string_view line = trim(text.substr(0, newline));
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    if (line.empty()) continue;
    const nlohmann::json parsed = parse_json(line);
    if (parsed.is_discarded()) continue;
    auto event = sanitize_telemetry_event(parsed, machine_id);
    if (!event) continue;
    events.push_back(std::move(*event));
    if (events.size() > kMaxQueuedEvents) events.pop_front();
  }
  return {std::make_move_iterator(events.begin()), std::make_move_iterator(events.end())};
}

std::string serialize_telemetry_queue(const std::vector<nlohmann::json>& events) {
  std::vector<std::string> lines;
  size_t bytes = 0;
  for (auto event = events.rbegin(); event != events.rend(); ++event) {
    if (lines.size() == kMaxQueuedEvents) break;
    std::string line = event->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (bytes + line.size() + 1 > kMaxQueueBytes) break;
    bytes += line.size() + 1;
    lines.push_back(std::move(line));
  }
  std::string text;
  text.reserve(bytes);
  for (auto line = lines.rbegin(); line != lines.rend(); ++line) text += *line + "\n";
  return text;
}

size_t telemetry_queue_length(const fs::path& home) {
  auto text = read_file_to_string(home / kTelemetryQueueFile);
  if (!text.ok()) return 0;
  size_t count = 0;
  std::string_view rest = *text;
  while (!rest.empty()) {
    const size_t newline = rest.find('\n');
    if (!trim(rest.substr(0, newline)).empty()) ++count;
    rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
  }
  return count;
}

std::string telemetry_batch_body(const std::vector<nlohmann::json>& events) {
  nlohmann::json body = {{"api_key", kTelemetryApiKey}, {"batch", events}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string telemetry_notice_text() {
  return "joey sends anonymous usage telemetry: which events happen (task created, completed or "
         "failed, tool used, mode switched, checkpoint restored, context condensed, diff failed, "
         "error) with joey's version, the OS family, the provider, model id, mode, tool name, "
         "durations, token counts and error classes, under a random machine id.\n"
         "It never sends code, prompts, file contents, paths, file names or keys.\n"
         "Turn it off with `joey config set telemetry off`, JOEY_TELEMETRY=0 or DO_NOT_TRACK=1; "
         "`joey telemetry status` shows the last event sent.\n";
}

// ---- Telemetry ----

Telemetry::Telemetry(TelemetryConfig config, fs::path home, TelemetryOptions options)
    : config_(std::move(config)), home_(std::move(home)), options_(std::move(options)) {}

std::shared_ptr<Telemetry> Telemetry::disabled() {
  return std::shared_ptr<Telemetry>(new Telemetry(TelemetryConfig{}, fs::path(), {}));
}

std::shared_ptr<Telemetry> Telemetry::open(const TelemetryConfig& config, const fs::path& home,
                                           TelemetryOptions options) {
  std::shared_ptr<Telemetry> telemetry(new Telemetry(config, home, std::move(options)));
  if (!config.enabled) {
    remove_quietly(home / kTelemetryQueueFile);
    for (const fs::path& claim : queue_claims(home)) remove_quietly(claim);
    return telemetry;
  }
  std::optional<std::string> machine_id = read_machine_id(home);
  if (!machine_id) {
    machine_id = new_uuid_v4();
    Status stored = write_private_file(home / kMachineIdFile, *machine_id + "\n");
    if (!stored.ok()) {
      log::warn("telemetry_disabled", {log::field("reason", "machine id not stored")});
      return telemetry;
    }
  }
  telemetry->machine_id_ = *machine_id;
  telemetry->enabled_ = true;

  telemetry->claim_queue();

  if (config.host_problem.empty()) {
    const Cancellation* cancel = &telemetry->cancel_sending_;
    telemetry->transport_ = telemetry->options_.make_transport
                                ? telemetry->options_.make_transport(cancel)
                                : llm::make_curl_transport(cancel);
    telemetry->sender_done_ = false;
    telemetry->sender_ = std::thread([raw = telemetry.get()] { raw->run_sender(); });
  }
  return telemetry;
}

Telemetry::~Telemetry() { shutdown(); }

void Telemetry::capture(std::string_view event, const nlohmann::json& properties) {
  if (!enabled_ || !is_telemetry_event(event)) return;
  nlohmann::json clean = sanitize_telemetry_properties(event, properties);
  // The version and OS family are joey's own, never the caller's.
  clean["app_version"] = JOEY_VERSION;
  clean["os_family"] = telemetry_os_family();
  add_standard_properties(clean);
  nlohmann::json record = {{"event", std::string(event)},
                           {"distinct_id", machine_id_},
                           {"properties", std::move(clean)},
                           {"timestamp", iso8601_utc_now()},
                           {"uuid", new_uuid_v4()}};
  std::lock_guard lock(mutex_);
  if (shut_down_) return;
  pending_.push_back(std::move(record));
  while (pending_.size() > kMaxQueuedEvents) pending_.pop_front();
  changed_.notify_all();
}

bool Telemetry::show_first_run_notice(std::ostream& err) {
  if (!enabled_) return false;
  const fs::path marker = home_ / kTelemetryNoticeFile;
  std::error_code error;
  if (fs::exists(marker, error)) return false;
  // Printed even when the marker cannot be written: the notice matters more.
  Status marked = write_private_file(marker, "shown " + iso8601_utc_now() + "\n");
  if (!marked.ok()) log::warn("telemetry_notice_marker_failed");
  err << telemetry_notice_text() << std::flush;
  return true;
}

void Telemetry::run_sender() {
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [&] { return stopping_ || (!offline_ && !pending_.empty()); });
    if (offline_ || pending_.empty() || cancel_sending_.requested()) break;
    if (!stopping_) {
      // Let a burst of events (a tool call and its result) travel together.
      changed_.wait_for(lock, options_.batch_delay,
                        [&] { return stopping_ || pending_.size() >= options_.max_batch; });
    }
    const size_t count = std::min(pending_.size(), options_.max_batch);
    in_flight_.assign(std::make_move_iterator(pending_.begin()),
                      std::make_move_iterator(pending_.begin() + static_cast<long>(count)));
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(count));
    lock.unlock();
    const bool sent = send(in_flight_);
    lock.lock();
    if (!sent) {
      // Back to the front, to be queued on disk at shutdown; no more tries this run.
      pending_.insert(pending_.begin(), std::make_move_iterator(in_flight_.begin()),
                      std::make_move_iterator(in_flight_.end()));
      offline_ = true;
    }
    in_flight_.clear();
  }
  sender_done_ = true;
  changed_.notify_all();
}

bool Telemetry::send(const std::vector<nlohmann::json>& batch) {
  llm::HttpRequest request;
  request.method = "POST";
  request.url = config_.host + "/batch/";
  request.purpose = "telemetry";
  request.headers = {{"Content-Type", "application/json"}};
  request.body = telemetry_batch_body(batch);
  llm::HttpCallbacks callbacks;
  callbacks.on_body = [](std::string_view) { return ok_status(); };
  auto head = transport_->perform(request, options_.timeouts, callbacks);
  if (!head.ok()) {
    log::info("telemetry_not_sent", {log::field("kind", error_kind_name(head.error().kind)),
                                     log::field("events", batch.size())});
    return false;
  }
  const long status = head->status;
  if (status == 408 || status == 429 || status >= 500 || status < 200) {
    log::info("telemetry_not_sent", {log::field("status", status)});
    return false;
  }
  if (status >= 300) {
    // The server refuses this batch for good (4xx); keeping it would block the queue.
    log::info("telemetry_batch_refused", {log::field("status", status)});
    return true;
  }
  Status recorded = write_private_file(home_ / kTelemetryLastFile, batch.back().dump(2) + "\n");
  if (!recorded.ok()) log::info("telemetry_last_not_recorded");
  return true;
}

void Telemetry::claim_queue() {
  const pid_t self = ::getpid();
  claim_ = claim_path(home_, self);
  std::vector<fs::path> claimed;
  std::error_code error;
  fs::rename(home_ / kTelemetryQueueFile, claim_, error);
  if (!error) claimed.push_back(claim_);
  // Claims of joeys that died before they could put their events back.
  int part = 0;
  for (const fs::path& orphan : queue_claims(home_)) {
    const pid_t owner = claim_owner(orphan.filename().string());
    if (owner == self || process_alive(owner)) continue;
    const fs::path mine = claim_path(home_, self, ++part);
    fs::rename(orphan, mine, error);
    if (!error) claimed.push_back(mine);
  }
  if (claimed.empty()) return;
  std::vector<nlohmann::json> events;
  for (const fs::path& file : claimed) {
    if (auto text = read_file_to_string(file); text.ok()) {
      for (auto& event : parse_telemetry_queue(*text, machine_id_))
        events.push_back(std::move(event));
    }
  }
  // One claim file holds them all until shutdown puts the unsent back in the queue.
  Status kept = write_private_file(claim_, serialize_telemetry_queue(events));
  for (const fs::path& file : claimed) {
    if (file != claim_) remove_quietly(file);
  }
  if (!kept.ok()) log::warn("telemetry_queue_not_written");
  std::lock_guard lock(mutex_);
  for (auto& event : events) pending_.push_back(std::move(event));
}

void Telemetry::persist_unsent(std::vector<nlohmann::json> unsent) {
  const fs::path queue = home_ / kTelemetryQueueFile;
  // Another joey may have queued events since this one took the queue over.
  std::vector<nlohmann::json> all;
  if (auto text = read_file_to_string(queue); text.ok()) {
    all = parse_telemetry_queue(*text, machine_id_);
  }
  all.insert(all.end(), std::make_move_iterator(unsent.begin()),
             std::make_move_iterator(unsent.end()));
  if (all.empty()) {
    remove_quietly(queue);
    return;
  }
  Status written = write_private_file(queue, serialize_telemetry_queue(all));
  if (!written.ok()) log::warn("telemetry_queue_not_written");
}

void Telemetry::shutdown() {
  std::vector<nlohmann::json> unsent;
  {
    std::unique_lock lock(mutex_);
    if (shut_down_) return;
    shut_down_ = true;
    stopping_ = true;
    changed_.notify_all();
    if (sender_.joinable() &&
        !changed_.wait_for(lock, options_.exit_budget, [&] { return sender_done_; })) {
      cancel_sending_.request();
    }
  }
  if (sender_.joinable()) sender_.join();
  if (!enabled_) return;
  {
    std::lock_guard lock(mutex_);
    unsent.assign(std::make_move_iterator(pending_.begin()),
                  std::make_move_iterator(pending_.end()));
    pending_.clear();
  }
  if (!unsent.empty()) persist_unsent(std::move(unsent));
  // The claimed events are sent or back in the queue: the claim is done with. A joey
  // killed before this point leaves the claim, and the next one sends it again (each
  // event keeps its uuid, so a receiver can drop the repeat).
  if (!claim_.empty()) remove_quietly(claim_);
}

}  // namespace joey::client
