#include "agent/system_prompt.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <vector>

#include "base/subprocess.h"

namespace joey::agent {

WorkspaceFacts gather_workspace_facts(const std::filesystem::path& root, size_t max_files) {
  WorkspaceFacts facts;
  facts.root = root;
  utsname name{};
  if (uname(&name) == 0) facts.os = std::string(name.sysname) + " " + name.release;
  const char* shell = std::getenv("SHELL");
  facts.shell = shell && *shell ? shell : "/bin/sh";

  ProcessOptions options;
  options.argv = {"rg", "--files", "--sort", "path"};
  // Ignored files must not even be named to the model.
  for (const char* ignore_file : {".joeyignore", ".rooignore"}) {
    std::error_code exists_error;
    if (std::filesystem::is_regular_file(root / ignore_file, exists_error)) {
      options.argv.insert(options.argv.end(), {"--ignore-file", (root / ignore_file).string()});
    }
  }
  options.cwd = root.string();
  options.timeout = std::chrono::milliseconds(5000);
  options.output_cap_bytes = 4 << 20;
  std::vector<std::string> files;
  Result<ProcessResult> listed = run_process(options);
  if (listed.ok() && listed->exit_code == 0) {
    std::istringstream lines(listed->stdout_text);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) files.push_back(line);
    }
  } else {
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(root, error)) {
      std::string file = entry.path().filename().string();
      if (file == ".git") continue;
      files.push_back(entry.is_directory() ? file + "/" : file);
    }
    std::sort(files.begin(), files.end());
  }
  facts.listing_truncated = files.size() > max_files;
  if (facts.listing_truncated) files.resize(max_files);
  facts.files_listed = files.size();
  for (const std::string& file : files) facts.file_listing += file + "\n";
  return facts;
}

std::string build_system_prompt(const std::string& mode_section, const WorkspaceFacts& facts,
                                const std::string& rules_section) {
  std::string prompt = mode_section;
  prompt +=
      "\n\n# How you work\n"
      "- Act through the tools provided; call them natively, one step at a time, and read each "
      "result before the next step.\n"
      "- Read a file before you change it. Prefer apply_diff for edits to existing files; use "
      "write_to_file for new files or complete rewrites.\n"
      "- Paths are relative to the workspace root below. Stay inside it.\n"
      "- Commands run in the user's shell in the workspace; prefer non-interactive commands.\n"
      "- Do not ask questions you can answer by reading the project. Use ask_followup_question "
      "only when you truly need the user's decision.\n"
      "- When the task is done, call attempt_completion with a short summary of what you did. "
      "Every reply must call a tool.\n";
  prompt += "\n# Workspace\n";
  prompt += "Root: " + facts.root.string() + "\n";
  prompt += "OS: " + facts.os + "\nShell: " + facts.shell + "\n";
  prompt += "Files (honouring .gitignore" +
            std::string(facts.listing_truncated
                            ? "; first " + std::to_string(facts.files_listed) + " only — use list_files for more"
                            : "") +
            "):\n";
  prompt += facts.file_listing.empty() ? "(empty)\n" : facts.file_listing;
  if (!rules_section.empty()) prompt += "\n" + rules_section;
  return prompt;
}

size_t estimate_tokens(std::string_view text) { return (text.size() + 3) / 4; }

}  // namespace joey::agent
