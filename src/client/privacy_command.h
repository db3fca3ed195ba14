// `joey privacy report [--since 7d|24h|30m|all] [--json]` (privacy promise P13): what
// left this machine, read from the egress log ($JOEY_HOME/egress.log and its rotated
// egress.log.1, see llm/egress_log.h), grouped by host and purpose: request count,
// bytes sent and received, first and last time, statuses, and the promise that covers
// the purpose (model → P1, P2, P3; telemetry → P4; cloud → P7; marketplace → P5;
// mcp → P1; other → P3).
//
// Lines that cannot be read are skipped and counted, never fatal. Without a log the
// report says that nothing was recorded. --json prints one object:
//   {"log": PATH, "since": "7d"|"all", "since_time": ISO|null, "total_requests": N,
//    "skipped_lines": N, "groups": [{"host","purpose","promises","covered_by",
//    "requests","bytes_sent","bytes_received","first","last","statuses":{S: N}}]}
// Groups are ordered by request count, most first.
//
// Errors print "joey: error: ..." on stderr; exit status 0 done, 1 failed (an
// unreadable log), 2 bad usage (a --since that is not Nd, Nh, Nm or "all").
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string_view>

namespace CLI {
class App;
}

namespace joey::client {

struct PrivacyCommandOptions {
  std::FILE* out = stdout;
  std::FILE* err = stderr;
  // Empty: $JOEY_HOME/egress.log.
  std::filesystem::path egress_log;
  // Seconds since the epoch used as "now" for --since; nullopt: the clock. For tests.
  std::optional<int64_t> now;
};

void register_privacy_command(CLI::App& app, int& exit_code);
void register_privacy_command(CLI::App& app, int& exit_code, const PrivacyCommandOptions& options);

// Seconds in a --since value: "7d", "24h", "30m"; 0 for "all"; nullopt otherwise.
std::optional<int64_t> parse_since(std::string_view text);

}  // namespace joey::client
