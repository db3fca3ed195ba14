#include "agent/events.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace joey::agent {
namespace {

// Runs `emit` against text events writing to temporary files; returns stdout + stderr.
template <typename Emit>
std::string text_output(Emit emit) {
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  {
    std::unique_ptr<EventSink> events = make_text_events(out, err);
    emit(*events);
  }
  std::string text;
  for (std::FILE* file : {out, err}) {
    std::rewind(file);
    char buffer[4096];
    size_t read = 0;
    while ((read = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, read);
    std::fclose(file);
  }
  return text;
}

TEST(TextEventsTest, ModelAndCommandTextCannotDriveTheTerminal) {
  std::string output = text_output([](EventSink& events) {
    events.text("red \x1b[31mtext");
    events.text("\x1b]0;title\x07 split \xe2\x9c");  // a UTF-8 sequence cut across pieces
    events.text("\x93 done\n");
    events.command_output("progress\r\x1b[2K 100%\n");
    events.tool_call("1", "execute_command", R"({"command": "echo \u001b[2J"})");
    events.tool_result("1", "execute_command", true, "ran `\x1b[2J`");
    events.notice("retry \x1b[1A");
    events.error("failed", "bad \x9b sequence");
    events.completion("done \x1b[5m");
  });
  EXPECT_EQ(output.find('\x1b'), std::string::npos) << output;
  EXPECT_EQ(output.find('\x07'), std::string::npos) << output;
  EXPECT_EQ(output.find('\r'), std::string::npos) << output;
  EXPECT_NE(output.find("split \xe2\x9c\x93 done"), std::string::npos) << output;  // ✓ intact
  EXPECT_NE(output.find("red \xef\xbf\xbd[31mtext"), std::string::npos) << output;
}

TEST(TextEventsTest, PlainTextPassesThroughUnchanged) {
  std::string output = text_output(
      [](EventSink& events) { events.text("Hello, **world** — naïve café\n\tindented\n"); });
  EXPECT_EQ(output.rfind("Hello, **world** — naïve café\n\tindented\n", 0), 0u) << output;
}

}  // namespace
}  // namespace joey::agent
