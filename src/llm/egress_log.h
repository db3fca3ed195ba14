// The egress log (privacy promise P13): one JSON line per outbound request in
// $JOEY_HOME/egress.log, read back by `joey privacy report`.
//
// A line holds only metadata, never a body, a header or a query string:
//   {"time":"2026-11-25T15:44:19Z","host":"api.openai.com","purpose":"model",
//    "method":"POST","sent":5120,"received":20480,"status":"200"}
// host is the URL's host (and its port when one is written), without userinfo, path
// or query. purpose is one of kEgressPurposes ("other" for anything else). status is
// the HTTP status, or the error class when no response came: "connect_failed",
// "resolve_failed", "tls_failed", "timeout", "cancelled", "aborted", "network_error".
//
// The file is created 0600. Each line is appended with one write() on an O_APPEND
// descriptor, so lines from several threads and several joey processes never mix.
// When the file would grow past max_bytes it is renamed to egress.log.1 (replacing the
// previous one) and a new file starts.
//
// Thread-safety: EgressLog::append and the default-log functions may be called from
// any thread.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace joey::llm {

inline constexpr std::array<std::string_view, 6> kEgressPurposes = {
    "model", "telemetry", "cloud", "marketplace", "mcp", "other"};
inline constexpr uint64_t kDefaultEgressLogMaxBytes = 5u << 20;

struct EgressRecord {
  std::string time;  // UTC ISO 8601, "YYYY-MM-DDTHH:MM:SSZ"
  std::string host;
  std::string purpose = "other";
  std::string method;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  std::string status;
};

class EgressLog {
 public:
  explicit EgressLog(std::filesystem::path path, uint64_t max_bytes = kDefaultEgressLogMaxBytes);

  // $JOEY_HOME/egress.log (the directory is created 0700 when missing).
  static Result<std::filesystem::path> default_path();

  // Appends one line for `record` (fields normalised as format_egress_line does).
  // kIo when the file cannot be opened or written; the caller carries on either way.
  Status append(const EgressRecord& record);

  const std::filesystem::path& path() const { return path_; }
  // The file the previous lines were rotated to: "<path>.1".
  std::filesystem::path rotated_path() const;

 private:
  std::filesystem::path path_;
  uint64_t max_bytes_;
  std::mutex mutex_;  // rotation within this process
};

// The process-wide log the curl transport writes to when its options name none;
// null (the start) means requests are not logged. The lead installs it at start-up.
void set_default_egress_log(std::shared_ptr<EgressLog> log);
std::shared_ptr<EgressLog> default_egress_log();

// One JSON object, no newline. An unknown purpose becomes "other"; host, method and
// status are cut to short bounded lengths.
std::string format_egress_line(const EgressRecord& record);

// The record in one line (trailing "\r\n" ignored), or nullopt when the line is not a
// JSON object with a string time in the format above, a string host and purpose and
// non-negative integer byte counts. Unknown purposes read as "other"; method and
// status may be missing (empty). Never throws, whatever the bytes.
std::optional<EgressRecord> parse_egress_line(std::string_view line);

// "host" or "host:port" of a URL, without userinfo, path, query or fragment; IPv6
// hosts keep their brackets. "" when the URL cannot be parsed.
std::string egress_host(const std::string& url);

// The current time as "YYYY-MM-DDTHH:MM:SSZ".
std::string utc_timestamp_now();
// `seconds` since the epoch as "YYYY-MM-DDTHH:MM:SSZ" (UTC), the form utc_timestamp_now writes.
std::string format_utc_timestamp(int64_t seconds);
// Seconds since the epoch of a "YYYY-MM-DDTHH:MM:SS[.fff]Z" time, or nullopt.
std::optional<int64_t> parse_utc_timestamp(std::string_view text);

}  // namespace joey::llm
