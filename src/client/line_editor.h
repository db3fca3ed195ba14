// Reading lines from the user in joey's interactive session: the task prompt, slash
// commands and approval answers all come through one LineEditor.
//
// Interactive (stdin is a terminal): line editing and history through libedit's readline
// compatibility API. History lives in `history_file` (the session uses
// $JOEY_HOME/session_history), created 0600, loaded on open, rewritten after every
// add_history() and truncated to the last 1000 entries. Like bash's ignorespace, a line
// that starts with a space is not remembered (a way to keep a secret out of the file),
// and a line equal to the previous entry is not added again. Ctrl-C at the prompt
// abandons the line being typed and shows a fresh prompt, as in bash; it does not reach
// joey's Cancellation (src/base/cancel.h): read_line() installs its own SIGINT handler
// for the duration of the prompt and restores the previous one before returning.
// Prompts may hold SGR styles if each escape sequence is wrapped in \001 ... \002 so
// libedit does not count it towards the prompt's width.
//
// Not interactive (stdin is a pipe or file, as in the e2e tests): read_line() prints
// nothing and reads exactly one line from the input descriptor with read(2), one byte at a
// time, so nothing after the line is consumed; add_history() keeps nothing. Because
// nothing is buffered ahead, any code may read stdin after a read_line() returns, but
// all of joey's line reading should go through this one LineEditor.
//
// libedit's history is process-wide state, so at most one interactive LineEditor may
// exist at a time. Not thread-safe: one thread uses a LineEditor.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace joey::client {

// isatty(STDIN_FILENO).
bool stdin_is_terminal();

class LineEditor {
 public:
  // `interactive` chooses the mode (normally stdin_is_terminal()). `input_fd` is where the
  // non-interactive mode reads (tests pass a pipe); the interactive mode always uses the
  // terminal on stdin and stdout. A history file that cannot be created or read is not an
  // error: the session then runs without saved history.
  static std::unique_ptr<LineEditor> open(std::filesystem::path history_file, bool interactive,
                                          int input_fd = STDIN_FILENO);
  ~LineEditor();
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  // The next line without its line ending (a trailing "\r" is dropped too), or nullopt at
  // the end of input (Ctrl-D on an empty line, or EOF). A last line without a newline is
  // returned before nullopt. In interactive mode, Ctrl-C starts the line over.
  std::optional<std::string> read_line(const std::string& prompt);

  // Remembers `line` for the up-arrow and in the history file (interactive mode only),
  // unless it is empty, starts with a space, or equals the previous entry.
  void add_history(const std::string& line);

  // The remembered entries, oldest first (empty in non-interactive mode).
  std::vector<std::string> history_entries() const;

 private:
  LineEditor(std::filesystem::path history_file, bool interactive, int input_fd);

  std::optional<std::string> read_line_interactive(const std::string& prompt);
  std::optional<std::string> read_line_from_fd();

  std::filesystem::path history_file_;
  bool interactive_;
  int input_fd_;
  bool at_end_ = false;  // the non-interactive input reached EOF
};

}  // namespace joey::client
