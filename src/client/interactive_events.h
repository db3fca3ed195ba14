// How a task shows itself in the interactive session: the model's text rendered as
// Markdown as it streams (plain when stdout is not a colour terminal), a line per tool
// call and result, live command output, a spinner while joey waits for the model, and
// a usage line when a task ends. Everything from the model, tools or files is
// neutralised first (client/terminal.h): it cannot drive the terminal.
//
// Thread-safety: one thread; the spinner's own thread only draws on stderr.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "agent/events.h"
#include "client/markdown_renderer.h"
#include "client/terminal.h"

namespace joey::client {

class InteractiveEvents final : public agent::EventSink {
 public:
  // `colour`: ANSI styles on `out` (colour_enabled(STDOUT_FILENO)); `spinner`: animate
  // on `err` (a terminal).
  InteractiveEvents(std::FILE* out, std::FILE* err, bool colour, bool spinner);

  void task_started(const std::string& task_id, const std::string& mode,
                    const std::string& provider, const std::string& model) override;
  void text(std::string_view piece) override;
  void tool_call(const std::string& id, const std::string& name,
                 const std::string& arguments) override;
  void tool_result(const std::string& id, const std::string& name, bool ok,
                   const std::string& summary) override;
  void command_output(std::string_view chunk) override;
  void approval_required(const std::string& tool, const std::string& kind,
                         const std::string& description) override;
  void usage(const agent::UsageTotals& totals) override;
  void condensed(int64_t tokens_before, int64_t tokens_after) override;
  void notice(const std::string& message) override;
  void error(const std::string& kind, const std::string& message) override;
  void completion(const std::string& result) override;

  // Stops the spinner and ends a started line: before joey prints a prompt.
  void pause();
  // The latest totals of the task running (or last run).
  const agent::UsageTotals& last_usage() const { return last_usage_; }
  bool colour() const { return colour_; }

 private:
  void end_text();
  void end_line();
  void write(std::FILE* stream, const std::string& text);

  std::FILE* out_;
  std::FILE* err_;
  bool colour_;
  Spinner spinner_;
  MarkdownRenderer markdown_;
  TerminalSanitizer command_sanitizer_;
  bool in_text_ = false;       // model text is streaming through markdown_
  bool at_line_start_ = true;  // on out_
  agent::UsageTotals last_usage_;
};

}  // namespace joey::client
