#include "client/terminal.h"

#include <stdlib.h>
#include <unistd.h>

#include <chrono>

namespace joey::client {
namespace {

constexpr std::string_view kClearLine = "\r\033[K";
constexpr const char* kFrames[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
constexpr auto kFrameInterval = std::chrono::milliseconds(100);

std::string_view env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string_view() : std::string_view(value);
}

const char* sgr(Style s) {
  switch (s) {
    case Style::kBold:
      return "\033[1m";
    case Style::kDim:
      return "\033[2m";
    case Style::kRed:
      return "\033[31m";
    case Style::kGreen:
      return "\033[32m";
    case Style::kYellow:
      return "\033[33m";
    case Style::kCyan:
      return "\033[36m";
  }
  return "";
}

}  // namespace

bool colour_enabled(int fd) {
  std::string_view forced = env("JOEY_COLOR");
  if (forced == "always") return true;
  if (forced == "never") return false;
  if (isatty(fd) != 1) return false;
  if (!env("NO_COLOR").empty()) return false;
  return env("TERM") != "dumb";
}

std::string style(std::string_view text, Style s, bool colour) {
  if (!colour) return std::string(text);
  std::string out = sgr(s);
  out.append(text);
  out.append("\033[0m");
  return out;
}

Spinner::Spinner(std::FILE* out, bool enabled) : out_(out), enabled_(enabled && out != nullptr) {}

Spinner::~Spinner() { stop(); }

void Spinner::start(std::string label) {
  if (!enabled_) return;
  std::lock_guard control(control_mutex_);
  std::string clean = sanitize_for_terminal(label);
  for (char& c : clean) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  if (thread_.joinable()) {  // restarting: end the old thread; its frame is overdrawn below
    {
      std::lock_guard draw(draw_mutex_);
      running_ = false;
    }
    wake_.notify_all();
    thread_.join();
  }
  auto started = std::chrono::steady_clock::now();
  {
    // The first frame is drawn before start() returns, so even a spinner stopped at once
    // has shown its label.
    std::lock_guard draw(draw_mutex_);
    label_ = std::move(clean);
    running_ = true;
    draw_frame(started, 0);
  }
  thread_ = std::thread([this, started] { run(started); });
}

void Spinner::stop() {
  if (!enabled_) return;
  std::lock_guard control(control_mutex_);
  if (!thread_.joinable()) return;
  {
    std::lock_guard draw(draw_mutex_);
    running_ = false;
  }
  wake_.notify_all();
  thread_.join();
  std::lock_guard draw(draw_mutex_);
  std::fwrite(kClearLine.data(), 1, kClearLine.size(), out_);
  std::fflush(out_);
}

void Spinner::run(std::chrono::steady_clock::time_point started) {
  size_t frame = 1;
  std::unique_lock draw(draw_mutex_);
  while (!wake_.wait_for(draw, kFrameInterval, [this] { return !running_; })) {
    draw_frame(started, frame++);
  }
}

void Spinner::draw_frame(std::chrono::steady_clock::time_point started, size_t frame) {
  auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started)
          .count();
  std::string line = "\r";
  line.append(kFrames[frame % std::size(kFrames)]);
  line.append(" ");
  line.append(label_);
  line.append(" (" + std::to_string(seconds) + "s)\033[K");
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

}  // namespace joey::client
