#include "agent/search_tools.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "agent/file_tools.h"
#include "agent/tool_args.h"
#include "agent/workspace.h"
#include "base/strings.h"
#include "base/subprocess.h"

namespace joey::agent {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::chrono::seconds kRipgrepTimeout{60};
// A longer line of ripgrep output (a match in a minified file) is dropped unread.
constexpr size_t kMaxRipgrepLineBytes = 4 * 1024 * 1024;
constexpr size_t kMaxShownLineBytes = 500;
// list_files stops reading ripgrep's output after this many files.
constexpr size_t kMaxCollectedFiles = 50'000;

// Splits ripgrep's stdout into lines for `on_line` until it returns false.
class LineSplitter {
 public:
  explicit LineSplitter(std::function<bool(std::string_view)> on_line)
      : on_line_(std::move(on_line)) {}

  void feed(std::string_view chunk) {
    while (!chunk.empty() && !stopped_) {
      size_t newline = chunk.find('\n');
      std::string_view piece = chunk.substr(0, newline);
      if (!skipping_) {
        pending_.append(piece);
        if (pending_.size() > kMaxRipgrepLineBytes) {
          pending_.clear();
          skipping_ = true;
        }
      }
      if (newline == std::string_view::npos) return;
      if (!skipping_) stopped_ = !on_line_(pending_);
      pending_.clear();
      skipping_ = false;
      chunk.remove_prefix(newline + 1);
    }
  }

  bool stopped() const { return stopped_; }

 private:
  std::function<bool(std::string_view)> on_line_;
  std::string pending_;
  bool skipping_ = false;
  bool stopped_ = false;
};

// ripgrep's first error line (it can list one per unreadable file).
std::string first_error_lines(const std::string& stderr_text) {
  std::string text = to_valid_utf8(utf8_prefix(stderr_text, 2000));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

Result<ProcessResult> run_ripgrep(std::vector<std::string> arguments, ToolContext& context,
                                  LineSplitter& splitter) {
  ProcessOptions options;
  options.argv = {"rg", "--no-config", "--hidden", "--no-require-git", "--glob", "!.git/"};
  // ripgrep honours the ignore files itself; the results are filtered again with
  // Workspace::hidden, so a difference between its matcher and joey's cannot leak.
  for (const fs::path& ignore_file : context.workspace->ignore_rules().files()) {
    options.argv.insert(options.argv.end(), {"--ignore-file", ignore_file.string()});
  }
  options.argv.insert(options.argv.end(), arguments.begin(), arguments.end());
  options.cwd = context.workspace->root().string();
  options.timeout = kRipgrepTimeout;
  options.output_cap_bytes = 64 * 1024;
  options.cancel = context.cancel;
  // Once the splitter has all it wants, stop ripgrep instead of reading (and it
  // producing) output nobody will see.
  std::atomic<bool> enough{false};
  options.stop = &enough;
  options.on_output = [&splitter, &enough](std::string_view chunk, bool is_stderr) {
    if (is_stderr) return;
    splitter.feed(chunk);
    if (splitter.stopped()) enough.store(true);
  };
  auto result = run_process(options);
  if (!result.ok()) {
    if (result.error().kind == ErrorKind::kNotFound) {
      return make_error(ErrorKind::kNotFound,
                        "ripgrep (rg) was not found on PATH; search_files and list_files need it");
    }
    return result.error().with_context("running ripgrep");
  }
  if (result->cancelled) return make_error(ErrorKind::kCancelled, "the search was cancelled");
  if (result->timed_out) {
    return make_error(ErrorKind::kTimeout, "ripgrep did not finish within " +
                                               std::to_string(kRipgrepTimeout.count()) +
                                               " seconds; search a smaller directory");
  }
  if (result->stopped) {
    // Killed on purpose after enough output: a success, not a signal to report.
    result->signaled = false;
    result->exit_code = 0;
  }
  return std::move(result).value();
}

Result<ResolvedPath> existing_path_argument(ToolContext& context, const json& args,
                                            std::string_view tool, const std::string& action) {
  std::string user_path = TRY(required_string(args, "path"));
  ResolvedPath path = TRY(resolve_path_argument(context, args, "path"));
  TRY(check_access(*context.workspace, context, path, ActionKind::kRead, tool,
                   action + " " + context.workspace->display(path.absolute)));
  std::error_code error;
  if (!fs::exists(path.absolute, error)) {
    return make_error(ErrorKind::kNotFound, "No such file or directory: " + user_path);
  }
  return path;
}

// ---- search_files ----

struct FileMatches {
  std::string text;  // numbered lines, "----" between groups that are not adjacent
  int64_t last_line = 0;
};

class SearchCollector {
 public:
  explicit SearchCollector(const Workspace& workspace) : workspace_(workspace) {}

  // Takes one line of `rg --json`; false once the match limit is passed.
  bool take(std::string_view line) {
    json message = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!message.is_object()) return true;
    std::string type = message.value("type", "");
    if (type != "match" && type != "context") return true;
    const json& data = message["data"];
    if (!data.is_object()) return true;
    std::string path = text_field(data, "path");
    if (workspace_.hidden(fs::path(path), /*is_directory=*/false)) return true;
    int64_t line_number = data.value("line_number", int64_t{0});
    if (type == "match") {
      if (matches_ == kMaxSearchMatches) {
        truncated_ = true;
        return false;
      }
      ++matches_;
    } else if (matches_ == kMaxSearchMatches &&
               (path != last_path_ || line_number != files_[path].last_line + 1)) {
      return true;  // context that belongs to a match past the limit
    }
    add_line(path, line_number, text_field(data, "lines"));
    last_path_ = path;
    return true;
  }

  std::string render() const {
    if (matches_ == 0) return "No matches found.";
    std::string text = "Found " + std::to_string(matches_) +
                       (matches_ == 1 ? " match" : " matches") + " in " +
                       std::to_string(files_.size()) + (files_.size() == 1 ? " file" : " files");
    if (truncated_) {
      text += " (only the first " + std::to_string(kMaxSearchMatches) +
              " matches are shown; narrow the regex, path or file_pattern to see the rest)";
    }
    text += ".\n";
    for (const auto& [path, file] : files_) text += "\n# " + path + "\n" + file.text;
    return text;
  }

  size_t matches() const { return matches_; }
  size_t files() const { return files_.size(); }

 private:
  static std::string text_field(const json& data, const char* name) {
    auto found = data.find(name);
    if (found == data.end() || !found->is_object()) return "";
    auto text = found->find("text");
    if (text == found->end() || !text->is_string()) return "(line is not valid UTF-8)";
    return text->get<std::string>();
  }

  void add_line(const std::string& path, int64_t line_number, std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (text.size() > kMaxShownLineBytes) {
      text = std::string(utf8_prefix(text, kMaxShownLineBytes)) + " [...]";
    }
    FileMatches& file = files_[workspace_.display(fs::path(path))];
    if (file.last_line != 0 && line_number != file.last_line + 1) file.text += "----\n";
    file.text += std::to_string(line_number) + " | " + text + "\n";
    file.last_line = line_number;
  }

  const Workspace& workspace_;
  std::map<std::string, FileMatches> files_;
  std::string last_path_;
  size_t matches_ = 0;
  bool truncated_ = false;
};

Result<ToolOutput> run_search_files(const json& args, ToolContext& context) {
  TRY(required_string(args, "path"));
  std::string regex = TRY(required_string(args, "regex"));
  std::optional<std::string> file_pattern = TRY(optional_string(args, "file_pattern"));
  if (regex.empty()) return invalid_argument("regex", "is empty");
  ResolvedPath path = TRY(existing_path_argument(context, args, "search_files", "search"));

  std::vector<std::string> arguments = {"--json", "--context", "1"};
  if (file_pattern && !file_pattern->empty()) {
    arguments.insert(arguments.end(), {"--glob", *file_pattern});
  }
  arguments.insert(arguments.end(), {"--regexp", regex, "--", path.absolute.string()});

  SearchCollector collector(*context.workspace);
  LineSplitter splitter([&collector](std::string_view line) { return collector.take(line); });
  ProcessResult process = TRY(run_ripgrep(std::move(arguments), context, splitter));
  ToolOutput output;
  output.content = collector.render();
  if (process.exit_code == 2 || process.signaled) {
    std::string message = first_error_lines(process.stderr_text);
    if (collector.matches() == 0) {
      if (message.find("regex") != std::string::npos) return invalid_argument("regex", message);
      if (message.find("glob") != std::string::npos) {
        return invalid_argument("file_pattern", message);
      }
      return make_error(ErrorKind::kIo, "ripgrep failed: " + message);
    }
    output.content += "\nSome files could not be searched:\n" + message + "\n";
  }
  std::string shown = context.workspace->display(path.absolute);
  output.summary = "searched " + shown + ": " + std::to_string(collector.matches()) +
                   (collector.matches() == 1 ? " match" : " matches") + " in " +
                   std::to_string(collector.files()) +
                   (collector.files() == 1 ? " file" : " files");
  return output;
}

// ---- list_files ----

Result<std::vector<std::string>> list_directory(const Workspace& workspace, const fs::path& dir,
                                                const std::string& user_path) {
  std::vector<std::string> entries;
  std::error_code error;
  fs::directory_iterator iterator(dir, error);
  for (; !error && iterator != fs::directory_iterator(); iterator.increment(error)) {
    const fs::directory_entry& entry = *iterator;
    if (entry.path().filename() == ".git") continue;
    std::error_code type_error;
    bool is_directory = entry.is_directory(type_error);
    if (workspace.hidden(entry.path(), is_directory)) continue;
    entries.push_back(workspace.display(entry.path()) + (is_directory ? "/" : ""));
  }
  if (error) {
    return make_error(ErrorKind::kIo, "cannot list " + user_path + ": " + error.message());
  }
  return entries;
}

// Every file ripgrep lists, plus the directories between `dir` and each file.
Result<std::vector<std::string>> list_recursively(ToolContext& context, const fs::path& dir,
                                                  bool& cut) {
  const Workspace& workspace = *context.workspace;
  std::set<std::string> entries;
  size_t files = 0;
  LineSplitter splitter([&](std::string_view line) {
    if (line.empty()) return true;
    fs::path file(line);
    if (workspace.hidden(file, /*is_directory=*/false)) return true;
    entries.insert(workspace.display(file));
    for (fs::path parent = file.parent_path();
         parent != dir && parent.has_relative_path() && parent != parent.parent_path();
         parent = parent.parent_path()) {
      if (!entries.insert(workspace.display(parent) + "/").second) break;
    }
    return ++files < kMaxCollectedFiles;
  });
  ProcessResult process = TRY(run_ripgrep({"--files", "--", dir.string()}, context, splitter));
  cut = splitter.stopped();
  if ((process.exit_code == 2 || process.signaled) && entries.empty()) {
    return make_error(ErrorKind::kIo, "ripgrep failed: " + first_error_lines(process.stderr_text));
  }
  return std::vector<std::string>(entries.begin(), entries.end());
}

Result<ToolOutput> run_list_files(const json& args, ToolContext& context) {
  std::string user_path = TRY(required_string(args, "path"));
  bool recursive = TRY(optional_bool(args, "recursive")).value_or(false);
  ResolvedPath path = TRY(existing_path_argument(context, args, "list_files", "list"));
  std::error_code error;
  if (!fs::is_directory(path.absolute, error)) {
    return invalid_argument("path", user_path + " is a file, not a directory; use read_file");
  }
  bool cut = false;
  std::vector<std::string> entries;
  if (recursive) {
    entries = TRY(list_recursively(context, path.absolute, cut));
  } else {
    entries = TRY(list_directory(*context.workspace, path.absolute, user_path));
  }
  std::sort(entries.begin(), entries.end());

  ToolOutput output;
  size_t shown = std::min(entries.size(), kMaxListEntries);
  for (size_t index = 0; index < shown; ++index) output.content += entries[index] + "\n";
  if (entries.empty()) {
    output.content = recursive ? "No files found (files ignored by .gitignore are not listed).\n"
                               : "The directory is empty.\n";
  }
  if (shown < entries.size() || cut) {
    output.content += "\n[Showing " + std::to_string(shown) + " of " + (cut ? "more than " : "") +
                      std::to_string(entries.size()) +
                      " entries. List a subdirectory to see the rest.]\n";
  }
  std::string shown_path = context.workspace->display(path.absolute);
  output.summary = "listed " + shown_path + (recursive ? " recursively" : "") + " (" +
                   std::to_string(entries.size()) + (entries.size() == 1 ? " entry)" : " entries)");
  return output;
}

json path_property(const char* description) {
  return {{"type", "string"}, {"description", description}};
}

}  // namespace

ToolDefinition search_files_tool() {
  ToolDefinition tool;
  tool.name = "search_files";
  tool.description =
      "Search the files under a directory for a regular expression (Rust regex syntax, as used "
      "by ripgrep). Returns each matching line with one line of context, grouped by file, each "
      "line prefixed with its line number and \" | \". Files ignored by .gitignore or "
      ".joeyignore are skipped. "
      "At most " +
      std::to_string(kMaxSearchMatches) + " matches are returned.";
  tool.input_schema = {
      {"type", "object"},
      {"properties",
       {{"path", path_property("Directory (or file) to search, relative to the workspace root. "
                               "Use \".\" for the whole workspace.")},
        {"regex", {{"type", "string"}, {"description", "Regular expression to search for."}}},
        {"file_pattern",
         {{"type", "string"},
          {"description",
           "Glob limiting which files are searched, e.g. \"*.ts\". Default: all "
           "files."}}}}},
      {"required", {"path", "regex"}}};
  tool.run = run_search_files;
  return tool;
}

ToolDefinition list_files_tool() {
  ToolDefinition tool;
  tool.name = "list_files";
  tool.description =
      "List the files and directories in a directory, sorted; directories end with \"/\". Paths "
      "are relative to the workspace root. With recursive true, lists the whole tree, leaving "
      "out files ignored by .gitignore and the .git directory. Files listed in .joeyignore "
      "are never shown. At most " +
      std::to_string(kMaxListEntries) + " entries are returned.";
  tool.input_schema = {
      {"type", "object"},
      {"properties",
       {{"path", path_property("Directory to list, relative to the workspace root. Use \".\" for "
                               "the workspace root.")},
        {"recursive",
         {{"type", "boolean"},
          {"description", "List subdirectories too. Default: false (only the top level)."}}}}},
      {"required", {"path"}}};
  tool.run = run_list_files;
  return tool;
}

}  // namespace joey::agent
