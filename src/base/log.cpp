#include "base/log.h"

#include <fmt/format.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>

#include "base/redact.h"
#include "base/strings.h"

namespace joey::log {
namespace {

constexpr size_t kMaxTextBytes = 120;
// Only this much of a caller's text is kept in a Field: enough to see any credential
// that starts within the printed part, without copying a whole body around.
constexpr size_t kMaxStoredTextBytes = 1024;
constexpr size_t kMaxNameBytes = 64;
constexpr std::string_view kRedacted = kRedactedMarker;
constexpr std::string_view kOmitted = "[omitted]";

// Last name parts whose values are message content or bodies.
constexpr std::array<std::string_view, 23> kBodyNames = {
    "body",        "content", "contents", "prompt",    "prompts", "completion",
    "completions", "message", "messages", "arguments", "args",    "text",
    "output",      "stdout",  "stderr",   "diff",      "patch",   "response",
    "payload",     "input",   "query",    "data",      "chunk"};
// Last name parts whose values are credentials.
constexpr std::array<std::string_view, 13> kSecretNames = {
    "key",  "apikey", "token",  "secret",  "password",   "passwd",     "authorization",
    "auth", "cookie", "header", "headers", "credential", "credentials"};

// Deferred lines gathered before one write to stderr at the most (StderrSink).
constexpr size_t kMaxDeferredBytes = 64 * 1024;

// Whether the line this thread is logging may wait for flush_deferred() (StderrSink).
thread_local bool t_deferring = false;

// stderr, flushed after every line — except lines logged while their thread defers
// (http_request's `deferred`), which wait in memory until flush_deferred(), the next line that does
// not wait, or kMaxDeferredBytes; then all go out in one write, in the order logged.
class StderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  ~StderrSink() override { flush(); }

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(message, formatted);
    waiting_.append(formatted.data(), formatted.size());
    if (!t_deferring || waiting_.size() >= kMaxDeferredBytes) flush_();
  }
  void flush_() override {
    if (waiting_.empty()) return;
    std::fwrite(waiting_.data(), 1, waiting_.size(), stderr);
    std::fflush(stderr);
    waiting_.clear();
  }

 private:
  std::string waiting_;  // GUARDED_BY(mutex_)
};

struct State {
  std::atomic<Level> level;
  std::shared_ptr<spdlog::logger> logger;
  std::mutex sink_mutex;
  std::function<void(std::string_view)> sink;  // GUARDED_BY(sink_mutex)
  std::atomic<bool> has_sink{false};           // whether `sink` is set: no lock per line without
};

Level level_from_environment() {
  const char* value = std::getenv("JOEY_LOG");
  if (!value) return Level::kWarn;
  return parse_level(value).value_or(Level::kWarn);
}

// Never destroyed, so that logging from other static destructors stays safe.
State& state() {
  static State* const instance = [] {
    auto* created = new State();
    created->level.store(level_from_environment());
    created->logger = std::make_shared<spdlog::logger>("joey", std::make_shared<StderrSink>());
    created->logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
    created->logger->set_level(spdlog::level::trace);
    // Lines still waiting at exit go out (the state itself is never destroyed).
    std::atexit([] { flush_deferred(); });
    return created;
  }();
  return *instance;
}

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::kTrace:
      return spdlog::level::trace;
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
    case Level::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::off;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

void append_escaped(std::string_view text, std::string& out) {
  size_t pos = 0;
  while (pos < text.size()) {
    // Printable ASCII other than '\\' and '"' is copied a run at a time.
    size_t plain = pos;
    while (plain < text.size() && text[plain] >= 0x20 && text[plain] < 0x7F &&
           text[plain] != '\\' && text[plain] != '"') {
      ++plain;
    }
    out.append(text.substr(pos, plain - pos));
    pos = plain;
    if (pos == text.size()) break;
    const auto byte = static_cast<unsigned char>(text[pos]);
    const size_t length = byte >= 0x80 ? utf8_sequence_length(text, pos) : 1;
    const bool c1_control =
        length == 2 && byte == 0xC2 && static_cast<unsigned char>(text[pos + 1]) < 0xA0;
    if (length > 1 && !c1_control) {
      out.append(text.substr(pos, length));
      pos += length;
      continue;
    }
    if (c1_control) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}",
                     static_cast<unsigned char>(text[pos + 1]));
      pos += 2;
      continue;
    }
    switch (byte) {
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '"':
        out.append("\\\"");
        break;
      default:
        fmt::format_to(std::back_inserter(out), "\\x{:02x}", byte);
    }
    ++pos;
  }
}

// `text` is the kept prefix of a caller's text of `total_bytes` bytes.
void append_text(std::string_view text, size_t total_bytes, std::string& out) {
  const std::string redacted = redact(text, RedactScope::kLogLine);
  const std::string_view shown = utf8_prefix(redacted, kMaxTextBytes);
  const size_t begin = out.size();
  append_escaped(shown, out);
  const bool truncated = shown.size() < redacted.size() || total_bytes > text.size();
  if (truncated) fmt::format_to(std::back_inserter(out), "...[{}B]", total_bytes);
  const std::string_view value = std::string_view(out).substr(begin);
  if (value.empty() || value.find_first_of(" =\"") != std::string_view::npos) {
    out.insert(begin, 1, '"');
    out.push_back('"');
  }
}

// Event and field names are identifiers written in code; anything else is replaced
// so a name cannot smuggle a line break or a value into the output.
void append_name(std::string_view name, std::string_view fallback, std::string& out) {
  name = name.substr(0, std::min(name.size(), kMaxNameBytes));
  if (name.empty()) {
    out.append(fallback);
    return;
  }
  const size_t begin = out.size();
  out.append(name);
  for (size_t i = begin; i < out.size(); ++i) {
    const char c = out[i];
    const bool allowed =
        is_letter(c) || is_digit(c) || c == '_' || c == '.' || c == '-' || c == ':';
    if (!allowed) out[i] = '_';
  }
}

std::string_view last_name_part(std::string_view name) {
  for (size_t i = name.size(); i > 0; --i) {
    const char c = name[i - 1];
    if (c == '_' || c == '.' || c == '-') return name.substr(i);
  }
  return name;
}

// Whether `name`, or its last part, is one of `names` (lower case), ignoring case.
template <size_t N>
bool name_in(std::string_view name, const std::array<std::string_view, N>& names) {
  const std::string_view part = last_name_part(name);
  for (std::string_view candidate : names) {
    if ((candidate.size() == part.size() && ascii_iequals(part, candidate)) ||
        (candidate.size() == name.size() && ascii_iequals(name, candidate))) {
      return true;
    }
  }
  return false;
}

enum class NameKind : unsigned char { kPlain, kBody, kSecret };

NameKind classify_name(std::string_view name) {
  if (name_in(name, kBodyNames)) return NameKind::kBody;
  if (name_in(name, kSecretNames)) return NameKind::kSecret;
  return NameKind::kPlain;
}

// Field names are identifiers written in code, so the same few recur on every line (an
// access log line has five): each thread remembers the verdicts of names it classified,
// one per slot, instead of comparing each against both lists again.
NameKind name_kind(std::string_view name) {
  constexpr size_t kMaxRememberedName = 32;
  struct Slot {
    std::string name;  // empty: nothing remembered here
    NameKind kind = NameKind::kPlain;
  };
  thread_local std::array<Slot, 64> slots;
  Slot& slot = slots[std::hash<std::string_view>{}(name) % slots.size()];
  if (!name.empty() && slot.name == name) return slot.kind;
  const NameKind kind = classify_name(name);
  if (!name.empty() && name.size() <= kMaxRememberedName) {
    slot.name.assign(name);
    slot.kind = kind;
  }
  return kind;
}

void append_value(const Field& field, std::string& out) {
  switch (name_kind(field.name)) {
    case NameKind::kBody:
      out.append(kOmitted);
      return;
    case NameKind::kSecret:
      out.append(kRedacted);
      return;
    case NameKind::kPlain:
      break;
  }
  switch (field.kind) {
    case Field::Kind::kSigned:
      fmt::format_to(std::back_inserter(out), "{}", field.signed_value);
      return;
    case Field::Kind::kUnsigned:
      fmt::format_to(std::back_inserter(out), "{}", field.unsigned_value);
      return;
    case Field::Kind::kDouble:
      fmt::format_to(std::back_inserter(out), "{}", field.double_value);
      return;
    case Field::Kind::kBool:
      out.append(field.bool_value ? "true" : "false");
      return;
    case Field::Kind::kText:
      append_text(field.text, field.text_total_bytes, out);
      return;
  }
  out.append(kOmitted);
}

void emit_line(Level level, const std::string& line) {
  State& current = state();
  std::function<void(std::string_view)> sink;
  if (current.has_sink.load(std::memory_order_acquire)) {
    std::lock_guard lock(current.sink_mutex);
    sink = current.sink;
  }
  if (sink) {
    sink(line);
  } else {
    current.logger->log(to_spdlog(level), "{}", line);
  }
}

void emit(Level level, std::string_view event, std::initializer_list<Field> fields) {
  if (!enabled(level)) return;
  emit_line(level, format_event(event, fields));
}

// A caller's text as field() keeps it: a bounded prefix, and its whole size.
std::string_view kept_text(std::string_view text) {
  return text.substr(0, std::min(text.size(), kMaxStoredTextBytes));
}

}  // namespace

Field field(std::string_view name, std::string_view text) {
  Field result;
  result.name = std::string(name);
  result.kind = Field::Kind::kText;
  result.text = std::string(kept_text(text));
  result.text_total_bytes = text.size();
  return result;
}

Field field(std::string_view name, const char* text) {
  return field(name, text ? std::string_view(text) : std::string_view("(null)"));
}

Field field(std::string_view name, bool value) {
  Field result;
  result.name = std::string(name);
  result.kind = Field::Kind::kBool;
  result.bool_value = value;
  return result;
}

Field field(std::string_view name, double value) {
  Field result;
  result.name = std::string(name);
  result.kind = Field::Kind::kDouble;
  result.double_value = value;
  return result;
}

Field signed_field(std::string_view name, int64_t value) {
  Field result;
  result.name = std::string(name);
  result.kind = Field::Kind::kSigned;
  result.signed_value = value;
  return result;
}

Field unsigned_field(std::string_view name, uint64_t value) {
  Field result;
  result.name = std::string(name);
  result.kind = Field::Kind::kUnsigned;
  result.unsigned_value = value;
  return result;
}

std::string format_event(std::string_view event, std::initializer_list<Field> fields) {
  std::string line;
  line.reserve(128);
  append_name(event, "event", line);
  for (const Field& field : fields) {
    line.push_back(' ');
    append_name(field.name, "field", line);
    line.push_back('=');
    append_value(field, line);
  }
  return line;
}

// The access line up to its status: "http_request method=… route=…", formatted as
// append_text formats them. A server sees a handful of (method, route) pairs, so each
// thread keeps the last few, until the registered secrets change. Only the common
// methods are kept: the method is the client's text, and a cache must not hold on to
// whatever a client sent.
const std::string& request_prefix(std::string_view method, std::string_view route) {
  struct Entry {
    std::string method;
    std::string route;
    uint64_t generation = 0;
    std::string text;
  };
  constexpr size_t kMaxCachedRouteBytes = 256;
  thread_local std::array<Entry, 8> entries;
  thread_local size_t next_entry = 0;
  thread_local Entry uncached;
  const uint64_t generation = registered_secrets_generation();
  for (const Entry& entry : entries) {
    if (!entry.text.empty() && entry.generation == generation && entry.method == method &&
        entry.route == route) {
      return entry.text;
    }
  }
  constexpr std::array<std::string_view, 7> kCommonMethods = {"GET",  "POST",   "PUT",    "PATCH",
                                                              "HEAD", "DELETE", "OPTIONS"};
  const bool common =
      route.size() <= kMaxCachedRouteBytes &&
      std::find(kCommonMethods.begin(), kCommonMethods.end(), method) != kCommonMethods.end();
  Entry& entry = common ? entries[next_entry++ % entries.size()] : uncached;
  entry.method.assign(common ? method : std::string_view());
  entry.route.assign(common ? route : std::string_view());
  entry.generation = generation;
  entry.text.assign("http_request method=");
  append_text(kept_text(method), method.size(), entry.text);
  entry.text.append(" route=");
  append_text(kept_text(route), route.size(), entry.text);
  return entry.text;
}

std::string format_http_request(std::string_view method, std::string_view route, int status,
                                double latency_ms, std::string_view user_id) {
  // The names are plain (HttpRequestLineIsTheGenericLine checks they classify so), so
  // only the values need the work format_event does.
  std::string line;
  line.reserve(128);
  line.append(request_prefix(method, route));
  line.append(" status=");
  fmt::format_to(std::back_inserter(line), "{}", status);
  line.append(" latency_ms=");
  fmt::format_to(std::back_inserter(line), "{}", latency_ms);
  line.append(" user_id=");
  append_text(kept_text(user_id), user_id.size(), line);
  return line;
}

void http_request(std::string_view method, std::string_view route, int status, double latency_ms,
                  std::string_view user_id, bool deferred) {
  if (!enabled(Level::kInfo)) return;
  t_deferring = deferred;
  emit_line(Level::kInfo, format_http_request(method, route, status, latency_ms, user_id));
  t_deferring = false;
}

void flush_deferred() { state().logger->flush(); }

void trace(std::string_view event, std::initializer_list<Field> fields) {
  emit(Level::kTrace, event, fields);
}
void debug(std::string_view event, std::initializer_list<Field> fields) {
  emit(Level::kDebug, event, fields);
}
void info(std::string_view event, std::initializer_list<Field> fields) {
  emit(Level::kInfo, event, fields);
}
void warn(std::string_view event, std::initializer_list<Field> fields) {
  emit(Level::kWarn, event, fields);
}
void error(std::string_view event, std::initializer_list<Field> fields) {
  emit(Level::kError, event, fields);
}

bool enabled(Level level) {
  const Level threshold = current_level();
  return threshold != Level::kOff && level != Level::kOff && level >= threshold;
}

void set_level(Level level) { state().level.store(level); }

Level current_level() { return state().level.load(); }

std::optional<Level> parse_level(std::string_view name) {
  if (ascii_iequals(name, "trace")) return Level::kTrace;
  if (ascii_iequals(name, "debug")) return Level::kDebug;
  if (ascii_iequals(name, "info")) return Level::kInfo;
  if (ascii_iequals(name, "warn") || ascii_iequals(name, "warning")) return Level::kWarn;
  if (ascii_iequals(name, "error")) return Level::kError;
  if (ascii_iequals(name, "off")) return Level::kOff;
  return std::nullopt;
}

void set_sink_for_testing(std::function<void(std::string_view line)> sink) {
  State& current = state();
  std::lock_guard lock(current.sink_mutex);
  current.sink = std::move(sink);
  current.has_sink.store(static_cast<bool>(current.sink), std::memory_order_release);
}

}  // namespace joey::log
