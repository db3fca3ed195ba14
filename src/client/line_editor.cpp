#include "client/line_editor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

// libedit's readline compatibility header (the include directory is /usr/include/editline).
#include <editline/readline.h>

#include <cstdio>
#include <cstdlib>

#include "base/log.h"

namespace joey::client {
namespace {

constexpr int kHistoryLimit = 1000;

// Set by the SIGINT handler read_line() installs while the prompt is shown.
volatile sig_atomic_t prompt_interrupted = 0;

void on_prompt_interrupt(int) { prompt_interrupted = 1; }

// Restores the SIGINT disposition it replaced when it goes out of scope. The handler is
// installed without SA_RESTART so that Ctrl-C interrupts the terminal read and readline()
// returns at once.
class PromptInterruptHandler {
 public:
  PromptInterruptHandler() {
    prompt_interrupted = 0;
    struct sigaction ours {};
    ours.sa_handler = on_prompt_interrupt;
    sigemptyset(&ours.sa_mask);
    ours.sa_flags = 0;
    sigaction(SIGINT, &ours, &previous_);
  }
  ~PromptInterruptHandler() { sigaction(SIGINT, &previous_, nullptr); }
  PromptInterruptHandler(const PromptInterruptHandler&) = delete;
  PromptInterruptHandler& operator=(const PromptInterruptHandler&) = delete;

 private:
  struct sigaction previous_ {};
};

std::string strip_carriage_return(std::string line) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// Creates the history file 0600 if it is missing. Returns false when it cannot be used.
bool prepare_history_file(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    log::warn("session_history_unavailable", {log::field("error", strerror(errno))});
    return false;
  }
  ::close(fd);
  return true;
}

}  // namespace

bool stdin_is_terminal() { return isatty(STDIN_FILENO) == 1; }

std::unique_ptr<LineEditor> LineEditor::open(std::filesystem::path history_file, bool interactive,
                                             int input_fd) {
  return std::unique_ptr<LineEditor>(
      new LineEditor(std::move(history_file), interactive, input_fd));
}

LineEditor::LineEditor(std::filesystem::path history_file, bool interactive, int input_fd)
    : history_file_(std::move(history_file)), interactive_(interactive), input_fd_(input_fd) {
  if (!interactive_) return;
  rl_readline_name = "joey";
  using_history();
  clear_history();
  // Stifling bounds the in-memory history, so write_history() never writes more than
  // kHistoryLimit entries. (libedit's history_truncate_file() counts its header line as an
  // entry and drops it, leaving a file read_history() rejects, so it is not used.)
  stifle_history(kHistoryLimit);
  if (history_file_.empty() || !prepare_history_file(history_file_)) {
    history_file_.clear();
    return;
  }
  read_history(history_file_.c_str());
}

LineEditor::~LineEditor() {
  if (interactive_) clear_history();
}

std::optional<std::string> LineEditor::read_line(const std::string& prompt) {
  return interactive_ ? read_line_interactive(prompt) : read_line_from_fd();
}

std::optional<std::string> LineEditor::read_line_interactive(const std::string& prompt) {
  while (true) {
    char* raw = nullptr;
    bool interrupted = false;
    {
      PromptInterruptHandler handler;
      raw = ::readline(prompt.c_str());
      interrupted = prompt_interrupted != 0;
    }
    if (!interrupted) {
      if (raw == nullptr) {
        // Ctrl-D: end the prompt's line so the shell prompt starts on a fresh one.
        std::fputs("\n", stdout);
        std::fflush(stdout);
        return std::nullopt;
      }
      std::string line = strip_carriage_return(raw);
      std::free(raw);
      return line;
    }
    // Ctrl-C: whatever was typed is dropped and the prompt starts over on a new line.
    std::free(raw);
    std::fputs("\n", stdout);
    std::fflush(stdout);
  }
}

std::optional<std::string> LineEditor::read_line_from_fd() {
  if (at_end_) return std::nullopt;
  std::string line;
  bool read_any = false;
  while (true) {
    char byte = 0;
    ssize_t count = ::read(input_fd_, &byte, 1);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) {
      at_end_ = true;
      if (!read_any) return std::nullopt;
      return strip_carriage_return(std::move(line));
    }
    read_any = true;
    if (byte == '\n') return strip_carriage_return(std::move(line));
    line.push_back(byte);
  }
}

void LineEditor::add_history(const std::string& line) {
  if (!interactive_ || line.empty() || line.front() == ' ') return;
  if (history_length > 0) {
    HIST_ENTRY* last = history_get(history_base + history_length - 1);
    if (last != nullptr && last->line != nullptr && line == last->line) return;
  }
  ::add_history(line.c_str());
  if (history_file_.empty()) return;
  if (write_history(history_file_.c_str()) != 0) {
    log::warn("session_history_not_saved", {log::field("error", strerror(errno))});
    return;
  }
  // write_history() recreates a file that was removed meanwhile with the umask's mode.
  ::chmod(history_file_.c_str(), 0600);
}

std::vector<std::string> LineEditor::history_entries() const {
  std::vector<std::string> entries;
  if (!interactive_) return entries;
  for (int index = 0; index < history_length; ++index) {
    HIST_ENTRY* entry = history_get(history_base + index);
    if (entry != nullptr && entry->line != nullptr) entries.emplace_back(entry->line);
  }
  return entries;
}

}  // namespace joey::client
