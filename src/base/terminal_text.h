// Neutralising text before it reaches a terminal: text that came from a model, a tool
// or a file must not drive the user's terminal (move the cursor, set the title, inject
// input through terminal responses). ESC, the other C0 controls except \n and \t, DEL and
// the C1 controls (U+0080..U+009F) become U+FFFD; \r is dropped (a lone \r would let text
// overwrite what is already on the line); bytes that are not valid UTF-8 become U+FFFD,
// one per byte. Valid UTF-8 without those controls passes through byte for byte.
//
// Thread-safety: sanitize_for_terminal is reentrant; a TerminalSanitizer is used by one
// thread at a time.
#pragma once

#include <string>
#include <string_view>

namespace joey {

// Streaming form of the neutralising described above. A UTF-8 sequence split across two
// feed() calls is held until it completes, so the result does not depend on how the
// input was chunked.
class TerminalSanitizer {
 public:
  // Returns the neutralised text for `chunk`, minus at most 3 trailing bytes of an
  // incomplete UTF-8 sequence, which are held for the next call.
  std::string feed(std::string_view chunk);
  // Returns what is still held (an incomplete sequence becomes U+FFFD per byte).
  std::string finish();

 private:
  std::string pending_;  // the start of a UTF-8 sequence that may still complete
};

// One-shot form: feed(text) + finish().
std::string sanitize_for_terminal(std::string_view text);

}  // namespace joey
