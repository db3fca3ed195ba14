// joey's one logger: structured events to stderr, built so that request bodies,
// message content and secrets cannot reach a log line (privacy promise P12).
//
// A call takes an event name and typed fields, never a format string:
//   log::info("request_sent", {log::field("host", host), log::field("bytes", size)});
// prints one line "request_sent host=api.example.com bytes=5120". Text values are
// redacted by joey::redact in its log-line scope (base/redact.h: registered secrets,
// API keys, bearer tokens, credential assignments, long hex/base64 runs become
// "[REDACTED]"),
// truncated to 120 bytes (then marked "...[<original size>B]") and escaped (control
// characters, newlines, invalid UTF-8); a value with spaces is quoted.
// A field whose name (or last '_'/'.'/'-' separated part of it) is body-like — body,
// content, prompt, completion, messages, arguments, text, output, diff, ... — is
// printed as "[omitted]" whatever its value; a secret-like name (api_key, token,
// password, authorization, ...) as "[REDACTED]".
//
// The level comes from $JOEY_LOG (trace, debug, info, warn, error, off; default warn)
// at first use and can be changed with set_level().
//
// Thread-safety: every function may be called from any thread.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace joey::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kOff };

// One name=value pair. Build it with field(); the value is copied, so a Field may
// outlive the strings it was made from.
struct Field {
  enum class Kind { kSigned, kUnsigned, kDouble, kBool, kText };

  std::string name;
  Kind kind = Kind::kSigned;
  int64_t signed_value = 0;
  uint64_t unsigned_value = 0;
  double double_value = 0;
  bool bool_value = false;
  std::string text;  // a bounded prefix of the caller's text, not yet redacted
  size_t text_total_bytes = 0;
};

Field field(std::string_view name, std::string_view text);
Field field(std::string_view name, const char* text);  // otherwise a literal would bind to bool
Field field(std::string_view name, bool value);
Field field(std::string_view name, double value);
Field signed_field(std::string_view name, int64_t value);
Field unsigned_field(std::string_view name, uint64_t value);

template <std::integral Integer>
requires(!std::same_as<Integer, bool>) Field field(std::string_view name, Integer value) {
  if constexpr (std::is_signed_v<Integer>) {
    return signed_field(name, static_cast<int64_t>(value));
  } else {
    return unsigned_field(name, static_cast<uint64_t>(value));
  }
}

void trace(std::string_view event, std::initializer_list<Field> fields = {});
void debug(std::string_view event, std::initializer_list<Field> fields = {});
void info(std::string_view event, std::initializer_list<Field> fields = {});
void warn(std::string_view event, std::initializer_list<Field> fields = {});
void error(std::string_view event, std::initializer_list<Field> fields = {});

// The HTTP server's info line for one request, as info("http_request", {field("method",
// method), field("route", route), field("status", status), field("latency_ms",
// latency_ms), field("user_id", user_id)}) prints it — values redacted, truncated and
// escaped alike — with less work (no Field copies, no name checks), as it runs for every
// request. `deferred`: the line may wait in memory, with others, until flush_deferred()
// (or the next line that does not wait, or 64 KiB of them) writes them all at once — the
// server gathers a busy moment's lines into one write instead of one per request, and
// flushes as soon as its thread has nothing else ready to run.
void http_request(std::string_view method, std::string_view route, int status, double latency_ms,
                  std::string_view user_id, bool deferred = false);
// Writes the lines that http_request(…, deferred = true) left waiting; also at exit.
void flush_deferred();
std::string format_http_request(std::string_view method, std::string_view route, int status,
                                double latency_ms, std::string_view user_id);

// True when events at `level` are printed; lets a caller skip building costly fields.
bool enabled(Level level);
void set_level(Level level);
Level current_level();
// "trace", "debug", "info", "warn" (or "warning"), "error", "off"; case-insensitive.
std::optional<Level> parse_level(std::string_view name);

// The line an event produces ("event key=value ..."), without time or level.
std::string format_event(std::string_view event, std::initializer_list<Field> fields);

// Routes formatted lines to `sink` instead of stderr; an empty function restores
// stderr. For tests only.
void set_sink_for_testing(std::function<void(std::string_view line)> sink);

}  // namespace joey::log
