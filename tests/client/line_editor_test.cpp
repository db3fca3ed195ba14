#include "client/line_editor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace joey::client {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// A pipe whose write end is filled and closed up front, standing in for piped stdin.
class PipedInput {
 public:
  explicit PipedInput(const std::string& text) {
    EXPECT_EQ(pipe(fds_), 0);
    EXPECT_EQ(write(fds_[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(fds_[1]);
  }
  ~PipedInput() { close(fds_[0]); }
  int fd() const { return fds_[0]; }

 private:
  int fds_[2] = {-1, -1};
};

class LineEditorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "joey-line-editor-XXXXXX").string();
    root_ = mkdtemp(pattern.data());
    history_ = root_ / "session_history";
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }
  std::string history_text() const {
    std::ifstream in(history_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  fs::path root_;
  fs::path history_;
};

TEST_F(LineEditorTest, PipedInputGivesOneLinePerCallThenEndOfInput) {
  PipedInput input("first\n\nsecond\r\nlast without newline");
  auto editor = LineEditor::open(history_, /*interactive=*/false, input.fd());
  EXPECT_EQ(editor->read_line("> "), "first");
  EXPECT_EQ(editor->read_line("> "), "");
  EXPECT_EQ(editor->read_line("> "), "second");
  EXPECT_EQ(editor->read_line("> "), "last without newline");
  EXPECT_EQ(editor->read_line("> "), std::nullopt);
  EXPECT_EQ(editor->read_line("> "), std::nullopt);
}

TEST_F(LineEditorTest, PipedInputAtEndGivesNullopt) {
  PipedInput input("");
  auto editor = LineEditor::open(history_, false, input.fd());
  EXPECT_EQ(editor->read_line("> "), std::nullopt);
}

TEST_F(LineEditorTest, PipedInputIsNotReadAhead) {
  PipedInput input("task\nrest for someone else\n");
  auto editor = LineEditor::open(history_, false, input.fd());
  EXPECT_EQ(editor->read_line("> "), "task");
  char buffer[64] = {};
  ssize_t count = read(input.fd(), buffer, sizeof buffer);
  EXPECT_EQ(std::string(buffer, count > 0 ? static_cast<size_t>(count) : 0),
            "rest for someone else\n");
}

TEST_F(LineEditorTest, PipedInputPrintsNoPrompt) {
  PipedInput input("y\n");
  auto editor = LineEditor::open(history_, false, input.fd());
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(editor->read_line("Approve? [y/N] "), "y");
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
}

TEST_F(LineEditorTest, PipedModeKeepsNoHistory) {
  PipedInput input("");
  auto editor = LineEditor::open(history_, false, input.fd());
  editor->add_history("something");
  EXPECT_TRUE(editor->history_entries().empty());
  EXPECT_FALSE(fs::exists(history_));
}

TEST_F(LineEditorTest, HistoryFileIsCreatedPrivate) {
  auto editor = LineEditor::open(history_, /*interactive=*/true);
  ASSERT_TRUE(fs::exists(history_));
  struct stat info {};
  ASSERT_EQ(stat(history_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  editor->add_history("one");
  ASSERT_EQ(stat(history_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST_F(LineEditorTest, HistorySkipsSpaceLeadingEmptyAndRepeatedLines) {
  auto editor = LineEditor::open(history_, true);
  editor->add_history("fix the tests");
  editor->add_history("fix the tests");
  editor->add_history(" my secret line");
  editor->add_history("");
  editor->add_history("/help");
  editor->add_history("fix the tests");
  EXPECT_THAT(editor->history_entries(), ElementsAre("fix the tests", "/help", "fix the tests"));
  EXPECT_THAT(history_text(), Not(HasSubstr("secret")));
}

TEST_F(LineEditorTest, HistorySurvivesReopening) {
  {
    auto editor = LineEditor::open(history_, true);
    editor->add_history("first task");
    editor->add_history("second task with  two spaces");
  }
  auto editor = LineEditor::open(history_, true);
  EXPECT_THAT(editor->history_entries(), ElementsAre("first task", "second task with  two spaces"));
}

TEST_F(LineEditorTest, HistoryKeepsTheLastThousandEntries) {
  {
    auto editor = LineEditor::open(history_, true);
    for (int index = 0; index < 1010; ++index)
      editor->add_history("entry " + std::to_string(index));
  }
  auto editor = LineEditor::open(history_, true);
  std::vector<std::string> entries = editor->history_entries();
  ASSERT_EQ(entries.size(), 1000u);
  EXPECT_EQ(entries.front(), "entry 10");
  EXPECT_EQ(entries.back(), "entry 1009");
}

TEST_F(LineEditorTest, UnusableHistoryFileIsNotAnError) {
  auto editor = LineEditor::open(root_ / "missing" / "dir" / "history", true);
  editor->add_history("still works");
  EXPECT_THAT(editor->history_entries(), ElementsAre("still works"));
}

}  // namespace
}  // namespace joey::client
