#include "client/markdown_renderer.h"

#include <cctype>
#include <string>

namespace joey::client {
namespace {

// Every decision below looks only at the text of the current line. A helper that would
// have to look past the end of the text received so far (while the line has not ended)
// answers kNeedMore, and the renderer waits: that is what makes the output independent
// of how the input was chunked.
constexpr size_t kNeedMore = std::string::npos - 1;
constexpr size_t kNotFound = std::string::npos;

constexpr const char* kReset = "\033[0m";
constexpr const char* kCodeStyle = "\033[36m";
constexpr const char* kRuleStyle = "\033[2m";
constexpr const char* kBullet = "•";
constexpr const char* kRuleSegment = "─";
constexpr int kRuleWidth = 40;
// An inline span whose closer is further than this from its opener is not a span: the
// opener prints literally. This bounds how much of a line is held back, and the work of
// re-scanning it as more of the line arrives.
constexpr size_t kMaxInlineSpan = 1000;

bool is_blank(char c) { return c == ' ' || c == '\t'; }

bool is_punctuation(char c) {
  auto byte = static_cast<unsigned char>(c);
  return byte < 0x80 && std::ispunct(byte) != 0;
}

size_t skip_blanks(std::string_view text, size_t position) {
  while (position < text.size() && is_blank(text[position])) ++position;
  return position;
}

size_t run_length(std::string_view text, size_t position, char c) {
  size_t end = position;
  while (end < text.size() && text[end] == c) ++end;
  return end - position;
}

// CommonMark's rules for whether a run of '*' or '_' may open or close emphasis, from
// the characters around it (' ' stands for the start or end of the line).
struct Flanking {
  bool can_open = false;
  bool can_close = false;
};

Flanking flanking(char before, char after, char delimiter) {
  bool after_space = is_blank(after);
  bool before_space = is_blank(before);
  bool left = !after_space && (!is_punctuation(after) || before_space || is_punctuation(before));
  bool right = !before_space && (!is_punctuation(before) || after_space || is_punctuation(after));
  if (delimiter == '*') return {left, right};
  // '_' does not open or close inside a word, so snake_case stays literal.
  return {left && (!right || is_punctuation(before)), right && (!left || is_punctuation(after))};
}

// Position of a run of exactly `run` backticks at or after `from`.
size_t find_code_close(std::string_view text, size_t from, size_t run, bool at_end_of_line) {
  size_t position = from;
  while (position < text.size()) {
    if (position - from > kMaxInlineSpan) return kNotFound;
    if (text[position] != '`') {
      ++position;
      continue;
    }
    size_t length = run_length(text, position, '`');
    if (position + length == text.size() && !at_end_of_line) return kNeedMore;
    if (length == run) return position;
    position += length;
  }
  return at_end_of_line ? kNotFound : kNeedMore;
}

// Position of a run of exactly `run` `delimiter`s at or after `from` that can close.
size_t find_emphasis_close(std::string_view text, size_t from, char delimiter, size_t run,
                           bool at_end_of_line) {
  size_t position = from;
  while (position < text.size()) {
    if (position - from > kMaxInlineSpan) return kNotFound;
    if (text[position] == '\\') {
      position += 2;
      continue;
    }
    if (text[position] != delimiter) {
      ++position;
      continue;
    }
    size_t length = run_length(text, position, delimiter);
    if (position + length == text.size() && !at_end_of_line) return kNeedMore;
    char after = position + length < text.size() ? text[position + length] : ' ';
    if (length == run && flanking(text[position - 1], after, delimiter).can_close) return position;
    position += length;
  }
  return at_end_of_line ? kNotFound : kNeedMore;
}

}  // namespace

MarkdownRenderer::MarkdownRenderer(bool colour) : colour_(colour) {}

std::string MarkdownRenderer::feed(std::string_view chunk) {
  std::string text = sanitizer_.feed(chunk);
  if (!colour_) return text;
  std::string out;
  size_t position = 0;
  while (position < text.size()) {
    size_t newline = text.find('\n', position);
    if (newline == std::string::npos) {
      line_.append(text, position, std::string::npos);
      process(/*at_end_of_line=*/false, out);
      break;
    }
    line_.append(text, position, newline - position);
    process(/*at_end_of_line=*/true, out);
    end_line(out);
    out.push_back('\n');
    position = newline + 1;
  }
  return out;
}

std::string MarkdownRenderer::finish() {
  std::string rest = sanitizer_.finish();
  if (!colour_) return rest;
  std::string out = feed(rest);
  if (!line_.empty() || line_kind_ != LineKind::kUndecided) {
    process(/*at_end_of_line=*/true, out);
    end_line(out);
  }
  in_fence_ = false;
  return out;
}

void MarkdownRenderer::process(bool at_end_of_line, std::string& out) {
  if (line_kind_ == LineKind::kUndecided) {
    if (in_fence_) {
      decide_fence_line(at_end_of_line, out);
    } else {
      decide_line_start(at_end_of_line, out);
    }
  }
  switch (line_kind_) {
    case LineKind::kUndecided:
    case LineKind::kDone:
      return;
    case LineKind::kCodeLine:
      out.append(line_);
      line_.clear();
      return;
    case LineKind::kProse:
      line_.erase(0, render_inline(line_, at_end_of_line, out));
      return;
  }
}

void MarkdownRenderer::decide_line_start(bool at_end_of_line, std::string& out) {
  std::string_view text = line_;
  size_t start = skip_blanks(text, 0);
  if (start == text.size()) {
    if (at_end_of_line) line_kind_ = LineKind::kProse;
    return;
  }
  std::string_view indent = text.substr(0, start);
  char first = text[start];
  size_t consumed = 0;  // bytes of the line replaced by what is written to `out` here

  if (first == '#') {
    size_t hashes = run_length(text, start, '#');
    size_t after = start + hashes;
    if (after == text.size() && !at_end_of_line) return;
    if (hashes <= 6 && (after == text.size() || is_blank(text[after]))) {
      out.append(indent);
      base_style_ = hashes == 1 ? "1;35" : hashes == 2 ? "1;34" : "1";
      apply_style(out);
      consumed = after == text.size() ? after : after + 1;
    }
  } else if (first == '`' || first == '~') {
    size_t run = run_length(text, start, first);
    if (start + run == text.size() && !at_end_of_line) return;
    if (run >= 3) {
      if (!at_end_of_line) return;  // a fence line is rendered whole
      std::string_view info = text.substr(skip_blanks(text, start + run));
      if (first == '~' || info.find('`') == std::string_view::npos) {
        size_t word_end = info.find_first_of(" \t");
        render_rule(info.substr(0, word_end), out);
        in_fence_ = true;
        fence_char_ = first;
        fence_length_ = run;
        line_.clear();
        line_kind_ = LineKind::kDone;
        return;
      }
    }
  } else if (first == '>') {
    out.append(indent);
    base_style_ = "2";
    apply_style(out);
    out.append("│");
    consumed = start + 1;
  } else if (first == '-' || first == '*' || first == '_' || first == '+') {
    if (first != '+') {
      // A rule is three or more of the same character, blanks allowed between them.
      size_t count = 0;
      size_t position = start;
      while (position < text.size() && (text[position] == first || is_blank(text[position]))) {
        count += text[position] == first ? 1 : 0;
        ++position;
      }
      if (position == text.size()) {
        if (!at_end_of_line) return;
        if (count >= 3) {
          render_rule("", out);
          line_.clear();
          line_kind_ = LineKind::kDone;
          return;
        }
      }
    }
    if (start + 1 == text.size() && !at_end_of_line) return;
    if (first != '_' && start + 1 < text.size() && is_blank(text[start + 1])) {
      out.append(indent);
      out.append(kBullet);
      consumed = start + 1;
    }
  }
  line_.erase(0, consumed);
  previous_ = ' ';
  line_kind_ = LineKind::kProse;
}

void MarkdownRenderer::decide_fence_line(bool at_end_of_line, std::string& out) {
  std::string_view text = line_;
  size_t start = skip_blanks(text, 0);
  if (start == text.size() && !at_end_of_line) return;
  size_t run = run_length(text, start, fence_char_);
  if (run > 0 && start + run == text.size() && !at_end_of_line) return;
  if (run >= fence_length_) {
    size_t end = skip_blanks(text, start + run);
    if (end == text.size()) {
      if (!at_end_of_line) return;
      render_rule("", out);
      in_fence_ = false;
      line_.clear();
      line_kind_ = LineKind::kDone;
      return;
    }
  }
  if (!line_.empty()) {
    out.append(kCodeStyle);
    line_styled_ = true;
  }
  line_kind_ = LineKind::kCodeLine;
}

size_t MarkdownRenderer::render_inline(std::string_view text, bool at_end_of_line,
                                       std::string& out) {
  size_t position = 0;
  while (position < text.size()) {
    char c = text[position];
    if (c == '\\') {
      if (position + 1 == text.size() && !at_end_of_line) break;
      if (position + 1 < text.size() && is_punctuation(text[position + 1])) {
        previous_ = text[position + 1];
        out.push_back(previous_);
        position += 2;
      } else {
        previous_ = c;
        out.push_back(c);
        ++position;
      }
      continue;
    }
    if (c == '`') {
      size_t run = run_length(text, position, '`');
      if (position + run == text.size() && !at_end_of_line) break;
      size_t close = find_code_close(text, position + run, run, at_end_of_line);
      if (close == kNeedMore) break;
      if (close == kNotFound) {
        out.append(run, '`');
      } else {
        out.append(kCodeStyle);
        line_styled_ = true;
        out.append(text.substr(position + run, close - position - run));
        apply_style(out);
        position = close;
      }
      previous_ = '`';
      position += run;
      continue;
    }
    if (c == '*' || c == '_') {
      size_t run = run_length(text, position, c);
      if (position + run == text.size() && !at_end_of_line) break;
      char after = position + run < text.size() ? text[position + run] : ' ';
      Flanking sides = flanking(previous_, after, c);
      bool wants_bold = run >= 2;
      bool wants_italic = run != 2;
      bool open_here = (!wants_bold || (bold_ && bold_char_ == c)) &&
                       (!wants_italic || (italic_ && italic_char_ == c));
      bool handled = false;
      if (run <= 3 && sides.can_close && open_here) {
        if (wants_bold) bold_ = false;
        if (wants_italic) italic_ = false;
        apply_style(out);
        handled = true;
      } else if (run <= 3 && sides.can_open && !(wants_bold && bold_) &&
                 !(wants_italic && italic_)) {
        size_t close = find_emphasis_close(text, position + run, c, run, at_end_of_line);
        if (close == kNeedMore) break;
        if (close != kNotFound) {
          if (wants_bold) {
            bold_ = true;
            bold_char_ = c;
          }
          if (wants_italic) {
            italic_ = true;
            italic_char_ = c;
          }
          apply_style(out);
          handled = true;
        }
      }
      if (!handled) out.append(run, c);
      previous_ = c;
      position += run;
      continue;
    }
    out.push_back(c);
    previous_ = c;
    ++position;
  }
  return position;
}

void MarkdownRenderer::render_rule(std::string_view label, std::string& out) {
  out.append(kRuleStyle);
  if (label.empty()) {
    for (int index = 0; index < kRuleWidth; ++index) out.append(kRuleSegment);
  } else {
    out.append("───── ");
    out.append(label);
  }
  out.append(kReset);
}

void MarkdownRenderer::apply_style(std::string& out) {
  if (line_styled_) out.append(kReset);
  std::string parameters = base_style_;
  for (const char* attribute : {bold_ ? "1" : "", italic_ ? "3" : ""}) {
    if (*attribute == '\0') continue;
    if (!parameters.empty()) parameters.push_back(';');
    parameters.append(attribute);
  }
  line_styled_ = !parameters.empty();
  if (line_styled_) out.append("\033[" + parameters + "m");
}

void MarkdownRenderer::end_line(std::string& out) {
  if (line_styled_) out.append(kReset);
  line_.clear();
  line_kind_ = LineKind::kUndecided;
  base_style_.clear();
  bold_ = false;
  italic_ = false;
  previous_ = ' ';
  line_styled_ = false;
}

}  // namespace joey::client
