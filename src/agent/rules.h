// Rules: the project's and the user's standing instructions (AGENTS.md, .joey/rules/,
// Roo Code's .roo/rules/ and .roorules), appended to the system prompt.
//
// Order (stable; docs/modes.md documents it). Files within a directory go by file name
// (byte order); only `*.md` files are read from directories:
//   1. $JOEY_HOME/rules/*.md                           global
//   2. <workspace>/AGENTS.md
//   3. <workspace>/.roorules
//   4. <workspace>/.joey/rules/*.md
//   5. <workspace>/.roo/rules/*.md
//   6. <workspace>/.joey/rules-<mode>/*.md             for the current mode only
//   7. <workspace>/.roo/rules-<mode>/*.md
//   8. <workspace>/.roorules-<mode>
//
// Privacy: a rules file is sent to the model, so a file (or symlink) that resolves outside
// the directory it is found in ($JOEY_HOME or the workspace) is skipped with a note, as are
// files that are not regular files, contain NUL bytes or are not valid UTF-8. Empty files
// are skipped silently.
//
// Bound: the included content totals at most `max_total_bytes`. The file that crosses the
// bound is cut (at a UTF-8 boundary) and the files after it are dropped; the notes name
// them and the prompt section says the rules were cut.
//
// Thread-safety: load_rules only reads files; it is safe to call concurrently.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace joey::agent {

inline constexpr size_t kDefaultMaxRulesBytes = 64 * 1024;

struct RulesFile {
  std::filesystem::path path;  // absolute
  std::string display_name;    // "AGENTS.md", ".joey/rules/style.md", "$JOEY_HOME/rules/a.md"
  std::string content;         // as included (cut when this file crossed the bound)
  bool truncated = false;
};

struct LoadedRules {
  std::vector<RulesFile> files;    // included files, in the order above
  size_t total_bytes = 0;          // sum of the included contents
  bool truncated = false;          // some content was cut or dropped by the bound
  std::vector<std::string> notes;  // one line per skipped, cut or dropped file, for the user
  std::string prompt_section;      // "# Rules" with one "## NAME" heading per file; empty
                                   // when there are no rules
};

// Reads the rules for `mode_slug`. kInvalidArgument when `mode_slug` is not [a-z0-9-]+;
// unreadable files become notes, not errors (rules must never stop a task from starting).
Result<LoadedRules> load_rules(const std::filesystem::path& joey_home,
                               const std::filesystem::path& workspace_root,
                               std::string_view mode_slug,
                               size_t max_total_bytes = kDefaultMaxRulesBytes);

}  // namespace joey::agent
