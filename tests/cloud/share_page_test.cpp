// The shared-task page: every piece of untrusted text (title, labels, roles, message
// content) appears only HTML-escaped, the page has no script and no external resource,
// and its Content-Security-Policy allows its one inline style by hash, not by
// 'unsafe-inline'.
#include "cloud/share_page.h"

#include <gtest/gtest.h>

#include <string>

#include "cloud/http_types.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"

namespace joey::cloud {
namespace {

constexpr std::string_view kScript = "<script>alert(1)</script>";
constexpr std::string_view kQuotes = "\"'&";

size_t count_of(std::string_view text, std::string_view needle) {
  size_t count = 0;
  for (size_t pos = text.find(needle); pos != std::string_view::npos;
       pos = text.find(needle, pos + 1)) {
    ++count;
  }
  return count;
}

SharedTask hostile_task() {
  SharedTask task;
  const std::string payload = std::string(kScript) + std::string(kQuotes);
  task.title = payload;
  task.mode = payload;
  task.model = payload;
  task.created_at_ms = 1764117930123;
  task.expires_at_ms = 1766709930123;
  for (const char* role : {"user", "assistant", "tool_call", "tool_result", "system"}) {
    task.messages.push_back({1764117930123, role, payload});
  }
  task.messages.push_back({0, payload, payload});  // an unknown role is text too
  return task;
}

// Standard base64 (RFC 4648 §4, with padding) of the SHA-256 of `text`, as CSP hashes it.
std::string csp_sha256(std::string_view text) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string digest = crypto::sha256(text);
  std::string out;
  for (size_t i = 0; i < digest.size(); i += 3) {
    uint32_t chunk = static_cast<uint32_t>(static_cast<unsigned char>(digest[i])) << 16;
    if (i + 1 < digest.size()) chunk |= static_cast<unsigned char>(digest[i + 1]) << 8;
    if (i + 2 < digest.size()) chunk |= static_cast<unsigned char>(digest[i + 2]);
    out += kAlphabet[(chunk >> 18) & 63];
    out += kAlphabet[(chunk >> 12) & 63];
    out += i + 1 < digest.size() ? kAlphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < digest.size() ? kAlphabet[chunk & 63] : '=';
  }
  return out;
}

std::string style_of(std::string_view page) {
  const size_t start = page.find("<style>");
  const size_t end = page.find("</style>");
  if (start == std::string_view::npos || end == std::string_view::npos) return "";
  return std::string(page.substr(start + 7, end - start - 7));
}

TEST(SharePageTest, HtmlEscapeReplacesTheFiveSpecialCharacters) {
  EXPECT_EQ(html_escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(html_escape("plain text, caf\xc3\xa9 \xf0\x9f\x98\x80"),
            "plain text, caf\xc3\xa9 \xf0\x9f\x98\x80");
  EXPECT_EQ(html_escape(""), "");
  EXPECT_EQ(html_escape("&amp;"), "&amp;amp;");
}

TEST(SharePageTest, HtmlEscapeReplacesInvalidUtf8AndNul) {
  EXPECT_EQ(html_escape("a\xff"
                        "b"),
            "a\xef\xbf\xbd"
            "b");
  EXPECT_EQ(html_escape("\xc3"), "\xef\xbf\xbd");
  EXPECT_EQ(html_escape("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(html_escape(std::string_view("a\0b", 3)),
            "a\xef\xbf\xbd"
            "b");
  EXPECT_TRUE(is_valid_utf8(html_escape("\xc0\xaf<\x80\xf8")));
}

TEST(SharePageTest, ScriptAndQuotesInEveryFieldAppearOnlyEscaped) {
  const std::string page = render_share_page(hostile_task());
  EXPECT_EQ(page.find(kScript), std::string::npos);
  EXPECT_EQ(page.find("alert(1)</"), std::string::npos);
  EXPECT_EQ(page.find(kQuotes), std::string::npos);
  EXPECT_EQ(page.find("<script"), std::string::npos);
  const std::string escaped = html_escape(std::string(kScript) + std::string(kQuotes));
  EXPECT_EQ(escaped, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;");
  // Title (twice: <title> and <h1>), mode, model, six contents and the unknown role.
  EXPECT_EQ(count_of(page, escaped), 2u + 2u + 6u + 1u);
}

TEST(SharePageTest, PageHasRoleLabelsTimesAndToolOutputInPre) {
  SharedTask task;
  task.title = "Fix the build";
  task.mode = "code";
  task.model = "gpt-4o";
  task.created_at_ms = 1764117930123;
  task.expires_at_ms = 1766709930999;
  task.messages = {{1764117930123, "user", "fix it"},
                   {1764117931000, "assistant", "Looking."},
                   {1764117932000, "tool_call", "read_file {\"path\":\"a.c\"}"},
                   {1764117933000, "tool_result", "int main() {}"},
                   {1764117934000, "system", "stopped"}};
  const std::string page = render_share_page(task);
  EXPECT_EQ(page.rfind("<!doctype html>", 0), 0u);
  EXPECT_NE(page.find("<meta name=\"viewport\""), std::string::npos);
  EXPECT_NE(page.find("<title>Fix the build — joey</title>"), std::string::npos);
  for (const char* label : {">User ", ">Assistant ", ">Tool call ", ">Tool result ", ">System "}) {
    EXPECT_NE(page.find(label), std::string::npos) << label;
  }
  EXPECT_NE(page.find("<time datetime=\"2025-11-26T00:45:30Z\">2025-11-26T00:45:30Z</time>"),
            std::string::npos);
  EXPECT_NE(page.find("2025-12-26T00:45:30Z"), std::string::npos);  // expiry
  EXPECT_NE(page.find("<pre>read_file {&quot;path&quot;:&quot;a.c&quot;}</pre>"),
            std::string::npos);
  EXPECT_NE(page.find("<pre>int main() {}</pre>"), std::string::npos);
  EXPECT_NE(page.find("<div class=\"text\">fix it</div>"), std::string::npos);
  EXPECT_NE(page.find("Mode code"), std::string::npos);
  EXPECT_NE(page.find("5 messages"), std::string::npos);
  EXPECT_TRUE(is_valid_utf8(page));
}

TEST(SharePageTest, TimesBeforeTheEpochAndFarAheadAreFormatted) {
  SharedTask task;
  task.created_at_ms = -1;
  task.expires_at_ms = 253402300799999;
  task.messages = {{951782400000, "user", "leap day"}};
  const std::string page = render_share_page(task);
  EXPECT_NE(page.find("1969-12-31T23:59:59Z"), std::string::npos);
  EXPECT_NE(page.find("9999-12-31T23:59:59Z"), std::string::npos);
  EXPECT_NE(page.find("2000-02-29T00:00:00Z"), std::string::npos);
}

TEST(SharePageTest, EmptyTitleGetsAPlaceholder) {
  const std::string page = render_share_page(SharedTask{});
  EXPECT_NE(page.find("<h1>Shared task</h1>"), std::string::npos);
  EXPECT_NE(page.find("0 messages"), std::string::npos);
}

TEST(SharePageTest, PagesHaveNoScriptNoExternalResourcesAndOnlyTheHashedStyle) {
  for (const std::string& page :
       {render_share_page(hostile_task()), render_share_not_found_page()}) {
    EXPECT_EQ(page.find("<script"), std::string::npos);
    EXPECT_EQ(page.find("<link"), std::string::npos);
    EXPECT_EQ(page.find("<img"), std::string::npos);
    EXPECT_EQ(page.find("src="), std::string::npos);
    EXPECT_EQ(page.find("http"), std::string::npos);
    EXPECT_EQ(page.find("style=\""), std::string::npos);  // no inline style attributes
    EXPECT_EQ(count_of(page, "<style>"), 1u);
  }
}

TEST(SharePageTest, CspForbidsScriptAndAllowsTheStyleByItsHash) {
  const std::string csp = share_page_csp();
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(csp.find("script-src"), std::string::npos);  // default-src 'none' covers it
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  for (const std::string& page :
       {render_share_page(hostile_task()), render_share_not_found_page()}) {
    const std::string style = style_of(page);
    ASSERT_FALSE(style.empty());
    EXPECT_NE(csp.find("style-src 'sha256-" + csp_sha256(style) + "'"), std::string::npos) << csp;
  }
}

TEST(SharePageTest, NotFoundPageIsTheSameForEveryCause) {
  const std::string page = render_share_not_found_page();
  EXPECT_EQ(page, render_share_not_found_page());
  EXPECT_NE(page.find("not available"), std::string::npos);
  EXPECT_TRUE(is_valid_utf8(page));
}

}  // namespace
}  // namespace joey::cloud
