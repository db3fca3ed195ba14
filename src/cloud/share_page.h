// The read-only HTML page a shared task link (GET /s/{token}) shows: the task's
// transcript, every piece of it HTML-escaped, with no script at all and a
// Content-Security-Policy that forbids any (default-src 'none'; style by hash).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace joey::cloud {

struct SharedMessage {
  int64_t ts_ms = 0;
  std::string role;     // user, assistant, tool_call, tool_result, system
  std::string content;  // untrusted text
};

struct SharedTask {
  std::string title;  // untrusted text; may be empty
  std::string mode;
  std::string model;
  int64_t created_at_ms = 0;
  int64_t expires_at_ms = 0;  // when the link stops working
  std::vector<SharedMessage> messages;
};

// `text` with & < > " ' replaced by entities; NUL and invalid UTF-8 bytes become
// U+FFFD, so the result is always valid UTF-8.
std::string html_escape(std::string_view text);

// The whole page (<!doctype html> …), UTF-8.
std::string render_share_page(const SharedTask& task);

// The page for a link that does not exist, expired or was revoked (the same for all
// three, so a probe learns nothing).
std::string render_share_not_found_page();

// The value for the Content-Security-Policy header of both pages.
std::string share_page_csp();

}  // namespace joey::cloud
