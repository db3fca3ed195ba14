#include "agent/events.h"

#include "base/json.h"
#include "base/terminal_text.h"

#include <cinttypes>
#include <cmath>

namespace joey::agent {

std::string with_thousands(int64_t value) {
  std::string digits = std::to_string(value);
  std::string out;
  int count = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (count > 0 && count % 3 == 0 && *it != '-') out.insert(out.begin(), ',');
    out.insert(out.begin(), *it);
    ++count;
  }
  return out;
}

// The argument a person wants to see: the path, command or query, else the JSON.
std::string brief_arguments(const std::string& arguments) {
  std::string brief = arguments;
  nlohmann::json parsed = parse_json(arguments);
  if (parsed.is_object()) {
    for (const char* key : {"command", "path", "question"}) {
      auto found = parsed.find(key);
      if (found != parsed.end() && found->is_string()) {
        brief = found->get<std::string>();
        if (std::string_view(key) == "path" && parsed.contains("regex") &&
            parsed["regex"].is_string()) {
          brief = "/" + parsed["regex"].get<std::string>() + "/ in " + brief;
        }
        break;
      }
    }
  }
  if (brief.size() > 160) brief = brief.substr(0, 157) + "...";
  for (char& c : brief) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return brief;
}

namespace {

// Costs are sums of tiny floating-point products; round away the noise.
double rounded_cost(double cost) { return std::round(cost * 1e10) / 1e10; }

class JsonLinesEvents final : public EventSink {
 public:
  JsonLinesEvents(std::FILE* out, std::FILE* err) : out_(out), err_(err) {}

  void task_started(const std::string& task_id, const std::string& mode,
                    const std::string& provider, const std::string& model) override {
    emit({{"type", "task_started"},
          {"task_id", task_id},
          {"mode", mode},
          {"provider", provider},
          {"model", model}});
  }
  void text(std::string_view piece) override {
    emit({{"type", "text"}, {"text", std::string(piece)}});
  }
  void tool_call(const std::string& id, const std::string& name,
                 const std::string& arguments) override {
    nlohmann::json parsed = parse_json(arguments);
    emit({{"type", "tool_call"},
          {"id", id},
          {"name", name},
          {"arguments", parsed.is_discarded() ? nlohmann::json(arguments) : parsed}});
  }
  void tool_result(const std::string& id, const std::string& name, bool ok,
                   const std::string& summary) override {
    emit({{"type", "tool_result"}, {"id", id}, {"name", name}, {"ok", ok}, {"summary", summary}});
  }
  void command_output(std::string_view) override {}  // stdout carries only events
  void approval_required(const std::string& tool, const std::string& kind,
                         const std::string& description) override {
    emit({{"type", "approval_required"},
          {"tool", tool},
          {"kind", kind},
          {"description", description}});
  }
  void usage(const UsageTotals& totals) override {
    emit({{"type", "usage"},
          {"input_tokens", totals.usage.input_tokens},
          {"output_tokens", totals.usage.output_tokens},
          {"cache_read_tokens", totals.usage.cache_read_tokens},
          {"cache_write_tokens", totals.usage.cache_write_tokens},
          {"cost_usd",
           totals.cost_usd ? nlohmann::json(rounded_cost(*totals.cost_usd)) : nlohmann::json()}});
  }
  void condensed(int64_t tokens_before, int64_t tokens_after) override {
    emit({{"type", "condensed"}, {"tokens_before", tokens_before}, {"tokens_after", tokens_after}});
  }
  void notice(const std::string& message) override {
    std::fprintf(err_, "joey: %s\n", message.c_str());
    std::fflush(err_);
  }
  void error(const std::string& kind, const std::string& message) override {
    emit({{"type", "error"}, {"kind", kind}, {"message", message}});
  }
  void completion(const std::string& result) override {
    emit({{"type", "completion"}, {"result", result}});
  }

 private:
  void emit(const nlohmann::json& event) {
    std::string line = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), out_);
    std::fflush(out_);
  }

  std::FILE* out_;
  std::FILE* err_;
};

class TextEvents final : public EventSink {
 public:
  TextEvents(std::FILE* out, std::FILE* err) : out_(out), err_(err) {}

  void task_started(const std::string&, const std::string& mode, const std::string& provider,
                    const std::string& model) override {
    std::fprintf(err_, "joey · %s · %s/%s\n", mode.c_str(), provider.c_str(), model.c_str());
    std::fflush(err_);
  }
  // Text from the model, a command or a file is neutralised (base/terminal_text.h): it
  // must not drive the terminal of the person reading.
  void text(std::string_view piece) override { write(text_sanitizer_.feed(piece)); }
  void tool_call(const std::string&, const std::string& name,
                 const std::string& arguments) override {
    end_line();
    std::string brief = name == "attempt_completion" ? "" : brief_arguments(arguments);
    std::fprintf(out_, "→ %s %s\n", sanitize_for_terminal(name).c_str(),
                 sanitize_for_terminal(brief).c_str());
    std::fflush(out_);
  }
  void tool_result(const std::string&, const std::string&, bool ok,
                   const std::string& summary) override {
    end_line();
    std::fprintf(out_, "  %s %s\n", ok ? "✓" : "✗", sanitize_for_terminal(summary).c_str());
    std::fflush(out_);
  }
  void command_output(std::string_view chunk) override { write(command_sanitizer_.feed(chunk)); }
  void approval_required(const std::string& tool, const std::string& kind,
                         const std::string& description) override {
    end_line();
    std::fprintf(err_,
                 "joey: %s needs approval (%s): %s\n"
                 "joey: run with --yes to approve writes and commands without asking\n",
                 tool.c_str(), kind.c_str(), sanitize_for_terminal(description).c_str());
    std::fflush(err_);
  }
  void usage(const UsageTotals& totals) override { last_usage_ = totals; }
  void condensed(int64_t tokens_before, int64_t tokens_after) override {
    notice("condensed the conversation to stay within the context window (about " +
           with_thousands(tokens_before) + " → " + with_thousands(tokens_after) + " tokens)");
  }
  void notice(const std::string& message) override {
    end_line();
    std::fprintf(err_, "joey: %s\n", sanitize_for_terminal(message).c_str());
    std::fflush(err_);
  }
  void error(const std::string&, const std::string& message) override {
    end_line();
    std::fprintf(err_, "joey: error: %s\n", sanitize_for_terminal(message).c_str());
    print_usage();
  }
  void completion(const std::string& result) override {
    end_line();
    std::fprintf(out_, "\n%s\n", sanitize_for_terminal(result).c_str());
    print_usage();
  }

 private:
  void write(const std::string& text) {
    if (text.empty()) return;
    std::fwrite(text.data(), 1, text.size(), out_);
    at_line_start_ = text.back() == '\n';
    std::fflush(out_);
  }
  void end_line() {
    write(text_sanitizer_.finish() + command_sanitizer_.finish());
    if (!at_line_start_) {
      std::fputc('\n', out_);
      at_line_start_ = true;
    }
  }
  void print_usage() {
    std::fprintf(out_, "%s\n", format_usage_line(last_usage_).c_str());
    std::fflush(out_);
  }

  TerminalSanitizer text_sanitizer_;
  TerminalSanitizer command_sanitizer_;
  std::FILE* out_;
  std::FILE* err_;
  bool at_line_start_ = true;
  UsageTotals last_usage_;
};

}  // namespace

std::string format_usage_line(const UsageTotals& totals) {
  std::string line = "tokens: " + with_thousands(totals.usage.input_tokens) + " in · " +
                     with_thousands(totals.usage.output_tokens) + " out · " +
                     with_thousands(totals.usage.cache_read_tokens) + " cache read · " +
                     with_thousands(totals.usage.cache_write_tokens) + " cache write · ";
  if (totals.cost_usd) {
    char cost[32];
    std::snprintf(cost, sizeof cost, "$%.4f", *totals.cost_usd);
    line += cost;
  } else {
    line += "cost unknown";
  }
  return line;
}

std::unique_ptr<EventSink> make_json_lines_events(std::FILE* out, std::FILE* err) {
  return std::make_unique<JsonLinesEvents>(out, err);
}

std::unique_ptr<EventSink> make_text_events(std::FILE* out, std::FILE* err) {
  return std::make_unique<TextEvents>(out, err);
}

}  // namespace joey::agent
