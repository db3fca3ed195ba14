#include "agent/rules.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <system_error>

#include "base/strings.h"

namespace joey::agent {
namespace {

namespace fs = std::filesystem;

struct Candidate {
  fs::path path;
  std::string display_name;
  fs::path boundary;  // the file must resolve inside this directory
};

void add_file(std::vector<Candidate>& candidates, const fs::path& boundary,
              const std::string& relative) {
  candidates.push_back({boundary / relative, relative, boundary});
}

// Every `*.md` entry of `boundary/relative_dir`, by file name.
void add_directory(std::vector<Candidate>& candidates, const fs::path& boundary,
                   const std::string& relative_dir, const std::string& display_prefix) {
  std::error_code error;
  std::vector<std::string> names;
  for (fs::directory_iterator it(boundary / relative_dir, error), end; !error && it != end;
       it.increment(error)) {
    std::string name = it->path().filename().string();
    if (name.size() > 3 && name.ends_with(".md")) names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    candidates.push_back(
        {boundary / relative_dir / name, display_prefix + relative_dir + "/" + name, boundary});
  }
}

std::vector<Candidate> rules_candidates(const fs::path& joey_home, const fs::path& root,
                                        const std::string& mode) {
  std::vector<Candidate> candidates;
  add_directory(candidates, joey_home, "rules", "$JOEY_HOME/");
  add_file(candidates, root, "AGENTS.md");
  add_file(candidates, root, ".roorules");
  add_directory(candidates, root, ".joey/rules", "");
  add_directory(candidates, root, ".roo/rules", "");
  add_directory(candidates, root, ".joey/rules-" + mode, "");
  add_directory(candidates, root, ".roo/rules-" + mode, "");
  add_file(candidates, root, ".roorules-" + mode);
  return candidates;
}

bool valid_slug(std::string_view slug) {
  return !slug.empty() && std::all_of(slug.begin(), slug.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool inside(const fs::path& path, const fs::path& directory) {
  auto path_part = path.begin();
  for (const fs::path& part : directory) {
    if (part.empty()) continue;  // a trailing separator
    if (path_part == path.end() || *path_part != part) return false;
    ++path_part;
  }
  return true;
}

// Valid UTF-8 without NUL bytes.
bool is_text(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    if (text[pos] == '\0') return false;
    size_t length = utf8_sequence_length(text, pos);
    if (length == 0) return false;
    pos += length;
  }
  return true;
}

// Why a candidate cannot be read, or its first `limit` bytes and full size.
struct ReadOutcome {
  bool exists = false;
  std::string skip_reason;  // non-empty: skipped with this note
  std::string content;
  uintmax_t size = 0;
};

ReadOutcome read_candidate(const Candidate& candidate, size_t limit) {
  ReadOutcome outcome;
  std::error_code error;
  fs::file_status link_status = fs::symlink_status(candidate.path, error);
  if (error || link_status.type() == fs::file_type::not_found) return outcome;
  outcome.exists = true;
  fs::file_status status = fs::status(candidate.path, error);
  if (error || !fs::is_regular_file(status)) {
    outcome.skip_reason = "not a regular file";
    return outcome;
  }
  fs::path resolved = fs::canonical(candidate.path, error);
  std::error_code boundary_error;
  fs::path boundary = fs::canonical(candidate.boundary, boundary_error);
  if (error || boundary_error || !inside(resolved, boundary)) {
    outcome.skip_reason = "it resolves outside " + candidate.boundary.string();
    return outcome;
  }
  outcome.size = fs::file_size(resolved, error);
  if (error) {
    outcome.skip_reason = "cannot read its size: " + error.message();
    return outcome;
  }
  std::ifstream in(resolved, std::ios::binary);
  if (!in) {
    outcome.skip_reason = "cannot be opened";
    return outcome;
  }
  outcome.content.resize(static_cast<size_t>(std::min<uintmax_t>(outcome.size, limit)));
  in.read(outcome.content.data(), static_cast<std::streamsize>(outcome.content.size()));
  outcome.content.resize(static_cast<size_t>(in.gcount()));
  if (in.bad()) outcome.skip_reason = "read failed";
  return outcome;
}

std::string format_bytes(size_t bytes) {
  if (bytes % 1024 == 0 && bytes > 0) return std::to_string(bytes / 1024) + " KiB";
  return std::to_string(bytes) + " bytes";
}

std::string build_prompt_section(const LoadedRules& rules, const std::vector<std::string>& dropped,
                                 size_t max_total_bytes) {
  if (rules.files.empty()) return "";
  std::string section =
      "# Rules\nStanding instructions from the user and the project, in order; follow them.\n";
  for (const RulesFile& file : rules.files) {
    section += "\n## " + file.display_name + "\n" + file.content;
    if (!file.content.empty() && file.content.back() != '\n') section += '\n';
    if (file.truncated)
      section += "(cut here: the rules are limited to " + format_bytes(max_total_bytes) + ")\n";
  }
  if (!dropped.empty()) {
    section += "\n(Rules files left out by the size limit:";
    for (const std::string& name : dropped) section += " " + name;
    section += ")\n";
  }
  return section;
}

}  // namespace

Result<LoadedRules> load_rules(const fs::path& joey_home, const fs::path& workspace_root,
                               std::string_view mode_slug, size_t max_total_bytes) {
  if (!valid_slug(mode_slug)) {
    return make_error(ErrorKind::kInvalidArgument,
                      "mode slug '" + std::string(mode_slug) +
                          "' may hold only lowercase letters, digits and '-'");
  }
  LoadedRules rules;
  std::vector<std::string> dropped;
  bool budget_spent = false;
  for (const Candidate& candidate :
       rules_candidates(joey_home, workspace_root, std::string(mode_slug))) {
    const size_t remaining = budget_spent ? 0 : max_total_bytes - rules.total_bytes;
    // Read a few bytes past the bound, so that a cut can be placed on a UTF-8 boundary.
    const size_t read_limit = remaining > SIZE_MAX - 4 ? SIZE_MAX : remaining + 4;
    ReadOutcome read = read_candidate(candidate, read_limit);
    if (!read.exists) continue;
    if (!read.skip_reason.empty()) {
      rules.notes.push_back("skipped rules file " + candidate.display_name + ": " +
                            read.skip_reason);
      continue;
    }
    if (read.size == 0) continue;
    if (remaining == 0) {
      dropped.push_back(candidate.display_name);
      continue;
    }
    std::string_view content = read.content;
    if (content.starts_with("\xEF\xBB\xBF")) content.remove_prefix(3);  // byte-order mark
    const bool cut = content.size() > remaining;
    const std::string_view included = cut ? utf8_prefix(content, remaining) : content;
    if (!is_text(included)) {
      rules.notes.push_back("skipped rules file " + candidate.display_name +
                            ": binary or not valid UTF-8");
      continue;
    }
    RulesFile file;
    file.path = candidate.path;
    file.display_name = candidate.display_name;
    file.content = std::string(included);
    file.truncated = cut;
    rules.total_bytes += file.content.size();
    if (cut) {
      rules.truncated = true;
      budget_spent = true;  // nothing more fits, even when the cut fell a few bytes short
      rules.notes.push_back("rules file " + candidate.display_name + " cut to " +
                            std::to_string(file.content.size()) + " of " +
                            std::to_string(read.size) + " bytes: rules are limited to " +
                            format_bytes(max_total_bytes));
    }
    if (file.content.empty()) continue;
    rules.files.push_back(std::move(file));
  }
  if (!dropped.empty()) {
    rules.truncated = true;
    std::string names;
    for (const std::string& name : dropped) names += (names.empty() ? "" : ", ") + name;
    rules.notes.push_back("rules files dropped by the " + format_bytes(max_total_bytes) +
                          " limit: " + names);
  }
  rules.prompt_section = build_prompt_section(rules, dropped, max_total_bytes);
  return rules;
}

}  // namespace joey::agent
