// joey's one redactor (privacy promise P2): every text that may hold a credential
// passes through redact() before it reaches a log line, an error message shown to the
// user, task history, a Cloud upload or a telemetry event.
//
// redact() replaces with "[REDACTED]":
//   - every registered secret's exact value (register_secret; the keys joey loads),
//   - known key shapes: "sk-…" keys (sk-ant-…, sk-or-…, sk-proj-…: "sk-" then 16 or
//     more key characters including a digit), "Bearer <token>" (the token, when it is
//     8+ characters with a digit), AWS access key ids (AKIA/ASIA + 16 upper-case
//     letters or digits), PEM private key blocks ("-----BEGIN … PRIVATE KEY-----" to
//     the matching END line, or to the end of the text when it is cut), and JWTs
//     (three base64url parts separated by dots, the first starting "eyJ").
// Ordinary prose, code, paths, ids and hashes are left as they are.
//
// RedactScope::kLogLine is the stricter mode of the logger: it also replaces the value
// after a credential-like name ("api_key=…", "password: …", "token=…", any
// "Bearer/Basic …"), and long hex or base64 runs (32+ characters that look random). It
// is too eager for code or messages, right for log lines.
//
// Output never grows by more than "[REDACTED]" per replaced value, bytes that are not
// valid UTF-8 are copied through untouched, and the function never fails.
//
// Thread-safety: every function may be called from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace joey {

inline constexpr std::string_view kRedactedMarker = "[REDACTED]";

enum class RedactScope { kText, kLogLine };

std::string redact(std::string_view text, RedactScope scope = RedactScope::kText);

// Adds `value` to the secrets redact() replaces wherever they occur. Values shorter
// than 8 bytes are ignored (they would match ordinary text); a value registered twice
// is kept once.
void register_secret(std::string value);

// Forgets every registered secret. For tests only.
void clear_registered_secrets_for_testing();

// Changes whenever the registered secrets do: text redacted while it stays the same may
// be reused (the access line keeps its method and route part this way).
uint64_t registered_secrets_generation();

}  // namespace joey
