#include "client/telemetry_events.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <utility>

#include "base/json.h"
#include "base/strings.h"
#include "client/telemetry.h"

namespace joey::client {
namespace {

// How a property's value is shaped before it may leave the machine.
enum class Shape {
  kProvider,    // a built-in provider, else "other"
  kMode,        // a built-in mode, else "custom"
  kTool,        // a built-in tool; MCP tools "mcp"; else "other"
  kErrorClass,  // an error kind name, else "other"
  kText,        // scrubbed free string
  kModel,       // a scrubbed model id, which may carry one "vendor/" prefix (OpenRouter)
  kCount,       // non-negative integer
  kBool,
};

const std::map<std::string, Shape, std::less<>>& property_shapes() {
  static const std::map<std::string, Shape, std::less<>> kShapes = {
      {"app_version", Shape::kText},
      {"os_family", Shape::kText},
      {"provider", Shape::kProvider},
      {"model", Shape::kModel},
      {"mode", Shape::kMode},
      {"from_mode", Shape::kMode},
      {"tool", Shape::kTool},
      {"ok", Shape::kBool},
      {"duration_ms", Shape::kCount},
      {"input_tokens", Shape::kCount},
      {"output_tokens", Shape::kCount},
      {"cache_read_tokens", Shape::kCount},
      {"cache_write_tokens", Shape::kCount},
      {"tokens_before", Shape::kCount},
      {"tokens_after", Shape::kCount},
      {"error_class", Shape::kErrorClass},
  };
  return kShapes;
}

std::vector<std::string> with_common(std::vector<std::string> names) {
  names.insert(names.begin(), {"app_version", "os_family"});
  return names;
}

const std::map<std::string, std::vector<std::string>, std::less<>>& event_properties() {
  static const std::map<std::string, std::vector<std::string>, std::less<>> kEvents = {
      {"task_created", with_common({"provider", "model", "mode"})},
      {"task_completed", with_common({"provider", "model", "mode", "duration_ms", "input_tokens",
                                      "output_tokens", "cache_read_tokens", "cache_write_tokens"})},
      {"task_failed",
       with_common({"provider", "model", "mode", "duration_ms", "input_tokens", "output_tokens",
                    "cache_read_tokens", "cache_write_tokens", "error_class"})},
      {"tool_used", with_common({"provider", "model", "mode", "tool", "ok"})},
      {"mode_switched", with_common({"from_mode", "mode"})},
      {"checkpoint_restored", with_common({"mode"})},
      {"context_condensed",
       with_common({"provider", "model", "mode", "tokens_before", "tokens_after"})},
      {"diff_failed", with_common({"provider", "model", "mode"})},
      {"error", with_common({"provider", "model", "mode", "error_class"})},
  };
  return kEvents;
}

bool one_of(std::string_view value, std::initializer_list<std::string_view> known) {
  return std::find(known.begin(), known.end(), value) != known.end();
}

std::string provider_value(std::string_view value) {
  return one_of(value, {"openai", "anthropic", "openrouter", "openai-compatible", "ollama",
                        "lmstudio", "cloud"})
             ? std::string(value)
             : "other";
}

std::string mode_value(std::string_view value) {
  return one_of(value, {"code", "architect", "ask", "debug", "orchestrator"}) ? std::string(value)
                                                                              : "custom";
}

std::string tool_value(std::string_view value) {
  if (one_of(value, {"read_file", "write_to_file", "apply_diff", "insert_content", "search_files",
                     "list_files", "list_code_definition_names", "execute_command",
                     "ask_followup_question", "attempt_completion", "switch_mode", "new_task",
                     "update_todo_list"})) {
    return std::string(value);
  }
  // The server and tool names of an MCP tool are the user's own; only "mcp" leaves.
  return value.starts_with("mcp--") ? "mcp" : "other";
}

std::string error_class_value(std::string_view value) {
  return one_of(value, {"invalid_argument", "not_found", "already_exists", "permission_denied",
                        "io", "network", "timeout", "cancelled", "auth", "rate_limited", "server",
                        "context_overflow", "unknown_model", "protocol", "limit", "needs_decision",
                        "internal"})
             ? std::string(value)
             : "other";
}

bool is_safe_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' ||
         c == '+' || c == '-';
}

bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

// True when a maximal run of letters, digits and '_' looks like key material.
bool run_looks_like_secret(std::string_view run) {
  const bool has_digit = std::any_of(
      run.begin(), run.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  const bool has_alpha = std::any_of(
      run.begin(), run.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
  const bool all_hex = std::all_of(run.begin(), run.end(), is_hex);
  if (all_hex && run.size() >= 16) return true;
  if (has_digit && has_alpha && run.size() >= 20) return true;
  return run.size() >= 32;
}

std::optional<nlohmann::json> shaped_value(Shape shape, const nlohmann::json& value) {
  switch (shape) {
    case Shape::kCount:
      if (value.is_number_unsigned()) return value.get<uint64_t>();
      if (value.is_number_integer() && value.get<int64_t>() >= 0) return value.get<int64_t>();
      if (value.is_number_float()) {
        const double number = value.get<double>();
        if (std::isfinite(number) && number >= 0 && number < 9e15) {
          return static_cast<int64_t>(number);
        }
      }
      return std::nullopt;
    case Shape::kBool:
      if (value.is_boolean()) return value.get<bool>();
      return std::nullopt;
    default:
      break;
  }
  if (!value.is_string()) return std::nullopt;
  const std::string& text = value.get_ref<const std::string&>();
  if (text.empty()) return std::nullopt;
  switch (shape) {
    case Shape::kProvider:
      return provider_value(text);
    case Shape::kMode:
      return mode_value(text);
    case Shape::kTool:
      return tool_value(text);
    case Shape::kErrorClass:
      return error_class_value(text);
    case Shape::kModel:
      if (!telemetry_model_is_safe(text)) return std::nullopt;
      return text;
    default:
      break;
  }
  if (!telemetry_value_is_safe(text)) return std::nullopt;
  return text;
}

}  // namespace

const std::vector<std::string>& telemetry_event_names() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const auto& [name, properties] : event_properties()) names.push_back(name);
    return names;
  }();
  return kNames;
}

bool is_telemetry_event(std::string_view event) {
  return event_properties().find(event) != event_properties().end();
}

const std::vector<std::string>& telemetry_event_properties(std::string_view event) {
  static const std::vector<std::string> kNone;
  const auto found = event_properties().find(event);
  return found == event_properties().end() ? kNone : found->second;
}

bool telemetry_value_is_safe(std::string_view value) {
  if (value.empty() || value.size() > 64) return false;
  if (!std::all_of(value.begin(), value.end(), is_safe_char)) return false;
  const std::string lowered = ascii_lower(value);
  // Key and token prefixes (OpenAI/Anthropic/OpenRouter, GitHub, Slack, AWS, Google,
  // PostHog), JWTs ("eyJ" is '{"' in base64) and URL schemes.
  for (std::string_view prefix : {"sk-", "sk_", "pk_", "rk_", "ghp_", "gho_", "ghs_", "github_pat",
                                  "xox", "akia", "asia", "aiza", "phc_", "phx_", "eyj", "ft:"}) {
    if (lowered.starts_with(prefix)) return false;
  }
  for (std::string_view marker : {"-sk-", ":sk-", "bearer", "token", "secret", "password", "apikey",
                                  "api_key", "http:", "https:", "file:"}) {
    if (lowered.find(marker) != std::string::npos) return false;
  }
  if (std::count(value.begin(), value.end(), '.') >= 2 && value.find("eyJ") != std::string::npos) {
    return false;
  }
  size_t start = 0;
  while (start < value.size()) {
    size_t end = start;
    while (end < value.size() &&
           (std::isalnum(static_cast<unsigned char>(value[end])) || value[end] == '_')) {
      ++end;
    }
    if (end > start && run_looks_like_secret(value.substr(start, end - start))) return false;
    start = end + 1;
  }
  return true;
}

bool telemetry_model_is_safe(std::string_view model) {
  const size_t slash = model.find('/');
  if (slash == std::string_view::npos) return telemetry_value_is_safe(model);
  const std::string_view vendor = model.substr(0, slash);
  const bool vendor_ok = !vendor.empty() && vendor.size() <= 32 &&
                         std::all_of(vendor.begin(), vendor.end(), [](char c) {
                           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                         });
  return vendor_ok && model.size() <= 64 && telemetry_value_is_safe(vendor) &&
         telemetry_value_is_safe(model.substr(slash + 1));
}

nlohmann::json sanitize_telemetry_properties(std::string_view event,
                                             const nlohmann::json& properties) {
  nlohmann::json clean = nlohmann::json::object();
  if (!properties.is_object()) return clean;
  for (const std::string& name : telemetry_event_properties(event)) {
    const auto found = properties.find(name);
    if (found == properties.end()) continue;
    const auto shape = property_shapes().find(name);
    if (shape == property_shapes().end()) continue;
    if (auto value = shaped_value(shape->second, *found)) clean[name] = std::move(*value);
  }
  return clean;
}

std::string telemetry_os_family() {
#if defined(__linux__)
  return "linux";
#elif defined(__APPLE__)
  return "macos";
#elif defined(_WIN32)
  return "windows";
#else
  return "other";
#endif
}

// ---- TelemetryEvents ----

TelemetryEvents::TelemetryEvents(std::unique_ptr<agent::EventSink> inner,
                                 std::shared_ptr<Telemetry> telemetry)
    : inner_(std::move(inner)), telemetry_(std::move(telemetry)) {}

void TelemetryEvents::capture(std::string_view event, nlohmann::json properties) {
  if (telemetry_ && telemetry_->enabled()) telemetry_->capture(event, properties);
}

nlohmann::json TelemetryEvents::task_properties() const {
  return {{"provider", provider_}, {"model", model_}, {"mode", mode_}};
}

nlohmann::json TelemetryEvents::finished_properties() const {
  nlohmann::json properties = task_properties();
  const auto elapsed = std::chrono::steady_clock::now() - started_;
  properties["duration_ms"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  if (usage_) {
    properties["input_tokens"] = usage_->usage.input_tokens;
    properties["output_tokens"] = usage_->usage.output_tokens;
    properties["cache_read_tokens"] = usage_->usage.cache_read_tokens;
    properties["cache_write_tokens"] = usage_->usage.cache_write_tokens;
  }
  return properties;
}

void TelemetryEvents::task_started(const std::string& task_id, const std::string& mode,
                                   const std::string& provider, const std::string& model) {
  inner_->task_started(task_id, mode, provider, model);
  in_task_ = true;
  provider_ = provider;
  model_ = model;
  mode_ = mode;
  started_ = std::chrono::steady_clock::now();
  usage_.reset();
  pending_mode_switches_.clear();
  capture("task_created", task_properties());
}

void TelemetryEvents::text(std::string_view piece) { inner_->text(piece); }

void TelemetryEvents::tool_call(const std::string& id, const std::string& name,
                                const std::string& arguments) {
  inner_->tool_call(id, name, arguments);
  if (name != "switch_mode") return;
  const nlohmann::json parsed = parse_json(arguments);
  if (const std::string* slug = string_field(parsed, "mode_slug")) {
    pending_mode_switches_[id] = *slug;
  }
}

void TelemetryEvents::tool_result(const std::string& id, const std::string& name, bool ok,
                                  const std::string& summary) {
  inner_->tool_result(id, name, ok, summary);
  nlohmann::json properties = task_properties();
  properties["tool"] = name;
  properties["ok"] = ok;
  capture("tool_used", properties);
  const auto pending = pending_mode_switches_.find(id);
  if (name == "switch_mode" && ok && pending != pending_mode_switches_.end()) {
    capture("mode_switched", {{"from_mode", mode_}, {"mode", pending->second}});
    mode_ = pending->second;
  }
  if (pending != pending_mode_switches_.end()) pending_mode_switches_.erase(pending);
  if (name == "apply_diff" && !ok) capture("diff_failed", task_properties());
}

void TelemetryEvents::command_output(std::string_view chunk) { inner_->command_output(chunk); }

void TelemetryEvents::approval_required(const std::string& tool, const std::string& kind,
                                        const std::string& description) {
  inner_->approval_required(tool, kind, description);
}

void TelemetryEvents::usage(const agent::UsageTotals& totals) {
  inner_->usage(totals);
  usage_ = totals;
}

void TelemetryEvents::condensed(int64_t tokens_before, int64_t tokens_after) {
  inner_->condensed(tokens_before, tokens_after);
  nlohmann::json properties = task_properties();
  properties["tokens_before"] = tokens_before;
  properties["tokens_after"] = tokens_after;
  capture("context_condensed", properties);
}

void TelemetryEvents::notice(const std::string& message) { inner_->notice(message); }

void TelemetryEvents::error(const std::string& kind, const std::string& message) {
  inner_->error(kind, message);
  if (in_task_) {
    nlohmann::json properties = finished_properties();
    properties["error_class"] = kind;
    capture("task_failed", properties);
    in_task_ = false;
  } else {
    nlohmann::json properties = task_properties();
    properties["error_class"] = kind;
    capture("error", properties);
  }
}

void TelemetryEvents::completion(const std::string& result) {
  inner_->completion(result);
  capture("task_completed", finished_properties());
  in_task_ = false;
}

void TelemetryEvents::capture_checkpoint_restored() {
  capture("checkpoint_restored", {{"mode", mode_}});
}

void capture_checkpoint_restored(Telemetry* telemetry, const std::string& mode) {
  if (telemetry && telemetry->enabled()) {
    telemetry->capture("checkpoint_restored", {{"mode", mode}});
  }
}

}  // namespace joey::client
