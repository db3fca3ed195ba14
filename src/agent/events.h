// What a running task tells the person or program that started it.
//
// JsonLinesEvents writes DESIGN.md §3's JSON Lines — one object per line on stdout,
// each with "type", and nothing else on stdout. TextEvents writes for a person:
// the assistant's text as it streams, a line per tool call, live command output,
// and a closing line with tokens and cost. Both flush after every event so a
// reader sees progress immediately.
#pragma once

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "llm/conversation.h"

namespace joey::agent {

struct UsageTotals {
  llm::Usage usage;
  std::optional<double> cost_usd;  // nullopt: the model's price is unknown
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void task_started(const std::string& task_id, const std::string& mode,
                            const std::string& provider, const std::string& model) = 0;
  virtual void text(std::string_view piece) = 0;
  virtual void tool_call(const std::string& id, const std::string& name,
                         const std::string& arguments) = 0;
  virtual void tool_result(const std::string& id, const std::string& name, bool ok,
                           const std::string& summary) = 0;
  virtual void command_output(std::string_view chunk) = 0;
  virtual void approval_required(const std::string& tool, const std::string& kind,
                                 const std::string& description) = 0;
  virtual void usage(const UsageTotals& totals) = 0;
  // The conversation neared the context window and older turns were summarised.
  virtual void condensed(int64_t tokens_before, int64_t tokens_after) = 0;
  // A notice that does not end the task (a retry); not part of the JSON stream.
  virtual void notice(const std::string& message) = 0;
  virtual void error(const std::string& kind, const std::string& message) = 0;
  virtual void completion(const std::string& result) = 0;
};

std::unique_ptr<EventSink> make_json_lines_events(std::FILE* out, std::FILE* err);
std::unique_ptr<EventSink> make_text_events(std::FILE* out, std::FILE* err);

// "12,345 in · 678 out · 9 cache read · 0 cache write · $0.0123" ("cost unknown"
// when the price is not known).
std::string format_usage_line(const UsageTotals& totals);

// The part of a tool call's arguments worth a line: the command, the path (with the
// regex of a search) or the question; at most 160 bytes, on one line.
std::string brief_arguments(const std::string& arguments);

// 12345 → "12,345".
std::string with_thousands(int64_t value);

}  // namespace joey::agent
