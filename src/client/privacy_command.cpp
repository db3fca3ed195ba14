#include "client/privacy_command.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "client/exit_codes.h"
#include "llm/egress_log.h"

namespace joey::client {
namespace {

using nlohmann::json;

struct Coverage {
  std::string_view promises;
  std::string_view summary;
};

Coverage coverage_of(std::string_view purpose) {
  if (purpose == "model") {
    return {"P1, P2, P3",
            "your code and prompts go only to the model endpoint you configured, the key only in "
            "its auth header, over TLS"};
  }
  if (purpose == "telemetry") {
    return {"P4", "anonymous, allow-listed usage events; off with: joey config set telemetry off"};
  }
  if (purpose == "cloud") return {"P7", "task messages reach the Cloud only when you enabled it"};
  if (purpose == "marketplace") return {"P5", "only the search query: no auth, cookie or id"};
  if (purpose == "mcp") return {"P1", "only to MCP servers you configured"};
  return {"P3", "TLS with verified certificates (plain http only to loopback)"};
}

struct Group {
  std::string host;
  std::string purpose;
  uint64_t requests = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  std::string first;
  std::string last;
  int64_t first_seconds = 0;
  int64_t last_seconds = 0;
  std::map<std::string, uint64_t> statuses;
};

struct Report {
  std::vector<Group> groups;
  uint64_t total_requests = 0;
  uint64_t skipped_lines = 0;
};

struct Flags {
  std::string since = "all";
  bool json_output = false;
};

void print_error(std::FILE* err, const std::string& message) {
  std::fprintf(err, "joey: error: %s\n", message.c_str());
}

std::string human_bytes(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < (1u << 20)) return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024);
  if (bytes < (1ull << 30)) {
    return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1u << 20));
  }
  return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / (1ull << 30));
}

// Adds the lines of `text` (one log file) to `groups`.
void read_lines(std::string_view text, const std::optional<int64_t>& cutoff,
                std::map<std::pair<std::string, std::string>, Group>& groups, Report& report) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    std::optional<llm::EgressRecord> record = llm::parse_egress_line(line);
    std::optional<int64_t> seconds;
    if (record) seconds = llm::parse_utc_timestamp(record->time);
    if (!record || !seconds) {
      ++report.skipped_lines;
      continue;
    }
    if (cutoff && *seconds < *cutoff) continue;
    Group& group = groups[{record->host, record->purpose}];
    if (group.requests == 0 || *seconds < group.first_seconds) {
      group.first_seconds = *seconds;
      group.first = record->time;
    }
    if (group.requests == 0 || *seconds >= group.last_seconds) {
      group.last_seconds = *seconds;
      group.last = record->time;
    }
    group.host = record->host;
    group.purpose = record->purpose;
    ++group.requests;
    group.bytes_sent += record->bytes_sent;
    group.bytes_received += record->bytes_received;
    ++group.statuses[record->status.empty() ? "unknown" : record->status];
    ++report.total_requests;
  }
}

Result<Report> build_report(const llm::EgressLog& log, const std::optional<int64_t>& cutoff) {
  std::map<std::pair<std::string, std::string>, Group> groups;
  Report report;
  for (const std::filesystem::path& path : {log.rotated_path(), log.path()}) {
    Result<std::string> text = read_file_to_string(path);
    if (!text.ok()) {
      if (text.error().kind == ErrorKind::kNotFound) continue;
      return make_error(ErrorKind::kIo,
                        "cannot read " + path.string() + ": " + text.error().message);
    }
    read_lines(text.value(), cutoff, groups, report);
  }
  for (auto& entry : groups) report.groups.push_back(std::move(entry.second));
  std::stable_sort(report.groups.begin(), report.groups.end(),
                   [](const Group& a, const Group& b) { return a.requests > b.requests; });
  return report;
}

std::string statuses_text(const std::map<std::string, uint64_t>& statuses) {
  std::string text;
  for (const auto& [status, count] : statuses) {
    if (!text.empty()) text += ", ";
    text += fmt::format("{} ×{}", status, count);
  }
  return text;
}

void print_text(std::FILE* out, const Report& report, const llm::EgressLog& log, const Flags& flags,
                const std::optional<int64_t>& cutoff) {
  const std::string period =
      cutoff ? "since " + llm::format_utc_timestamp(*cutoff) + " (last " + flags.since + ")"
             : "all recorded";
  std::fprintf(out, "Outbound requests, %s, from %s\n", period.c_str(), log.path().c_str());
  if (report.groups.empty()) {
    std::fprintf(out, "\nNo outbound requests recorded.\n");
  }
  for (const Group& group : report.groups) {
    const Coverage coverage = coverage_of(group.purpose);
    std::fprintf(out, "\n%s  purpose: %s  (covered by %.*s)\n", group.host.c_str(),
                 group.purpose.c_str(), static_cast<int>(coverage.promises.size()),
                 coverage.promises.data());
    std::fprintf(out, "  %llu request%s, %s sent, %s received\n",
                 static_cast<unsigned long long>(group.requests), group.requests == 1 ? "" : "s",
                 human_bytes(group.bytes_sent).c_str(), human_bytes(group.bytes_received).c_str());
    std::fprintf(out, "  first %s, last %s\n", group.first.c_str(), group.last.c_str());
    std::fprintf(out, "  statuses: %s\n", statuses_text(group.statuses).c_str());
    std::fprintf(out, "  %.*s\n", static_cast<int>(coverage.summary.size()),
                 coverage.summary.data());
  }
  if (!report.groups.empty()) {
    std::fprintf(
        out, "\n%llu request%s in total. The log never holds bodies, headers or query strings.\n",
        static_cast<unsigned long long>(report.total_requests),
        report.total_requests == 1 ? "" : "s");
  }
  if (report.skipped_lines > 0) {
    std::fprintf(out, "%llu unreadable line%s skipped\n",
                 static_cast<unsigned long long>(report.skipped_lines),
                 report.skipped_lines == 1 ? "" : "s");
  }
}

void print_json(std::FILE* out, const Report& report, const llm::EgressLog& log, const Flags& flags,
                const std::optional<int64_t>& cutoff) {
  json document = json::object();
  document["log"] = log.path().string();
  document["since"] = flags.since;
  document["since_time"] = cutoff ? json(llm::format_utc_timestamp(*cutoff)) : json(nullptr);
  document["total_requests"] = report.total_requests;
  document["skipped_lines"] = report.skipped_lines;
  json groups = json::array();
  for (const Group& group : report.groups) {
    const Coverage coverage = coverage_of(group.purpose);
    json statuses = json::object();
    for (const auto& [status, count] : group.statuses) statuses[status] = count;
    groups.push_back({{"host", group.host},
                      {"purpose", group.purpose},
                      {"promises", std::string(coverage.promises)},
                      {"covered_by", std::string(coverage.summary)},
                      {"requests", group.requests},
                      {"bytes_sent", group.bytes_sent},
                      {"bytes_received", group.bytes_received},
                      {"first", group.first},
                      {"last", group.last},
                      {"statuses", statuses}});
  }
  document["groups"] = groups;
  std::fprintf(out, "%s\n", document.dump(2, ' ', false, json::error_handler_t::replace).c_str());
}

int run_report(const PrivacyCommandOptions& options, const Flags& flags) {
  const std::optional<int64_t> since = parse_since(flags.since);
  if (!since) {
    print_error(options.err, "--since takes a duration like 7d, 24h or 30m, or \"all\" (got \"" +
                                 flags.since + "\")");
    return kExitUsage;
  }
  std::filesystem::path path = options.egress_log;
  if (path.empty()) {
    Result<std::filesystem::path> located = llm::EgressLog::default_path();
    if (!located.ok()) {
      print_error(options.err, located.error().message);
      return kExitFailed;
    }
    path = std::move(located).value();
  }
  const llm::EgressLog log(path);
  const int64_t now = options.now.value_or(static_cast<int64_t>(std::time(nullptr)));
  std::optional<int64_t> cutoff;
  if (*since > 0) cutoff = now - *since;
  Result<Report> report = build_report(log, cutoff);
  if (!report.ok()) {
    print_error(options.err, report.error().message);
    return kExitFailed;
  }
  if (flags.json_output) {
    print_json(options.out, report.value(), log, flags, cutoff);
  } else {
    print_text(options.out, report.value(), log, flags, cutoff);
  }
  return kExitOk;
}

}  // namespace

std::optional<int64_t> parse_since(std::string_view text) {
  if (text == "all") return 0;
  if (text.size() < 2) return std::nullopt;
  const char unit = text.back();
  const std::string_view digits = text.substr(0, text.size() - 1);
  int64_t count = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  if (error != std::errc() || end != digits.data() + digits.size() || count <= 0 ||
      count > 100'000) {
    return std::nullopt;
  }
  switch (unit) {
    case 'd':
      return count * 86'400;
    case 'h':
      return count * 3'600;
    case 'm':
      return count * 60;
    default:
      return std::nullopt;
  }
}

void register_privacy_command(CLI::App& app, int& exit_code) {
  register_privacy_command(app, exit_code, PrivacyCommandOptions{});
}

void register_privacy_command(CLI::App& app, int& exit_code, const PrivacyCommandOptions& options) {
  auto flags = std::make_shared<Flags>();
  CLI::App* privacy = app.add_subcommand("privacy", "See what joey sent off this machine");
  privacy->require_subcommand(1);
  CLI::App* report = privacy->add_subcommand(
      "report", "Every outbound request from the local egress log, by host and purpose");
  report->add_option("--since", flags->since,
                     "only requests in the last 7d, 24h, 30m (default all)");
  report->add_flag("--json", flags->json_output, "print one JSON object");
  report->callback([flags, options, &exit_code] { exit_code = run_report(options, *flags); });
}

}  // namespace joey::client
