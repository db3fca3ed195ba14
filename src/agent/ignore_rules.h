// Ignore files and protected files.
//
// `.joeyignore` and `.rooignore` at the workspace root name files joey must neither
// show to the model nor read or change. Both use gitignore syntax, matched the way
// git matches it (the table in tests/agent/ignore_rules_test.cpp is checked against
// `git check-ignore`):
//   - blank lines and lines starting with `#` are skipped; `\#` and `\!` start a
//     pattern with a literal `#` or `!`; trailing spaces are dropped unless escaped
//     (`\ `); a trailing CR and a leading UTF-8 BOM are dropped;
//   - `!` negates: the last pattern that matches a path decides;
//   - a trailing `/` matches directories only (and so everything under them);
//   - a pattern with no other `/` matches the last component at any depth; a leading
//     or middle `/` anchors it to the root;
//   - `*` and `?` never match `/`; `[...]` classes (`!`/`^` negation, ranges,
//     `[:alpha:]`-style names); `**/` leading, `/**` trailing and `/**/` in the middle
//     match any number of directories;
//   - a path is ignored when it or any directory above it is ignored; as in git, a
//     negation cannot bring back a file whose parent directory is ignored.
// The two files are independent: a path is ignored when either file ignores it, so a
// `!` line in one cannot undo a line of the other.
//
// Protected files are joey's own configuration: a write to one always asks a person.
//
// Thread-safety: IgnoreRules is immutable after construction; const calls are safe
// from any thread.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace joey::agent {

// The ignore files read at the workspace root, in this order.
inline constexpr std::string_view kIgnoreFileNames[] = {".joeyignore", ".rooignore"};

// Longer pattern lines are refused: the matcher recurses once per `*`.
inline constexpr size_t kMaxIgnorePatternBytes = 1024;
inline constexpr size_t kMaxIgnoreFileBytes = 1024 * 1024;

class IgnoreRules {
 public:
  IgnoreRules() = default;

  // Reads every file of kIgnoreFileNames present directly under `root`; absent files
  // are fine (no rules). kIo when one exists but cannot be read; kInvalidArgument,
  // naming the file and line, for a file over kMaxIgnoreFileBytes or a pattern line
  // over kMaxIgnorePatternBytes.
  static Result<IgnoreRules> load(const std::filesystem::path& root);

  // The rules of one file's text. `source` names the file in ignored_by(). Lines
  // over kMaxIgnorePatternBytes are skipped and counted in skipped_lines().
  static IgnoreRules parse(std::string_view text, std::string source = ".joeyignore");

  // `relative_path` is relative to the workspace root, `/`-separated ("src/a.cpp");
  // empty, "." and "./" parts are skipped, a trailing `/` means a directory, and a
  // path that `..` takes above the root is never ignored (it is not in the workspace).
  // `is_directory` says whether the path itself is a directory.
  bool ignored(std::string_view relative_path, bool is_directory) const;

  // The name of the first ignore file whose rules ignore the path, or "" when none does.
  std::string_view ignored_by(std::string_view relative_path, bool is_directory) const;

  // True when no file contributed a pattern.
  bool empty() const;

  // The ignore files that load() read (absolute paths), e.g. for `rg --ignore-file`.
  const std::vector<std::filesystem::path>& files() const { return files_; }

  size_t skipped_lines() const { return skipped_lines_; }

 private:
  struct Pattern {
    std::string glob;       // without `!`, the trailing `/` and a leading `/`
    bool negated = false;   // `!pattern`
    bool dir_only = false;  // `pattern/`
    bool anchored = false;  // contains `/`: matched against the whole relative path
  };
  struct RuleSet {
    std::string source;
    std::vector<Pattern> patterns;
  };

  // Last match wins within one set; nullptr when no pattern matches.
  static const Pattern* last_match(const RuleSet& set, std::string_view path,
                                   std::string_view basename, bool is_directory);
  static bool set_ignores(const RuleSet& set, const std::vector<std::string_view>& parts,
                          bool is_directory);

  std::vector<RuleSet> sets_;
  std::vector<std::filesystem::path> files_;
  size_t skipped_lines_ = 0;
};

// git's wildmatch: true when `pattern` matches all of `text`. With `pathname`, `*`,
// `?` and classes do not match `/`, and `**` between slashes spans directories.
bool wildmatch(std::string_view pattern, std::string_view text, bool pathname);

// True for joey's own configuration files, relative to the workspace root (case-
// sensitive): .joeyignore, .rooignore, .roomodes, AGENTS.md and `.joey` with
// everything under it. "./" parts and repeated slashes are skipped.
bool is_protected_path(std::string_view relative_path);

}  // namespace joey::agent
