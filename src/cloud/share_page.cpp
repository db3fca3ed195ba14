#include "cloud/share_page.h"

#include <cinttypes>
#include <cstdio>

#include "base/strings.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"

namespace joey::cloud {
namespace {

// The only style either page has; the CSP allows exactly these bytes by their hash, so
// a <style> smuggled in through content (were escaping ever to fail) would not apply.
constexpr std::string_view kStyle =
    ":root{color-scheme:light dark}"
    "body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:0 auto;padding:1rem}"
    "h1{font-size:1.4rem;margin:.5rem 0;overflow-wrap:anywhere}"
    ".meta,.who time,footer{opacity:.75;font-size:.875rem}"
    "article{border-left:4px solid #888;padding:.25rem 0 .25rem .75rem;margin:1.25rem 0}"
    "article.user{border-color:#2563eb}article.assistant{border-color:#16a34a}"
    "article.tool_call,article.tool_result{border-color:#9333ea}"
    "article.system{border-color:#ca8a04}"
    ".who{font-weight:600;margin:0 0 .25rem}.who time{font-weight:400;margin-left:.5rem}"
    ".text{white-space:pre-wrap;overflow-wrap:anywhere}"
    "pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:0;padding:.5rem;border-radius:4px;"
    "background:rgba(127,127,127,.12);font-size:.85rem}";

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

// "'sha256-<base64>'" for `body` (CSP Level 2 hash sources use standard base64).
std::string csp_hash_source(std::string_view body) {
  std::string encoded = crypto::base64url_encode(crypto::sha256(body));
  for (char& c : encoded) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (encoded.size() % 4 != 0) encoded.push_back('=');
  return "'sha256-" + encoded + "'";
}

int64_t floor_div(int64_t value, int64_t divisor) {
  const int64_t quotient = value / divisor;
  return (value % divisor != 0 && value < 0) ? quotient - 1 : quotient;
}

// Unix milliseconds as ISO-8601 UTC, "2026-11-26T00:45:30Z" (days to a civil date by
// H. Hinnant's algorithm: no time zone database, no range limit of gmtime).
std::string iso_utc(int64_t ms) {
  const int64_t seconds = floor_div(ms, 1000);
  const int64_t days = floor_div(seconds, 86400);
  const int64_t second_of_day = seconds - days * 86400;
  const int64_t z = days + 719468;
  const int64_t era = floor_div(z, 146097);
  const int64_t day_of_era = z - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t month_index = (5 * day_of_year + 2) / 153;
  const int64_t day = day_of_year - (153 * month_index + 2) / 5 + 1;
  const int64_t month = month_index < 10 ? month_index + 3 : month_index - 9;
  const int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  const auto two_digits = [](int64_t value) { return static_cast<int>(value); };
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02dZ", year,
                two_digits(month), two_digits(day), two_digits(second_of_day / 3600),
                two_digits(second_of_day / 60 % 60), two_digits(second_of_day % 60));
  return buffer;
}

void append_time(std::string& page, int64_t ms) {
  const std::string iso = iso_utc(ms);
  page += "<time datetime=\"" + iso + "\">" + iso + "</time>";
}

struct RoleStyle {
  std::string_view role;
  std::string_view label;
  bool preformatted;
};

constexpr RoleStyle kRoles[] = {
    {"user", "User", false},          {"assistant", "Assistant", false},
    {"tool_call", "Tool call", true}, {"tool_result", "Tool result", true},
    {"system", "System", false},
};

void append_message(std::string& page, const SharedMessage& message) {
  const RoleStyle* style = nullptr;
  for (const RoleStyle& candidate : kRoles) {
    if (candidate.role == message.role) style = &candidate;
  }
  page += "<article class=\"";
  page += style ? style->role : std::string_view("other");
  page += "\"><p class=\"who\">";
  page += style ? std::string(style->label) : html_escape(message.role);
  page += ' ';
  append_time(page, message.ts_ms);
  page += "</p>";
  const bool preformatted = style && style->preformatted;
  page += preformatted ? "<pre>" : "<div class=\"text\">";
  page += html_escape(message.content);
  page += preformatted ? "</pre>" : "</div>";
  page += "</article>\n";
}

void append_head(std::string& page, std::string_view escaped_title) {
  page +=
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"robots\" content=\"noindex, nofollow\">\n"
      "<meta name=\"referrer\" content=\"no-referrer\">\n<title>";
  page += escaped_title;
  page += " — joey</title>\n<style>";
  page += kStyle;
  page += "</style>\n</head><body>\n";
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  size_t run_start = 0;  // bytes [run_start, pos) are copied as they are
  size_t pos = 0;
  while (pos < text.size()) {
    const char c = text[pos];
    std::string_view replacement;
    size_t length = 1;
    switch (c) {
      case '&':
        replacement = "&amp;";
        break;
      case '<':
        replacement = "&lt;";
        break;
      case '>':
        replacement = "&gt;";
        break;
      case '"':
        replacement = "&quot;";
        break;
      case '\'':
        replacement = "&#39;";
        break;
      case '\0':
        replacement = kReplacementCharacter;
        break;
      default:
        if (static_cast<unsigned char>(c) >= 0x80) {
          length = utf8_sequence_length(text, pos);
          if (length == 0) {
            length = 1;
            replacement = kReplacementCharacter;
          }
        }
    }
    if (!replacement.empty()) {
      out.append(text, run_start, pos - run_start);
      out += replacement;
      run_start = pos + length;
    }
    pos += length;
  }
  out.append(text, run_start, text.size() - run_start);
  return out;
}

std::string render_share_page(const SharedTask& task) {
  const std::string title = task.title.empty() ? "Shared task" : html_escape(task.title);
  std::string page;
  size_t content_bytes = 0;
  for (const SharedMessage& message : task.messages) content_bytes += message.content.size();
  page.reserve(4096 + content_bytes + content_bytes / 8 + task.messages.size() * 160);

  append_head(page, title);
  page += "<header><h1>" + title + "</h1>\n<p class=\"meta\">";
  if (!task.mode.empty()) page += "Mode " + html_escape(task.mode) + " · ";
  if (!task.model.empty()) page += "Model " + html_escape(task.model) + " · ";
  page += "Started ";
  append_time(page, task.created_at_ms);
  page += " · " + std::to_string(task.messages.size()) +
          (task.messages.size() == 1 ? " message" : " messages") + "</p></header>\n<main>\n";
  for (const SharedMessage& message : task.messages) append_message(page, message);
  page +=
      "</main>\n<footer><p>A read-only copy of a joey task, shared by its owner. "
      "This link stops working at ";
  append_time(page, task.expires_at_ms);
  page += ".</p></footer>\n</body></html>\n";
  return page;
}

std::string render_share_not_found_page() {
  std::string page;
  append_head(page, "Link not available");
  page +=
      "<header><h1>This link is not available</h1></header>\n<main><p>The shared task does "
      "not exist, its link has expired, or its owner stopped sharing it. Ask the person who "
      "sent the link for a new one.</p></main>\n</body></html>\n";
  return page;
}

std::string share_page_csp() {
  static const std::string policy = "default-src 'none'; style-src " + csp_hash_source(kStyle) +
                                    "; base-uri 'none'; form-action 'none'; "
                                    "frame-ancestors 'none'";
  return policy;
}

}  // namespace joey::cloud
