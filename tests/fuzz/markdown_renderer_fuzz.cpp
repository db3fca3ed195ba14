// The model's text, split into chunks, through MarkdownRenderer in both modes. The first
// byte seeds the chunk sizes; the rest is the text. Checked: no crash; the output does not
// depend on the chunking; apart from the SGR styles joey adds, the output is valid UTF-8
// without ESC or other control characters (except \n and \t); every line of coloured
// output ends with its styles reset.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "client/markdown_renderer.h"
#include "client/terminal.h"

namespace {

using joey::client::MarkdownRenderer;

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "markdown_renderer_fuzz: %s\n", what);
    std::abort();
  }
}

std::string render(std::string_view text, bool colour, uint32_t seed) {
  MarkdownRenderer renderer(colour);
  std::string out;
  size_t position = 0;
  while (position < text.size()) {
    seed = seed * 1103515245u + 12345u;
    size_t size = 1 + (seed >> 16) % 17;
    out += renderer.feed(text.substr(position, size));
    position += size;
  }
  return out + renderer.finish();
}

// Removes the SGR sequences joey writes ("\033[" digits and ';' "m"); returns false if an
// ESC starts anything else.
bool strip_styles(const std::string& text, std::string& out) {
  size_t position = 0;
  while (position < text.size()) {
    if (text[position] != '\033') {
      out.push_back(text[position++]);
      continue;
    }
    if (position + 1 >= text.size() || text[position + 1] != '[') return false;
    size_t end = position + 2;
    while (end < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[end])) != 0 || text[end] == ';')) {
      ++end;
    }
    if (end >= text.size() || text[end] != 'm') return false;
    position = end + 1;
  }
  return true;
}

void check_lines_reset(const std::string& text) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    size_t last = line.rfind('\033');
    check(last == std::string_view::npos || line.substr(last, 4) == "\033[0m",
          "a line ends with a style open");
    start = end + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  for (bool colour : {false, true}) {
    std::string whole = render(text, colour, 0);
    check(render(text, colour, data[0]) == whole, "output depends on chunking");
    std::string printable;
    check(strip_styles(whole, printable), "an escape sequence that is not joey's SGR");
    check(colour || printable == whole, "plain output holds an escape sequence");
    check(joey::client::sanitize_for_terminal(printable) == printable,
          "output holds a control character or invalid UTF-8");
    if (colour) check_lines_reset(whole);
  }
  return 0;
}
