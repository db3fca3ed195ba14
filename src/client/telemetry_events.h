// What anonymous telemetry may say (privacy promise P4), and the EventSink decorator
// that derives telemetry events from a task's events.
//
// The vocabulary is closed: an event name outside kTelemetryEvents is dropped, and each
// event carries only the properties its allow-list names. Each property has a shape:
//   - enumerations (provider, mode, tool, error_class) map anything unknown to
//     "other"/"custom", so a custom mode's slug or an MCP server's name never leaves;
//   - free strings (model, app_version, os_family) pass the scrubber;
//   - counts (duration_ms, token counts) are non-negative integers; ok is a bool.
// The scrubber (telemetry_value_is_safe) errs on dropping: it accepts only short
// strings of [A-Za-z0-9._:+-] that do not look like a key or token, so paths, URLs,
// emails, code, prose and secrets cannot pass.
//
// TelemetryEvents forwards every call to the inner sink unchanged and captures:
//   task_started               → task_created (provider, model, mode)
//   completion                 → task_completed (duration, token counts)
//   error during a task        → task_failed (error class = the kind, never the message)
//   error outside a task       → error (error class)
//   tool_result                → tool_used (tool, ok)
//   tool_result switch_mode ok → mode_switched (the new mode)
//   tool_result apply_diff !ok → diff_failed
//   condensed                  → context_condensed (tokens before/after)
// Text, arguments, summaries, messages and results are never read for telemetry,
// except the mode_slug argument of a switch_mode call, which is then mapped to a
// built-in mode or "custom".
//
// Thread-safety: the sanitising functions are pure. TelemetryEvents is used by one
// thread, like any EventSink; Telemetry::capture (which it calls) is thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/events.h"

namespace joey::client {

class Telemetry;

// Every event name telemetry may send.
const std::vector<std::string>& telemetry_event_names();
bool is_telemetry_event(std::string_view event);
// The properties `event` may carry besides the $-properties Telemetry adds; empty when
// the event is unknown.
const std::vector<std::string>& telemetry_event_properties(std::string_view event);

// False for anything that might identify a person, a project or a secret: empty or
// longer than 64 bytes, characters outside [A-Za-z0-9._:+-], key prefixes (sk-, ghp_,
// AKIA…), JWT-like values, long hex/base64 runs, or a run of 20+ letters and digits
// that mixes both.
bool telemetry_value_is_safe(std::string_view value);

// A model id: telemetry_value_is_safe, or "vendor/model" (OpenRouter's ids) where the
// vendor is lower-case letters, digits and '-' and the model part is safe. A path has
// either more slashes, a dot or upper case in its first segment, or fails the rest.
bool telemetry_model_is_safe(std::string_view model);

// The allow-listed, shaped properties of `properties` (an object; anything else
// counts as empty) for `event`. Keys not on the event's list are dropped, and so are
// values of the wrong type or that fail the scrubber.
nlohmann::json sanitize_telemetry_properties(std::string_view event,
                                             const nlohmann::json& properties);

// The operating system family joey was built for: "linux", "macos", "windows", "other".
std::string telemetry_os_family();

// The decorator. `telemetry` may be null or disabled: the sink then only forwards.
class TelemetryEvents final : public agent::EventSink {
 public:
  TelemetryEvents(std::unique_ptr<agent::EventSink> inner, std::shared_ptr<Telemetry> telemetry);

  void task_started(const std::string& task_id, const std::string& mode,
                    const std::string& provider, const std::string& model) override;
  void text(std::string_view piece) override;
  void tool_call(const std::string& id, const std::string& name,
                 const std::string& arguments) override;
  void tool_result(const std::string& id, const std::string& name, bool ok,
                   const std::string& summary) override;
  void command_output(std::string_view chunk) override;
  void approval_required(const std::string& tool, const std::string& kind,
                         const std::string& description) override;
  void usage(const agent::UsageTotals& totals) override;
  void condensed(int64_t tokens_before, int64_t tokens_after) override;
  void notice(const std::string& message) override;
  void error(const std::string& kind, const std::string& message) override;
  void completion(const std::string& result) override;

  // For /undo and `joey checkpoints restore`.
  void capture_checkpoint_restored();

  agent::EventSink& inner() { return *inner_; }

 private:
  void capture(std::string_view event, nlohmann::json properties);
  nlohmann::json task_properties() const;
  nlohmann::json finished_properties() const;

  std::unique_ptr<agent::EventSink> inner_;
  std::shared_ptr<Telemetry> telemetry_;
  bool in_task_ = false;
  std::string provider_;
  std::string model_;
  std::string mode_;
  std::chrono::steady_clock::time_point started_;
  std::optional<agent::UsageTotals> usage_;
  // switch_mode calls awaiting their result: call id → requested mode slug.
  std::map<std::string, std::string> pending_mode_switches_;
};

// Captures checkpoint_restored through `telemetry` (may be null) without a sink.
void capture_checkpoint_restored(Telemetry* telemetry, const std::string& mode);

}  // namespace joey::client
