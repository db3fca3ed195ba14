// Small terminal helpers for joey's interactive session: deciding whether to use colour,
// neutralising bytes that could drive the user's terminal, styling short strings, and a
// spinner shown while joey waits for the model.
//
// Neutralising: text that came from a model, a tool or a file is never written to the
// terminal raw. TerminalSanitizer turns it into text that only prints: ESC, the other C0
// controls except \n and \t, DEL and the C1 controls (U+0080..U+009F) become U+FFFD; \r
// is dropped (a lone \r would let text overwrite what is already on the line, and
// dropping it keeps CRLF text readable); bytes that are not valid UTF-8 become U+FFFD,
// one per byte. Valid UTF-8 without those controls passes through byte for byte.
//
// Thread-safety: the free functions are safe from any thread. A TerminalSanitizer is used
// by one thread at a time. Spinner's start() and stop() may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "base/terminal_text.h"

namespace joey::client {

// The neutralising itself lives in base (joey run's text output uses it too).
using joey::sanitize_for_terminal;
using joey::TerminalSanitizer;

// Whether output to `fd` should carry ANSI styles. JOEY_COLOR=always forces colour on,
// JOEY_COLOR=never forces it off; otherwise colour needs isatty(fd), NO_COLOR unset or
// empty (https://no-color.org) and TERM other than "dumb".
bool colour_enabled(int fd);

enum class Style { kBold, kDim, kRed, kGreen, kYellow, kCyan };

// `text` wrapped in the SGR sequence for `s` and a reset; `text` unchanged when !colour.
// `text` is not sanitised here: pass it through sanitize_for_terminal() first when it did
// not come from joey itself.
std::string style(std::string_view text, Style s, bool colour);

// A one-line activity indicator: while started, a background thread redraws
// "\r⠋ label (3s)\033[K" about every 100 ms; stop() erases it with "\r\033[K". With
// enabled=false (output is not a terminal) every call is a no-op and nothing is written.
// start() while running replaces the label and restarts the clock. stop() is idempotent
// and returns only after the last frame is complete, so the caller may print right after.
// Nothing else may write to `out` while the spinner runs.
class Spinner {
 public:
  Spinner(std::FILE* out, bool enabled);
  ~Spinner();  // stops
  Spinner(const Spinner&) = delete;
  Spinner& operator=(const Spinner&) = delete;

  void start(std::string label);
  void stop();

 private:
  void run(std::chrono::steady_clock::time_point started);
  void draw_frame(std::chrono::steady_clock::time_point started,
                  size_t frame);  // under draw_mutex_

  std::FILE* out_;
  bool enabled_;
  std::mutex control_mutex_;  // serialises start() and stop(); held while joining
  std::mutex draw_mutex_;     // guards the fields below and every write to out_
  std::condition_variable wake_;
  std::string label_;     // GUARDED_BY(draw_mutex_)
  bool running_ = false;  // GUARDED_BY(draw_mutex_)
  std::thread thread_;    // touched only under control_mutex_
};

}  // namespace joey::client
