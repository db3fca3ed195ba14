#include "agent/command_tool.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "agent/file_tools.h"
#include "agent/ignore_rules.h"
#include "agent/sandbox.h"
#include "agent/tool_args.h"
#include "agent/workspace.h"
#include "base/strings.h"
#include "base/subprocess.h"
#include "llm/provider.h"

namespace joey::agent {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr size_t kSummaryCommandChars = 80;
// A glob word is expanded against at most this many entries of its directory.
constexpr size_t kMaxGlobEntries = 10'000;

// Keeps the first and the last cap/2 bytes of a stream of chunks, in arrival order,
// so stdout and stderr stay interleaved as the user saw them.
class HeadTailBuffer {
 public:
  explicit HeadTailBuffer(size_t cap) : half_(cap / 2) {}

  void append(std::string_view chunk) {
    total_ += chunk.size();
    size_t to_head = std::min(chunk.size(), half_ - head_.size());
    head_.append(chunk.substr(0, to_head));
    chunk.remove_prefix(to_head);
    if (chunk.empty()) return;
    tail_.append(chunk);
    // Trim in batches so that appending stays linear.
    if (tail_.size() > 2 * half_) tail_.erase(0, tail_.size() - half_);
  }

  size_t total() const { return total_; }

  std::string text() const {
    std::string_view tail = tail_;
    if (tail.size() > half_) tail.remove_prefix(tail.size() - half_);
    size_t omitted = total_ - head_.size() - tail.size();
    if (omitted == 0) return to_valid_utf8(head_ + std::string(tail));
    return to_valid_utf8(head_) + "\n[... " + std::to_string(omitted) + " bytes omitted ...]\n" +
           to_valid_utf8(utf8_drop_partial_start(tail));
  }

 private:
  size_t half_;
  std::string head_;
  std::string tail_;
  size_t total_ = 0;
};

std::string short_command(const std::string& command) {
  std::string_view text = command;
  size_t newline = text.find('\n');
  bool cut = newline != std::string_view::npos || text.size() > kSummaryCommandChars;
  text = utf8_prefix(text.substr(0, newline), kSummaryCommandChars);
  return std::string(text) + (cut ? "..." : "");
}

std::string signal_name(int signal_number) {
  const char* description = strsignal(signal_number);
  return std::to_string(signal_number) + (description ? std::string(" (") + description + ")" : "");
}

Result<int> timeout_argument(const json& args) {
  std::optional<int64_t> timeout = TRY(optional_integer(args, "timeout"));
  if (!timeout) return kDefaultCommandTimeoutSeconds;
  if (*timeout < 1 || *timeout > kMaxCommandTimeoutSeconds) {
    return invalid_argument("timeout", "must be between 1 and " +
                                           std::to_string(kMaxCommandTimeoutSeconds) +
                                           " seconds, got " + std::to_string(*timeout));
  }
  return static_cast<int>(*timeout);
}

Result<fs::path> working_directory(const json& args, ToolContext& context,
                                   const std::string& command) {
  std::optional<std::string> cwd = TRY(optional_string(args, "cwd"));
  if (!cwd || cwd->empty()) return context.workspace->root();
  ResolvedPath path = TRY(resolve_path_argument(context, args, "cwd"));
  std::error_code error;
  if (!fs::is_directory(path.absolute, error)) {
    return make_error(ErrorKind::kNotFound, "Invalid argument 'cwd': no such directory: " + *cwd);
  }
  if (!path.inside_workspace) {
    TRY(check_access(*context.workspace, context, path, ActionKind::kCommand, "execute_command",
                     "run `" + short_command(command) + "` in " + path.absolute.string()));
  }
  return path.absolute;
}

std::string status_line(const ProcessResult& result, int timeout_seconds) {
  if (result.timed_out) {
    return "The command timed out after " + std::to_string(timeout_seconds) +
           (timeout_seconds == 1 ? " second" : " seconds") +
           " and was stopped. For a long-running or never-ending command (a server, a "
           "watcher), run it in the background or give a larger timeout.";
  }
  if (result.signaled)
    return "The command was killed by signal " + signal_name(result.signal_number) + ".";
  return "Exit code: " + std::to_string(result.exit_code);
}

std::string summary_status(const ProcessResult& result) {
  if (result.timed_out) return "timed out";
  if (result.signaled) return "signal " + std::to_string(result.signal_number);
  return "exit " + std::to_string(result.exit_code);
}

// ---- commands that name ignored files ----
//
// A command whose words name a file the ignore rules hide needs a person's approval:
// the gate is asked with kProtectedWrite, which nothing approves automatically
// (under --yes it is refused and the model sees why; otherwise the run stops for a
// decision). Not refused outright, because a person may well mean it (`git rm
// --cached .env`); not the ordinary kCommand, because --yes would approve it and
// the file's content could reach the model through the command's output.
// The check reads words, not what the shell will do: quotes and backslashes are
// undone, operators and `=` split words, and a glob in the last component is
// expanded against its directory; variables, command substitution and paths a
// program computes are not seen. It stops the obvious; --sandbox confines commands.

bool is_word_separator(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ';' || c == '|' || c == '&' ||
         c == '<' || c == '>' || c == '(' || c == ')' || c == '`' || c == '$' || c == '=' ||
         c == '{' || c == '}' || c == ',';
}

// The command's words, roughly as the shell would split them.
std::vector<std::string> command_words(std::string_view command) {
  std::vector<std::string> words;
  std::string current;
  char quote = 0;
  auto flush = [&] {
    if (!current.empty()) words.push_back(std::move(current));
    current.clear();
  };
  for (size_t index = 0; index < command.size(); ++index) {
    char c = command[index];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && index + 1 < command.size()) {
        current += command[++index];
      } else {
        current += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '\\' && index + 1 < command.size()) {
      current += command[++index];
    } else if (is_word_separator(c)) {
      flush();
    } else {
      current += c;
    }
  }
  flush();
  return words;
}

bool has_glob(std::string_view text) { return text.find_first_of("*?[") != std::string_view::npos; }

// The hidden file `word` names relative to `cwd` (as spelled and as resolved), or "".
std::string hidden_path_named(const Workspace& workspace, const fs::path& cwd,
                              const std::string& word) {
  fs::path path = fs::path(word).is_absolute() ? fs::path(word) : cwd / word;
  path = path.lexically_normal();
  ResolvedPath resolved;
  resolved.named = path;
  auto symlinks_resolved = workspace.resolve(path.string());
  resolved.absolute = symlinks_resolved.ok() ? symlinks_resolved->absolute : path;
  if (!workspace.check_not_ignored(resolved).ok()) return workspace.display(path);
  return "";
}

// Files matching a glob in `word`'s last component (the directory part must be plain).
std::vector<std::string> expand_glob(const fs::path& cwd, const std::string& word) {
  std::vector<std::string> matches;
  fs::path path(word);
  std::string pattern = path.filename().string();
  if (!has_glob(pattern) || has_glob(path.parent_path().string())) return matches;
  fs::path directory = path.is_absolute() ? path.parent_path() : cwd / path.parent_path();
  std::error_code error;
  fs::directory_iterator entries(directory, error);
  for (size_t seen = 0; !error && entries != fs::directory_iterator() && seen < kMaxGlobEntries;
       entries.increment(error), ++seen) {
    std::string name = entries->path().filename().string();
    if (name.front() == '.' && pattern.front() != '.') continue;  // as the shell does
    if (wildmatch(pattern, name, /*pathname=*/true)) {
      matches.push_back((path.parent_path() / name).string());
    }
  }
  return matches;
}

// The first hidden file the command names, or "" (also when there are no rules).
std::string hidden_file_named(const Workspace& workspace, const fs::path& cwd,
                              std::string_view command) {
  if (workspace.ignore_rules().empty()) return "";
  for (const std::string& word : command_words(command)) {
    std::string hidden = hidden_path_named(workspace, cwd, word);
    if (!hidden.empty()) return hidden;
    for (const std::string& match : expand_glob(cwd, word)) {
      hidden = hidden_path_named(workspace, cwd, match);
      if (!hidden.empty()) return hidden;
    }
  }
  return "";
}

Result<ToolOutput> run_execute_command(const json& args, ToolContext& context) {
  std::string command = TRY(required_string(args, "command"));
  if (command.find_first_not_of(" \t\r\n") == std::string::npos) {
    return invalid_argument("command", "is empty");
  }
  if (command.find('\0') != std::string::npos) {
    return invalid_argument("command", "contains a NUL character");
  }
  int timeout_seconds = TRY(timeout_argument(args));
  if (context.workspace == nullptr) {
    return make_error(ErrorKind::kInternal, "the tool was called without a workspace");
  }
  fs::path cwd = TRY(working_directory(args, context, command));
  Status rules = context.workspace->ignore_rules_status();
  std::string hidden = hidden_file_named(*context.workspace, cwd, command);
  if (!rules.ok()) {
    TRY(request_approval(context, ActionKind::kProtectedWrite, "execute_command",
                         "run `" + command + "` although the ignore rules cannot be read (" +
                             rules.error().message + ")"));
  } else if (context.workspace->hidden(cwd, /*is_directory=*/true)) {
    TRY(request_approval(
        context, ActionKind::kProtectedWrite, "execute_command",
        "run `" + command + "` in ignored directory " + context.workspace->display(cwd)));
  } else if (!hidden.empty()) {
    TRY(request_approval(context, ActionKind::kProtectedWrite, "execute_command",
                         "run `" + command + "`, which names ignored file " + hidden));
  } else {
    TRY(request_approval(context, ActionKind::kCommand, "execute_command", command));
  }
  if (context.cancel != nullptr && context.cancel->load()) {
    return make_error(ErrorKind::kCancelled, "the command was cancelled before it started");
  }

  HeadTailBuffer combined(kCommandOutputCap);
  ProcessOptions options;
  options.argv = {command_shell(), "-c", command};
  options.cwd = cwd.string();
  if (context.sandbox != nullptr) {
    SandboxOptions sandbox = *context.sandbox;
    sandbox.cwd = cwd;
    options.argv = TRY(sandbox_argv(sandbox, options.argv));
  }
  // Commands run without a terminal of their own: pagers would wait for a key and
  // credential prompts would wait for the timeout, so turn both off.
  options.env = {{"PAGER", "cat"}, {"GIT_PAGER", "cat"}, {"GIT_TERMINAL_PROMPT", "0"}};
  options.unset_env = llm::provider_key_variables();  // P2: keys stay with joey
  options.timeout = std::chrono::seconds(timeout_seconds);
  options.output_cap_bytes = kCommandOutputCap;
  options.cancel = context.cancel;
  options.on_output = [&](std::string_view chunk, bool /*is_stderr*/) {
    combined.append(chunk);
    if (context.on_command_output) context.on_command_output(chunk);
  };
  auto result = run_process(options);
  if (!result.ok()) return result.error().with_context("starting the command");
  if (result->cancelled) return make_error(ErrorKind::kCancelled, "the command was cancelled");

  std::string text = combined.text();
  if (combined.total() == 0) {
    // Nothing came through on_output: fall back to the captured streams.
    text =
        to_valid_utf8(cap_head_tail(result->stdout_text + result->stderr_text, kCommandOutputCap));
  }
  ToolOutput output;
  output.content = status_line(*result, timeout_seconds) + "\n";
  output.content += text.empty() ? "Output: (none)\n" : "Output:\n" + text;
  if (!text.empty() && text.back() != '\n') output.content += "\n";
  output.summary = "ran `" + short_command(command) + "` (" + summary_status(*result) + ")";
  return output;
}

}  // namespace

std::string command_shell() {
  const char* shell = std::getenv("SHELL");
  if (shell != nullptr && shell[0] == '/' && access(shell, X_OK) == 0) return shell;
  if (access("/bin/bash", X_OK) == 0) return "/bin/bash";
  return "/bin/sh";
}

ToolDefinition execute_command_tool() {
  ToolDefinition tool;
  tool.name = "execute_command";
  tool.description =
      "Run a shell command on the user's machine and return its exit code and output (stdout and "
      "stderr combined). It runs in the workspace root unless cwd is given. stdin is empty, so "
      "the command must not wait for input (pass flags like --yes). Output longer than " +
      std::to_string(kCommandOutputCap / 1024) +
      " KiB is cut in the middle. Prefer read_file, search_files and list_files over commands "
      "for reading and searching files.";
  tool.input_schema = {
      {"type", "object"},
      {"properties",
       {{"command", {{"type", "string"}, {"description", "The shell command line to run."}}},
        {"cwd",
         {{"type", "string"},
          {"description",
           "Directory to run in, relative to the workspace root. Default: the "
           "workspace root."}}},
        {"timeout",
         {{"type", "integer"},
          {"minimum", 1},
          {"maximum", kMaxCommandTimeoutSeconds},
          {"description", "Seconds before the command is stopped. Default: " +
                              std::to_string(kDefaultCommandTimeoutSeconds) + "."}}}}},
      {"required", {"command"}}};
  tool.run = run_execute_command;
  return tool;
}

}  // namespace joey::agent
