#include "client/terminal.h"

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>

namespace joey::client {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kClearLine = "\r\033[K";
constexpr const char* kFrames[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
constexpr auto kFrameInterval = std::chrono::milliseconds(100);

std::string_view env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string_view() : std::string_view(value);
}

// Length of the UTF-8 sequence a lead byte starts and the range its second byte must
// fall in (Unicode table 3-7); 0 for a byte that cannot start a sequence.
struct LeadByte {
  size_t length = 0;
  uint8_t second_low = 0x80;
  uint8_t second_high = 0xBF;
};

LeadByte classify_lead(uint8_t byte) {
  if (byte >= 0xC2 && byte <= 0xDF) return {2, 0x80, 0xBF};
  if (byte == 0xE0) return {3, 0xA0, 0xBF};
  if (byte == 0xED) return {3, 0x80, 0x9F};
  if (byte >= 0xE1 && byte <= 0xEF) return {3, 0x80, 0xBF};
  if (byte == 0xF0) return {4, 0x90, 0xBF};
  if (byte >= 0xF1 && byte <= 0xF3) return {4, 0x80, 0xBF};
  if (byte == 0xF4) return {4, 0x80, 0x8F};
  return {};
}

enum class Sequence { kValid, kInvalid, kIncomplete };

// Checks the sequence starting at text[0] (a non-ASCII byte).
Sequence check_sequence(std::string_view text, LeadByte lead) {
  if (lead.length == 0) return Sequence::kInvalid;
  for (size_t index = 1; index < lead.length; ++index) {
    if (index >= text.size()) return Sequence::kIncomplete;
    auto byte = static_cast<uint8_t>(text[index]);
    uint8_t low = index == 1 ? lead.second_low : 0x80;
    uint8_t high = index == 1 ? lead.second_high : 0xBF;
    if (byte < low || byte > high) return Sequence::kInvalid;
  }
  return Sequence::kValid;
}

// Neutralises `text`; when !at_end, an incomplete trailing sequence is left unconsumed.
// Returns how many bytes were consumed.
size_t sanitize(std::string_view text, bool at_end, std::string& out) {
  size_t position = 0;
  while (position < text.size()) {
    auto byte = static_cast<uint8_t>(text[position]);
    if (byte < 0x80) {
      if (byte == '\n' || byte == '\t' || (byte >= 0x20 && byte != 0x7F)) {
        out.push_back(static_cast<char>(byte));
      } else if (byte != '\r') {
        out.append(kReplacement);
      }
      ++position;
      continue;
    }
    LeadByte lead = classify_lead(byte);
    Sequence sequence = check_sequence(text.substr(position), lead);
    if (sequence == Sequence::kIncomplete && !at_end) break;
    if (sequence != Sequence::kValid) {
      out.append(kReplacement);
      ++position;
      continue;
    }
    // C1 controls are U+0080..U+009F, encoded C2 80..C2 9F.
    bool c1_control = byte == 0xC2 && static_cast<uint8_t>(text[position + 1]) <= 0x9F;
    if (c1_control) {
      out.append(kReplacement);
    } else {
      out.append(text.substr(position, lead.length));
    }
    position += lead.length;
  }
  return position;
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

std::string TerminalSanitizer::feed(std::string_view chunk) {
  pending_.append(chunk);
  std::string out;
  size_t consumed = sanitize(pending_, /*at_end=*/false, out);
  pending_.erase(0, consumed);
  return out;
}

std::string TerminalSanitizer::finish() {
  std::string out;
  sanitize(pending_, /*at_end=*/true, out);
  pending_.clear();
  return out;
}

std::string sanitize_for_terminal(std::string_view text) {
  TerminalSanitizer sanitizer;
  std::string out = sanitizer.feed(text);
  out.append(sanitizer.finish());
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
