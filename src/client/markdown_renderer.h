// Streaming Markdown → terminal rendering of the model's text in joey's interactive
// session. The text arrives in arbitrary chunks (a chunk may end mid-line, mid-"**",
// mid-fence or mid-UTF-8 sequence); feed() returns what can be printed now and finish()
// the rest. The concatenated output never depends on how the input was chunked.
//
// Safety (both modes): the model must not be able to drive the user's terminal, so all
// text goes through TerminalSanitizer (client/terminal.h): ESC, other C0 controls except
// \n and \t, DEL and C1 controls become U+FFFD, \r is dropped, invalid UTF-8 becomes
// U+FFFD. The only escape sequences in the output are the SGR styles joey adds itself.
//
// colour=false (pipes, NO_COLOR): no Markdown processing. Output is the input byte for
// byte when the input is valid UTF-8 without the controls above, and feed() returns text
// as soon as it arrives (only an incomplete UTF-8 sequence at a chunk's end is held).
//
// colour=true: rendered line by line; at most the current line is held. Line-level
// constructs are decided from the start of the line: ATX headings ("# " .. "###### ",
// bold, levels 1-2 also coloured, hashes removed; closing hashes are kept), bullets
// ("-", "*", "+" → "•", indentation kept), numbered lists (kept as typed), blockquotes
// ("> " → dim bar, line dim), horizontal rules (a dim rule), fenced code (``` or ~~~
// with an optional language, at any indentation: fence lines become a dim rule with the
// language, contents are shown in a code colour and never interpreted). Once the start
// of a line is decided, the rest streams as it arrives, except that fence lines and rules
// are held until their newline, and an inline span is held from its opening delimiter
// until its closer is seen (at the end of the line an unclosed opener prints literally;
// a closer more than 1000 bytes away does not count). Inline: `code`, **bold** and
// __bold__, *italic* and _italic_ with CommonMark's flanking rules (so snake_case,
// a * b and an unpaired 2*3 stay literal), backslash escapes. Setext headings, links and
// tables are left as typed. Every style opened on a line is reset before its newline,
// and finish() resets everything, so no colour bleeds into the prompt.
//
// Thread-safety: one thread at a time.
#pragma once

#include <string>
#include <string_view>

#include "client/terminal.h"

namespace joey::client {

class MarkdownRenderer {
 public:
  explicit MarkdownRenderer(bool colour);

  // Returns the output that `chunk` (with what is held from before) makes printable now.
  std::string feed(std::string_view chunk);
  // Flushes everything held (a partial last line renders as if it ended), closes an
  // unterminated code block and resets all styles. The renderer can then be reused for
  // a new message.
  std::string finish();

 private:
  // kDone: the line was rendered whole (a fence line or a rule).
  enum class LineKind { kUndecided, kProse, kCodeLine, kDone };

  void process(bool at_end_of_line, std::string& out);
  void decide_line_start(bool at_end_of_line, std::string& out);
  void decide_fence_line(bool at_end_of_line, std::string& out);
  size_t render_inline(std::string_view text, bool at_end_of_line, std::string& out);
  void render_rule(std::string_view label, std::string& out);
  void apply_style(std::string& out);
  void end_line(std::string& out);

  bool colour_;
  TerminalSanitizer sanitizer_;
  // The not yet processed text of the current line (sanitised, without its newline).
  std::string line_;
  LineKind line_kind_ = LineKind::kUndecided;
  // Inline state for the current prose line.
  std::string base_style_;  // SGR parameters applied to the whole line ("1;35" for h1)
  bool bold_ = false;
  bool italic_ = false;
  char bold_char_ = '*';      // the delimiter that opened bold_ ('*' or '_')
  char italic_char_ = '*';    // the delimiter that opened italic_
  char previous_ = ' ';       // the last source character rendered on this line
  bool line_styled_ = false;  // an SGR was written on this line and not yet reset
  // Fenced code block state.
  bool in_fence_ = false;
  char fence_char_ = '`';
  size_t fence_length_ = 0;
};

}  // namespace joey::client
