// Renders the shared-task page from arbitrary text: the bytes are cut at 0x00 bytes
// into a title and message contents (roles cycling through the known ones and one
// unknown). Checks that no '<' or '>' of the untrusted text reaches the page unescaped
// (the page has exactly as many as the same task with every text emptied) and that the
// page and html_escape() output are valid UTF-8 without raw markup characters.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cloud/http_types.h"
#include "cloud/share_page.h"

namespace {

using namespace joey::cloud;

void require(bool condition) {
  if (!condition) std::abort();
}

size_t count_of(std::string_view text, char c) {
  size_t count = 0;
  for (const char byte : text) count += byte == c ? 1 : 0;
  return count;
}

constexpr const char* kRoles[] = {"user", "assistant", "tool_call", "tool_result", "system"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  const std::string escaped = html_escape(bytes);
  require(is_valid_utf8(escaped));
  for (const char c : {'<', '>', '"', '\''}) require(count_of(escaped, c) == 0);

  SharedTask task;
  SharedTask skeleton;  // the same structure with every untrusted text emptied
  size_t start = 0;
  size_t part = 0;
  while (start <= bytes.size() && part < 64) {
    size_t end = bytes.find('\0', start);
    if (end == std::string_view::npos) end = bytes.size();
    const std::string text(bytes.substr(start, end - start));
    if (part == 0) {
      task.title = text;
      task.mode = text;
      task.model = text;
    } else {
      // Every sixth message has an untrusted role; the skeleton keeps an empty one.
      const bool unknown_role = part % 6 == 0;
      const std::string role = unknown_role ? text : kRoles[part % 5];
      const int64_t ts = static_cast<int64_t>(part) * 86'400'000 * 365 - 1;
      task.messages.push_back({ts, role, text});
      skeleton.messages.push_back({ts, unknown_role ? "" : role, ""});
    }
    ++part;
    start = end + 1;
  }
  skeleton.title = task.title.empty() ? "" : "x";  // a title, but one without markup
  skeleton.mode = task.mode.empty() ? "" : "x";
  skeleton.model = task.model.empty() ? "" : "x";

  const std::string page = render_share_page(task);
  const std::string reference = render_share_page(skeleton);
  require(is_valid_utf8(page));
  require(count_of(page, '<') == count_of(reference, '<'));
  require(count_of(page, '>') == count_of(reference, '>'));
  return 0;
}
