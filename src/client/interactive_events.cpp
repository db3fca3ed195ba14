#include "client/interactive_events.h"

namespace joey::client {

InteractiveEvents::InteractiveEvents(std::FILE* out, std::FILE* err, bool colour, bool spinner)
    : out_(out), err_(err), colour_(colour), spinner_(err, spinner), markdown_(colour) {}

void InteractiveEvents::write(std::FILE* stream, const std::string& text) {
  if (text.empty()) return;
  std::fwrite(text.data(), 1, text.size(), stream);
  std::fflush(stream);
  if (stream == out_) at_line_start_ = text.back() == '\n';
}

void InteractiveEvents::end_text() {
  if (!in_text_) return;
  in_text_ = false;
  write(out_, markdown_.finish());
}

void InteractiveEvents::end_line() {
  end_text();
  if (!at_line_start_) write(out_, "\n");
}

void InteractiveEvents::pause() {
  spinner_.stop();
  end_line();
}

void InteractiveEvents::task_started(const std::string&, const std::string&, const std::string&,
                                     const std::string&) {
  last_usage_ = {};
  spinner_.start("thinking");
}

void InteractiveEvents::text(std::string_view piece) {
  spinner_.stop();
  in_text_ = true;
  write(out_, markdown_.feed(piece));
}

void InteractiveEvents::tool_call(const std::string&, const std::string& name,
                                  const std::string& arguments) {
  pause();
  std::string brief = name == "attempt_completion" ? "" : agent::brief_arguments(arguments);
  write(out_,
        style("→ " + name, Style::kCyan, colour_) + " " + sanitize_for_terminal(brief) + "\n");
}

void InteractiveEvents::tool_result(const std::string&, const std::string&, bool ok,
                                    const std::string& summary) {
  pause();
  std::string mark = ok ? style("✓", Style::kGreen, colour_) : style("✗", Style::kRed, colour_);
  write(out_,
        "  " + mark + " " + style(sanitize_for_terminal(summary), Style::kDim, colour_) + "\n");
  spinner_.start("thinking");
}

void InteractiveEvents::command_output(std::string_view chunk) {
  spinner_.stop();
  write(out_, command_sanitizer_.feed(chunk));
}

void InteractiveEvents::approval_required(const std::string&, const std::string&,
                                          const std::string&) {
  // The session's approval gate asks the person itself; nothing to announce.
}

void InteractiveEvents::usage(const agent::UsageTotals& totals) { last_usage_ = totals; }

void InteractiveEvents::condensed(int64_t tokens_before, int64_t tokens_after) {
  notice("condensed the conversation to stay within the context window (about " +
         agent::with_thousands(tokens_before) + " → " + agent::with_thousands(tokens_after) +
         " tokens)");
}

void InteractiveEvents::notice(const std::string& message) {
  pause();
  write(err_, style("joey: " + sanitize_for_terminal(message), Style::kYellow, colour_) + "\n");
}

void InteractiveEvents::error(const std::string&, const std::string& message) {
  pause();
  write(err_, style("joey: error: " + sanitize_for_terminal(message), Style::kRed, colour_) + "\n");
  write(out_, style(agent::format_usage_line(last_usage_), Style::kDim, colour_) + "\n");
}

void InteractiveEvents::completion(const std::string& result) {
  pause();
  write(out_, "\n");
  MarkdownRenderer renderer(colour_);
  std::string rendered = renderer.feed(result) + renderer.finish();
  write(out_, rendered);
  if (!at_line_start_) write(out_, "\n");
  write(out_, style(agent::format_usage_line(last_usage_), Style::kDim, colour_) + "\n");
}

}  // namespace joey::client
