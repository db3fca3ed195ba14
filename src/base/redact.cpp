#include "base/redact.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "base/strings.h"

namespace joey {
namespace {

constexpr size_t kMinRegisteredSecretBytes = 8;
constexpr size_t kMinSkKeyBodyBytes = 16;
constexpr size_t kMinBearerTokenBytes = 8;
constexpr size_t kAwsKeyIdBytes = 20;
constexpr size_t kMinJwtHeaderBytes = 8;
constexpr size_t kMinJwtPayloadBytes = 2;
constexpr size_t kMinSecretRunBytes = 32;
constexpr size_t kMinSecretSegmentBytes = 20;

// Words that, followed by ':' or '=', introduce a credential inside a log line.
constexpr std::array<std::string_view, 8> kSecretKeySuffixes = {
    "api-key", "api_key", "apikey", "authorization", "password", "passwd", "secret", "token"};

struct Registry {
  std::shared_mutex mutex;
  std::vector<std::string> secrets;     // GUARDED_BY(mutex); longest first
  std::atomic<uint64_t> generation{0};  // bumped, under the unique lock, on every change
};

// Never destroyed, so that redacting from other static destructors stays safe.
Registry& registry() {
  static Registry* const instance = new Registry();
  return *instance;
}

char lower_char(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || is_upper(c); }
bool is_hex(char c) { return is_digit(c) || (lower_char(c) >= 'a' && lower_char(c) <= 'f'); }
bool is_space(char c) { return c == ' ' || c == '\t'; }
bool is_base64url(char c) { return is_digit(c) || is_letter(c) || c == '_' || c == '-'; }
// Characters of API keys, hex digests and base64/base64url strings.
bool is_token_char(char c) { return is_base64url(c) || c == '+' || c == '/'; }
// Where a credential value written after "key:" or "Bearer" ends.
bool ends_value(char c) {
  return is_space(c) || c == '\n' || c == '\r' || c == '"' || c == '\'' || c == ',' || c == ';' ||
         c == '&' || c == ')' || c == ']' || c == '}' || c == '<' || c == '>';
}

bool has_digit(std::string_view text) { return std::any_of(text.begin(), text.end(), is_digit); }

bool ascii_iends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         ascii_iequals(text.substr(text.size() - suffix.size()), suffix);
}

std::string replace_registered(std::string_view text) {
  Registry& current = registry();
  std::shared_lock lock(current.mutex);
  std::string out(text);
  for (const std::string& secret : current.secrets) {
    size_t pos = out.find(secret);
    while (pos != std::string::npos) {
      out.replace(pos, secret.size(), kRedactedMarker);
      pos = out.find(secret, pos + kRedactedMarker.size());
    }
  }
  return out;
}

// Replaces "-----BEGIN <label> PRIVATE KEY-----" … "-----END <label> PRIVATE KEY-----"
// (or everything after a BEGIN line whose END was cut off).
std::string replace_private_key_blocks(std::string text) {
  constexpr std::string_view kBegin = "-----BEGIN ";
  constexpr std::string_view kDashes = "-----";
  size_t search = 0;
  while (true) {
    const size_t begin = text.find(kBegin, search);
    if (begin == std::string::npos) return text;
    const size_t label_start = begin + kBegin.size();
    const size_t label_end = text.find(kDashes, label_start);
    const size_t line_end = text.find('\n', label_start);
    if (label_end == std::string::npos || (line_end != std::string::npos && line_end < label_end)) {
      search = label_start;
      continue;
    }
    const std::string label = text.substr(label_start, label_end - label_start);
    if (!ascii_iends_with(label, "PRIVATE KEY")) {
      search = label_end;
      continue;
    }
    const std::string end_line = "-----END " + label + "-----";
    const size_t end = text.find(end_line, label_end);
    const size_t stop = end == std::string::npos ? text.size() : end + end_line.size();
    text.replace(begin, stop - begin, kRedactedMarker);
    search = begin + kRedactedMarker.size();
  }
}

// Length of a JWT starting at `pos` (header "eyJ…" '.' payload '.' signature), or 0.
size_t jwt_length(std::string_view text, size_t pos) {
  if (text.substr(pos, 3) != "eyJ") return 0;
  size_t end = pos;
  std::array<size_t, 3> parts{};
  for (size_t part = 0; part < parts.size(); ++part) {
    const size_t start = end;
    while (end < text.size() && is_base64url(text[end])) ++end;
    parts[part] = end - start;
    if (part + 1 < parts.size()) {
      if (end >= text.size() || text[end] != '.') return 0;
      ++end;
    }
  }
  if (parts[0] < kMinJwtHeaderBytes || parts[1] < kMinJwtPayloadBytes) return 0;
  return end - pos;
}

bool is_sk_key(std::string_view run) {
  if (run.substr(0, 3) != "sk-") return false;
  const std::string_view body = run.substr(3);
  return body.size() >= kMinSkKeyBodyBytes && has_digit(body);
}

bool is_aws_key_id(std::string_view run) {
  if (run.size() != kAwsKeyIdBytes) return false;
  if (run.substr(0, 4) != "AKIA" && run.substr(0, 4) != "ASIA") return false;
  return std::all_of(run.begin() + 4, run.end(), [](char c) { return is_upper(c) || is_digit(c); });
}

bool looks_like_random_run(std::string_view run) {
  if (run.size() < kMinSecretRunBytes) return false;
  bool all_hex = true;
  bool digit = false;
  bool letter = false;
  size_t segment = 0;
  size_t longest_segment = 0;
  for (char c : run) {
    all_hex = all_hex && is_hex(c);
    digit = digit || is_digit(c);
    letter = letter || is_letter(c);
    segment = c == '/' ? 0 : segment + 1;
    longest_segment = std::max(longest_segment, segment);
  }
  // Paths are runs too ("src/agent/tool_runner"); random strings have long segments.
  return all_hex || (digit && letter && longest_segment >= kMinSecretSegmentBytes);
}

bool is_secret_key_name(std::string_view run) {
  return std::any_of(kSecretKeySuffixes.begin(), kSecretKeySuffixes.end(),
                     [run](std::string_view suffix) { return ascii_iends_with(run, suffix); });
}

size_t skip_spaces(std::string_view text, size_t pos) {
  while (pos < text.size() && is_space(text[pos])) ++pos;
  return pos;
}

// After a key name at `pos`: optional quote and spaces, ':' or '=', optional spaces
// and quote. Returns the position of the value, or npos when there is no separator.
size_t skip_key_separator(std::string_view text, size_t pos) {
  if (pos < text.size() && (text[pos] == '"' || text[pos] == '\'')) ++pos;
  pos = skip_spaces(text, pos);
  if (pos >= text.size() || (text[pos] != ':' && text[pos] != '=')) return std::string_view::npos;
  pos = skip_spaces(text, pos + 1);
  if (pos < text.size() && (text[pos] == '"' || text[pos] == '\'')) ++pos;
  return pos;
}

size_t value_end(std::string_view text, size_t pos) {
  while (pos < text.size() && !ends_value(text[pos])) ++pos;
  return pos;
}

// Log lines: copies an optional auth scheme word ("Bearer ", "Basic ") at `pos`, then
// replaces whatever credential value follows. Returns the position after the value.
size_t redact_any_value(std::string_view text, size_t pos, std::string& out) {
  for (std::string_view scheme : {std::string_view("bearer"), std::string_view("basic")}) {
    if (ascii_istarts_with(text.substr(pos), scheme) && pos + scheme.size() < text.size() &&
        is_space(text[pos + scheme.size()])) {
      const size_t value = skip_spaces(text, pos + scheme.size());
      out.append(text.substr(pos, value - pos));
      pos = value;
      break;
    }
  }
  if (text.substr(pos, kRedactedMarker.size()) == kRedactedMarker) {
    out.append(kRedactedMarker);  // already redacted
    return pos + kRedactedMarker.size();
  }
  const size_t end = value_end(text, pos);
  if (end > pos) out.append(kRedactedMarker);
  return end;
}

std::string redact_shapes(std::string_view text, RedactScope scope) {
  const bool log_line = scope == RedactScope::kLogLine;
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    if (!is_token_char(text[pos])) {
      out.push_back(text[pos++]);
      continue;
    }
    // In escaped text (JSON tool arguments, "a\\nsk-…") the letter of an escape like
    // \\n is not part of the word that follows it.
    if (pos > 0 && text[pos - 1] == '\\' &&
        std::string_view("nrtbf").find(text[pos]) != std::string_view::npos) {
      out.push_back(text[pos++]);
      continue;
    }
    if (const size_t jwt = jwt_length(text, pos); jwt > 0) {
      out.append(kRedactedMarker);
      pos += jwt;
      continue;
    }
    size_t end = pos;
    while (end < text.size() && is_token_char(text[end])) ++end;
    const std::string_view run = text.substr(pos, end - pos);
    if (ascii_iequals(run, "bearer") && end < text.size() && is_space(text[end])) {
      if (log_line) {
        pos = redact_any_value(text, pos, out);
        continue;
      }
      const size_t value = skip_spaces(text, end);
      const size_t token_end = value_end(text, value);
      const std::string_view token = text.substr(value, token_end - value);
      if (token.size() >= kMinBearerTokenBytes && has_digit(token)) {
        out.append(text.substr(pos, value - pos));
        out.append(kRedactedMarker);
        pos = token_end;
        continue;
      }
    }
    if (log_line && is_secret_key_name(run)) {
      const size_t value = skip_key_separator(text, end);
      if (value != std::string_view::npos) {
        out.append(text.substr(pos, value - pos));
        pos = redact_any_value(text, value, out);
        continue;
      }
    }
    const bool secret =
        is_sk_key(run) || is_aws_key_id(run) || (log_line && looks_like_random_run(run));
    out.append(secret ? kRedactedMarker : run);
    pos = end;
  }
  return out;
}

}  // namespace

std::string redact(std::string_view text, RedactScope scope) {
  return redact_shapes(replace_private_key_blocks(replace_registered(text)), scope);
}

void register_secret(std::string value) {
  if (value.size() < kMinRegisteredSecretBytes) return;
  Registry& current = registry();
  std::unique_lock lock(current.mutex);
  if (std::find(current.secrets.begin(), current.secrets.end(), value) != current.secrets.end()) {
    return;
  }
  current.secrets.push_back(std::move(value));
  std::stable_sort(current.secrets.begin(), current.secrets.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  current.generation.fetch_add(1, std::memory_order_release);
}

void clear_registered_secrets_for_testing() {
  Registry& current = registry();
  std::unique_lock lock(current.mutex);
  current.secrets.clear();
  current.generation.fetch_add(1, std::memory_order_release);
}

uint64_t registered_secrets_generation() {
  return registry().generation.load(std::memory_order_acquire);
}

}  // namespace joey
