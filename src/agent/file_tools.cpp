#include "agent/file_tools.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include "agent/apply_diff.h"
#include "agent/tool_args.h"
#include "agent/workspace.h"
#include "base/atomic_file.h"
#include "base/strings.h"

namespace joey::agent {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr size_t kBinaryProbeBytes = 8 * 1024;
constexpr size_t kReadChunkBytes = 64 * 1024;
// Past this many bytes read_file stops counting the lines of a huge file.
constexpr uint64_t kMaxLineCountBytes = 512ull * 1024 * 1024;
constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

std::string errno_message(int error_number) { return std::strerror(error_number); }

// The shown part of a file, numbered, with what is needed to say where it stopped.
struct NumberedLines {
  std::string text;
  int64_t first_line = 0;
  int64_t last_line = 0;  // 0 when no line was shown
  int64_t total_lines = 0;
  bool total_known = true;
  bool hit_limit = false;      // stopped before end_line (or the end of the file)
  bool cut_long_line = false;  // the one shown line was longer than max_bytes
};

class LineNumberer {
 public:
  LineNumberer(int64_t start_line, std::optional<int64_t> end_line, const ReadFileLimits& limits)
      : start_line_(start_line), end_line_(end_line), limits_(limits) {
    result_.first_line = start_line;
  }

  void feed(std::string_view chunk) {
    while (!chunk.empty()) {
      size_t newline = chunk.find('\n');
      append_to_line(chunk.substr(0, newline));
      if (newline == std::string_view::npos) return;
      finish_line();
      chunk.remove_prefix(newline + 1);
    }
  }

  // True once no later line can be shown.
  bool done_showing() const {
    return result_.hit_limit || (end_line_ && line_number_ > *end_line_);
  }

  NumberedLines finish(bool total_known) {
    if (line_has_bytes_ && total_known) finish_line();
    result_.total_lines = line_number_ - 1;
    result_.total_known = total_known;
    return std::move(result_);
  }

 private:
  bool wanted() const {
    return !result_.hit_limit && line_number_ >= start_line_ &&
           (!end_line_ || line_number_ <= *end_line_);
  }

  void append_to_line(std::string_view bytes) {
    if (bytes.empty()) return;
    line_has_bytes_ = true;
    line_length_ += bytes.size();
    // Keep only what can be shown, so a gigabyte-long line costs no memory.
    if (wanted() && line_.size() <= limits_.max_bytes) {
      line_.append(
          bytes.substr(0, limits_.max_bytes + 4 - std::min(line_.size(), limits_.max_bytes)));
    }
  }

  void finish_line() {
    if (wanted()) show_line();
    line_.clear();
    line_length_ = 0;
    line_has_bytes_ = false;
    ++line_number_;
  }

  void show_line() {
    std::string_view content = line_;
    if (line_length_ == line_.size() && !content.empty() && content.back() == '\r') {
      content.remove_suffix(1);
    }
    std::string entry = std::to_string(line_number_) + " | " + to_valid_utf8(content) + "\n";
    bool over_lines = shown_lines_ >= limits_.max_lines;
    bool over_bytes = result_.text.size() + entry.size() > limits_.max_bytes;
    if (!over_lines && !over_bytes) {
      result_.text += entry;
    } else if (shown_lines_ == 0 && !over_lines) {
      result_.text = std::to_string(line_number_) + " | " +
                     to_valid_utf8(utf8_prefix(content, limits_.max_bytes)) + "\n";
      result_.cut_long_line = true;
      result_.last_line = line_number_;
      result_.hit_limit = true;
      ++shown_lines_;
      return;
    } else {
      result_.hit_limit = true;
      return;
    }
    result_.last_line = line_number_;
    ++shown_lines_;
  }

  int64_t start_line_;
  std::optional<int64_t> end_line_;
  ReadFileLimits limits_;
  NumberedLines result_;
  int64_t line_number_ = 1;
  int64_t shown_lines_ = 0;
  std::string line_;
  uint64_t line_length_ = 0;
  bool line_has_bytes_ = false;
};

// Streams the file so that a huge file costs only what is shown.
Result<NumberedLines> read_numbered_lines(const fs::path& path, const std::string& shown_path,
                                          int64_t start_line, std::optional<int64_t> end_line,
                                          const ReadFileLimits& limits) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return make_error(ErrorKind::kIo, "cannot open " + shown_path + ": " + errno_message(errno));
  }
  LineNumberer numberer(start_line, end_line, limits);
  std::vector<char> buffer(kReadChunkBytes);
  uint64_t bytes_read = 0;
  bool first_chunk = true;
  while (true) {
    file.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    size_t count = static_cast<size_t>(file.gcount());
    if (count == 0) break;
    std::string_view chunk(buffer.data(), count);
    if (first_chunk && looks_binary(chunk.substr(0, kBinaryProbeBytes))) {
      return make_error(ErrorKind::kInvalidArgument,
                        shown_path + " looks like a binary file; read_file only reads text files");
    }
    first_chunk = false;
    numberer.feed(chunk);
    bytes_read += count;
    if (bytes_read >= kMaxLineCountBytes && numberer.done_showing()) {
      return numberer.finish(/*total_known=*/false);
    }
  }
  if (file.bad()) {
    return make_error(ErrorKind::kIo, "error reading " + shown_path + ": " + errno_message(errno));
  }
  return numberer.finish(/*total_known=*/true);
}

std::string lines_word(int64_t count) {
  return std::to_string(count) + (count == 1 ? " line" : " lines");
}

// The file's text for an edit: kNotFound / binary refusal / kIo, named as the model wrote it.
Result<std::string> read_text_for_edit(const ResolvedPath& path, const std::string& user_path) {
  auto content = read_file_to_string(path.absolute);
  if (!content.ok()) {
    if (content.error().kind == ErrorKind::kNotFound) {
      return make_error(ErrorKind::kNotFound, "File not found: " + user_path);
    }
    return content.error();
  }
  if (looks_binary(std::string_view(*content).substr(0, kBinaryProbeBytes))) {
    return make_error(ErrorKind::kInvalidArgument,
                      user_path + " looks like a binary file; only text files can be edited");
  }
  return std::move(content).value();
}

Status refuse_directory(const ResolvedPath& path, const std::string& user_path) {
  std::error_code error;
  if (fs::is_directory(path.absolute, error)) {
    return make_error(ErrorKind::kInvalidArgument,
                      user_path + " is a directory; use list_files to see its contents");
  }
  return ok_status();
}

Status write_text(const ResolvedPath& path, const std::string& user_path,
                  std::string_view content) {
  Status written = write_file_atomically(path.absolute, content);
  if (!written.ok()) return written.error().with_context("writing " + user_path);
  return ok_status();
}

json path_property() {
  return {{"type", "string"},
          {"description", "File path, relative to the workspace root (or absolute)."}};
}

// ---- read_file ----

Result<ToolOutput> run_read_file(const json& args, ToolContext& context,
                                 const ReadFileLimits& limits) {
  std::string user_path = TRY(required_string(args, "path"));
  std::optional<int64_t> start_line = TRY(optional_integer(args, "start_line"));
  std::optional<int64_t> end_line = TRY(optional_integer(args, "end_line"));
  if (start_line && *start_line < 1) {
    return invalid_argument("start_line", "line numbers start at 1");
  }
  if (end_line && *end_line < start_line.value_or(1)) {
    return invalid_argument("end_line", "must not be less than start_line");
  }
  ResolvedPath path = TRY(resolve_path_argument(context, args, "path"));
  // Refused before the file is opened: an edit error can quote it.
  TRY(context.workspace->check_not_ignored(path));
  std::string shown = context.workspace->display(path.absolute);
  TRY(check_access(*context.workspace, context, path, ActionKind::kRead, "read_file",
                   "read " + shown));

  std::error_code error;
  fs::file_status status = fs::status(path.absolute, error);
  if (!fs::exists(status)) return make_error(ErrorKind::kNotFound, "File not found: " + user_path);
  TRY(refuse_directory(path, user_path));
  if (!fs::is_regular_file(status)) {
    return make_error(ErrorKind::kInvalidArgument, user_path + " is not a regular file");
  }

  int64_t first = start_line.value_or(1);
  NumberedLines lines = TRY(read_numbered_lines(path.absolute, user_path, first, end_line, limits));
  ToolOutput output;
  if (lines.last_line == 0) {
    if (lines.total_lines == 0 && first == 1) {
      output.content = "(" + user_path + " is empty)";
      output.summary = "read " + shown + " (empty)";
      return output;
    }
    return invalid_argument("start_line", "line " + std::to_string(first) + " is past the end of " +
                                              user_path + ", which has " +
                                              lines_word(lines.total_lines));
  }
  output.content = std::move(lines.text);
  std::string range = std::to_string(lines.first_line) + "-" + std::to_string(lines.last_line);
  if (lines.hit_limit) {
    std::string total = lines.total_known ? std::to_string(lines.total_lines)
                                          : "more than " + std::to_string(lines.total_lines);
    output.content += "\n[Showing lines " + range + " of " + total + ". ";
    if (lines.cut_long_line) {
      output.content += "Line " + std::to_string(lines.last_line) + " was cut after " +
                        std::to_string(limits.max_bytes / 1024) + " KiB. ";
    } else {
      output.content += "Output is limited to " + std::to_string(limits.max_lines) + " lines or " +
                        std::to_string(limits.max_bytes / 1024) + " KiB per call. ";
    }
    output.content +=
        "To read more, call read_file with start_line=" + std::to_string(lines.last_line + 1) +
        ".]\n";
  }
  output.summary = "read " + shown + " (lines " + range + ")";
  return output;
}

// ---- write_to_file ----

Result<ToolOutput> run_write_to_file(const json& args, ToolContext& context) {
  std::string user_path = TRY(required_string(args, "path"));
  std::string content = TRY(required_string(args, "content"));
  ResolvedPath path = TRY(resolve_path_argument(context, args, "path"));
  // Refused before the file is opened: an edit error can quote it.
  TRY(context.workspace->check_not_ignored(path));
  TRY(refuse_directory(path, user_path));
  std::error_code error;
  bool existed = fs::exists(path.absolute, error);
  std::string shown = context.workspace->display(path.absolute);
  std::string lines = lines_word(count_lines(content));
  TRY(check_access(*context.workspace, context, path, ActionKind::kWrite, "write_to_file",
                   (existed ? "overwrite " : "create ") + shown + " (" + lines + ")"));
  TRY(write_text(path, user_path, content));
  ToolOutput output;
  output.content = (existed ? "Overwrote " : "Created ") + user_path + " (" + lines + ").";
  output.summary = "wrote " + shown + " (" + lines + ")";
  return output;
}

// ---- apply_diff ----

Result<ToolOutput> run_apply_diff(const json& args, ToolContext& context) {
  std::string user_path = TRY(required_string(args, "path"));
  std::string diff = TRY(required_string(args, "diff"));
  ResolvedPath path = TRY(resolve_path_argument(context, args, "path"));
  // Refused before the file is opened: an edit error can quote it.
  TRY(context.workspace->check_not_ignored(path));
  TRY(refuse_directory(path, user_path));
  std::string shown = context.workspace->display(path.absolute);
  // Reading a file outside the workspace is itself an access to ask about.
  if (!path.inside_workspace) {
    TRY(check_access(*context.workspace, context, path, ActionKind::kWrite, "apply_diff",
                     "edit " + shown));
  }
  std::string original = TRY(read_text_for_edit(path, user_path));
  ApplyDiffOutcome outcome = TRY(apply_diff(original, diff));
  std::string blocks =
      std::to_string(outcome.blocks_applied) + (outcome.blocks_applied == 1 ? " block" : " blocks");
  ToolOutput output;
  if (outcome.content == original) {
    output.content = "No change: the replacements leave " + user_path + " as it was.";
    output.summary = "edited " + shown + " (no change)";
    return output;
  }
  if (path.inside_workspace) {
    TRY(check_access(*context.workspace, context, path, ActionKind::kWrite, "apply_diff",
                     "edit " + shown + " (" + blocks + ")"));
  }
  TRY(write_text(path, user_path, outcome.content));
  output.content = "Applied " + blocks + " to " + user_path + ".";
  for (const std::string& note : outcome.notes) output.content += "\nNote: " + note;
  output.summary = "edited " + shown + " (" + blocks + ")";
  return output;
}

// ---- insert_content ----

// Byte offset where 1-based `line` starts; `line` must be within the text.
size_t line_offset(std::string_view text, int64_t line) {
  size_t offset = 0;
  for (int64_t current = 1; current < line; ++current) offset = text.find('\n', offset) + 1;
  return offset;
}

std::string with_line_endings(std::string_view text, std::string_view eol) {
  std::string result;
  result.reserve(text.size() + text.size() / 16);
  for (size_t pos = 0; pos < text.size(); ++pos) {
    if (text[pos] == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n') continue;
    if (text[pos] == '\n') {
      result += eol;
    } else {
      result += text[pos];
    }
  }
  if (!result.empty() && result.back() != '\n') result += eol;
  return result;
}

Result<ToolOutput> run_insert_content(const json& args, ToolContext& context) {
  std::string user_path = TRY(required_string(args, "path"));
  int64_t line = TRY(required_integer(args, "line"));
  std::string content = TRY(required_string(args, "content"));
  if (line < 0) return invalid_argument("line", "must be 0 (append) or a 1-based line number");
  if (content.empty()) return invalid_argument("content", "is empty; there is nothing to insert");
  ResolvedPath path = TRY(resolve_path_argument(context, args, "path"));
  // Refused before the file is opened: an edit error can quote it.
  TRY(context.workspace->check_not_ignored(path));
  TRY(refuse_directory(path, user_path));
  std::string shown = context.workspace->display(path.absolute);
  if (!path.inside_workspace) {
    TRY(check_access(*context.workspace, context, path, ActionKind::kWrite, "insert_content",
                     "insert into " + shown));
  }

  std::string original;
  std::error_code error;
  bool exists = fs::exists(path.absolute, error);
  if (exists) {
    original = TRY(read_text_for_edit(path, user_path));
  } else if (line > 1) {
    return make_error(
        ErrorKind::kNotFound,
        "File not found: " + user_path + ". To create it, use line 0 or 1 (or write_to_file).");
  }
  int64_t total = count_lines(original);
  if (line > total + 1) {
    return invalid_argument("line", "line " + std::to_string(line) + " is past the end of " +
                                        user_path + ", which has " + lines_word(total) +
                                        "; use 0 to append at the end");
  }
  size_t first_newline = original.find('\n');
  bool crlf = first_newline != std::string::npos && first_newline > 0 &&
              original[first_newline - 1] == '\r';
  std::string_view eol = crlf ? "\r\n" : "\n";
  std::string inserted = with_line_endings(content, eol);
  int64_t inserted_lines = count_lines(inserted);
  bool append = line == 0 || line == total + 1;
  std::string updated = original;
  if (append) {
    if (!updated.empty() && updated.back() != '\n') updated += eol;
    updated += inserted;
  } else {
    updated.insert(line_offset(original, line), inserted);
  }
  std::string where =
      append ? "at the end of " + shown : "before line " + std::to_string(line) + " of " + shown;
  if (path.inside_workspace) {
    TRY(check_access(*context.workspace, context, path, ActionKind::kWrite, "insert_content",
                     "insert " + lines_word(inserted_lines) + " " + where));
  }
  TRY(write_text(path, user_path, updated));
  ToolOutput output;
  output.content = "Inserted " + lines_word(inserted_lines) + " " +
                   (append ? "at the end of " + user_path
                           : "before line " + std::to_string(line) + " of " + user_path) +
                   (exists ? "." : " (created the file).");
  output.summary = "inserted " + lines_word(inserted_lines) + " " + where;
  return output;
}

}  // namespace

bool looks_binary(std::string_view prefix) {
  if (prefix.find('\0') != std::string_view::npos) return true;
  // The last three bytes may be a character that the end of the probe cut.
  size_t checked_end = prefix.size() > 3 ? prefix.size() - 3 : 0;
  size_t invalid = 0;
  for (size_t pos = 0; pos < checked_end;) {
    size_t length = utf8_sequence_length(prefix, pos);
    if (length == 0) {
      ++invalid;
      ++pos;
    } else {
      pos += length;
    }
  }
  return invalid * 10 > prefix.size();
}

std::string to_valid_utf8(std::string_view text) {
  std::string result;
  result.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    size_t length = utf8_sequence_length(text, pos);
    if (length == 0) {
      result += kReplacementCharacter;
      ++pos;
    } else {
      result.append(text.substr(pos, length));
      pos += length;
    }
  }
  return result;
}

int64_t count_lines(std::string_view text) {
  int64_t lines = std::count(text.begin(), text.end(), '\n');
  if (!text.empty() && text.back() != '\n') ++lines;
  return lines;
}

ToolDefinition read_file_tool(ReadFileLimits limits) {
  ToolDefinition tool;
  tool.name = "read_file";
  tool.description =
      "Read a text file. Each line of the result is prefixed with its 1-based line number and "
      "\" | \" (the prefix is not part of the file). At most " +
      std::to_string(limits.max_lines) + " lines or " + std::to_string(limits.max_bytes / 1024) +
      " KiB are returned per call; use start_line and end_line to read part of a large file. "
      "Binary files and directories are refused (use list_files for directories).";
  tool.input_schema = {
      {"type", "object"},
      {"properties",
       {{"path", path_property()},
        {"start_line",
         {{"type", "integer"},
          {"minimum", 1},
          {"description",
           "First line to read (1-based). "
           "Default: 1."}}},
        {"end_line",
         {{"type", "integer"},
          {"minimum", 1},
          {"description", "Last line to read, inclusive. Default: the end of the file."}}}}},
      {"required", {"path"}}};
  tool.run = [limits](const json& args, ToolContext& context) {
    return run_read_file(args, context, limits);
  };
  return tool;
}

ToolDefinition write_to_file_tool() {
  ToolDefinition tool;
  tool.name = "write_to_file";
  tool.description =
      "Create a file, or replace the whole content of an existing one. Writes exactly the given "
      "content (no line numbers) and creates missing parent directories. To change part of an "
      "existing file, prefer apply_diff or insert_content.";
  tool.input_schema = {
      {"type", "object"},
      {"properties",
       {{"path", path_property()},
        {"content",
         {{"type", "string"}, {"description", "The complete new content of the file."}}}}},
      {"required", {"path", "content"}}};
  tool.run = run_write_to_file;
  return tool;
}

ToolDefinition apply_diff_tool() {
  ToolDefinition tool;
  tool.name = "apply_diff";
  tool.description =
      "Edit an existing file by replacing exact text. `diff` holds one or more SEARCH/REPLACE "
      "blocks:\n"
      "<<<<<<< SEARCH\n"
      ":start_line:LINE\n"
      "-------\n"
      "exact lines currently in the file\n"
      "=======\n"
      "lines to put in their place\n"
      ">>>>>>> REPLACE\n"
      "The SEARCH lines must match the file exactly, whitespace and indentation included (read "
      "the file first; do not include the line-number prefixes read_file shows). :start_line: is "
      "optional: the 1-based line where the SEARCH text starts. If any block fails to match, the "
      "file is left unchanged.";
  tool.input_schema = {
      {"type", "object"},
      {"properties",
       {{"path", path_property()},
        {"diff", {{"type", "string"}, {"description", "One or more SEARCH/REPLACE blocks."}}}}},
      {"required", {"path", "diff"}}};
  tool.run = run_apply_diff;
  return tool;
}

ToolDefinition insert_content_tool() {
  ToolDefinition tool;
  tool.name = "insert_content";
  tool.description =
      "Insert lines into a file without changing the existing ones. The content goes before the "
      "given 1-based line; line 0 appends at the end of the file. The file's line endings are "
      "kept.";
  tool.input_schema = {
      {"type", "object"},
      {"properties",
       {{"path", path_property()},
        {"line",
         {{"type", "integer"},
          {"minimum", 0},
          {"description", "Insert before this 1-based line; 0 appends at the end."}}},
        {"content", {{"type", "string"}, {"description", "The lines to insert."}}}}},
      {"required", {"path", "line", "content"}}};
  tool.run = run_insert_content;
  return tool;
}

}  // namespace joey::agent
