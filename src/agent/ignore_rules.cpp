// The matcher is written here rather than taken from a package: no library packaged
// for Debian matches gitignore syntax from C++ (fnmatch(3) lacks `**`, git's own
// wildmatch is not a library, and libgit2 wants a repository). wildmatch() below
// follows git's wildmatch.c step for step, including its early exits, which keep
// matching polynomial, so that joey ignores exactly what git would.
#include "agent/ignore_rules.h"

#include <system_error>
#include <utility>

#include "base/atomic_file.h"

namespace joey::agent {

namespace fs = std::filesystem;

namespace {

enum class Match { kMatch, kNoMatch, kAbortAll, kAbortToStarStar };

// The byte at `index`, or 0 past the end (git's strings end in NUL).
unsigned char at(std::string_view text, size_t index) {
  return index < text.size() ? static_cast<unsigned char>(text[index]) : 0;
}

bool is_glob_special(unsigned char c) { return c == '*' || c == '?' || c == '[' || c == '\\'; }

// POSIX class names as git's sane ctype defines them (ASCII only).
// Returns false for an unknown name through `known`.
bool in_class(std::string_view name, unsigned char c, bool& known) {
  known = true;
  bool upper = c >= 'A' && c <= 'Z';
  bool lower = c >= 'a' && c <= 'z';
  bool digit = c >= '0' && c <= '9';
  bool print = c >= 0x20 && c < 0x7f;
  bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
  if (name == "alnum") return upper || lower || digit;
  if (name == "alpha") return upper || lower;
  if (name == "blank") return c == ' ' || c == '\t';
  if (name == "cntrl") return c < 0x20 || c == 0x7f;
  if (name == "digit") return digit;
  if (name == "graph") return print && c != ' ';
  if (name == "lower") return lower;
  if (name == "print") return print;
  if (name == "punct") return print && c != ' ' && !upper && !lower && !digit;
  if (name == "space") return space;
  if (name == "upper") return upper;
  if (name == "xdigit") return digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  known = false;
  return false;
}

// One `[...]` class starting at pattern[p] == '['. On return `p` is at the closing ']'.
Match match_class(std::string_view pattern, size_t& p, unsigned char t_ch, bool pathname) {
  unsigned char p_ch = at(pattern, ++p);
  if (p_ch == '^') p_ch = '!';
  const bool negated = p_ch == '!';
  if (negated) p_ch = at(pattern, ++p);
  unsigned char prev_ch = 0;
  bool matched = false;
  do {
    if (p_ch == 0) return Match::kAbortAll;
    if (p_ch == '\\') {
      p_ch = at(pattern, ++p);
      if (p_ch == 0) return Match::kAbortAll;
      if (t_ch == p_ch) matched = true;
    } else if (p_ch == '-' && prev_ch != 0 && at(pattern, p + 1) != 0 &&
               at(pattern, p + 1) != ']') {
      p_ch = at(pattern, ++p);
      if (p_ch == '\\') {
        p_ch = at(pattern, ++p);
        if (p_ch == 0) return Match::kAbortAll;
      }
      if (t_ch <= p_ch && t_ch >= prev_ch) matched = true;
      p_ch = 0;  // a range cannot start another range
    } else if (p_ch == '[' && at(pattern, p + 1) == ':') {
      const size_t name_start = p + 2;
      p = name_start;
      while ((p_ch = at(pattern, p)) != 0 && p_ch != ']') ++p;
      if (p_ch == 0) return Match::kAbortAll;
      if (p == name_start || pattern[p - 1] != ':') {
        // No ":]": the '[' is an ordinary member of the set.
        p = name_start - 2;
        p_ch = '[';
        if (t_ch == p_ch) matched = true;
        continue;
      }
      bool known = false;
      if (in_class(pattern.substr(name_start, p - name_start - 1), t_ch, known)) matched = true;
      if (!known) return Match::kAbortAll;
      p_ch = 0;
    } else if (t_ch == p_ch) {
      matched = true;
    }
  } while (prev_ch = p_ch, (p_ch = at(pattern, ++p)) != ']');
  if (matched == negated || (pathname && t_ch == '/')) return Match::kNoMatch;
  return Match::kMatch;
}

Match do_wild(std::string_view pattern, size_t p, std::string_view text, size_t t, bool pathname) {
  for (; p < pattern.size(); ++p, ++t) {
    unsigned char p_ch = at(pattern, p);
    unsigned char t_ch = at(text, t);
    if (t >= text.size() && p_ch != '*') return Match::kAbortAll;
    switch (p_ch) {
      case '\\':
        p_ch = at(pattern, ++p);
        if (t_ch != p_ch) return Match::kNoMatch;
        continue;
      case '?':
        if (pathname && t_ch == '/') return Match::kNoMatch;
        continue;
      case '[': {
        Match matched = match_class(pattern, p, t_ch, pathname);
        if (matched != Match::kMatch) return matched;
        continue;
      }
      case '*': {
        const size_t first_star = p;
        bool match_slash = !pathname;
        if (at(pattern, ++p) == '*') {
          while (at(pattern, ++p) == '*') {
          }
          const bool starts_component = first_star == 0 || pattern[first_star - 1] == '/';
          const unsigned char next = at(pattern, p);
          if (starts_component &&
              (next == 0 || next == '/' || (next == '\\' && at(pattern, p + 1) == '/'))) {
            // "**/" may match no directory at all: "a/**/b" matches "a/b".
            if (next == '/' && do_wild(pattern, p + 1, text, t, pathname) == Match::kMatch) {
              return Match::kMatch;
            }
            match_slash = true;
          } else {
            match_slash = false;  // "**" inside a component is "*"
          }
        }
        if (p >= pattern.size()) {
          // A trailing "**" matches everything; a trailing "*" only within a component.
          if (!match_slash && text.find('/', t) != std::string_view::npos) return Match::kNoMatch;
          return Match::kMatch;
        }
        if (!match_slash && at(pattern, p) == '/') {
          // "*/" matches the rest of this component.
          size_t slash = text.find('/', t);
          if (slash == std::string_view::npos) return Match::kNoMatch;
          t = slash;
          break;  // the loop consumes the '/' of both
        }
        while (true) {
          if (t >= text.size()) break;
          // Skip ahead to the literal that follows the star (not past a '/' that the
          // star cannot match).
          if (!is_glob_special(at(pattern, p))) {
            p_ch = at(pattern, p);
            while (true) {
              t_ch = at(text, t);
              if (t >= text.size() || (!match_slash && t_ch == '/') || t_ch == p_ch) break;
              ++t;
            }
            if (t >= text.size() || t_ch != p_ch) return Match::kNoMatch;
          }
          Match matched = do_wild(pattern, p, text, t, pathname);
          if (matched != Match::kNoMatch) {
            if (!match_slash || matched != Match::kAbortToStarStar) return matched;
          } else if (!match_slash && t_ch == '/') {
            return Match::kAbortToStarStar;
          }
          t_ch = at(text, ++t);
        }
        return Match::kAbortAll;
      }
      default:
        if (t_ch != p_ch) return Match::kNoMatch;
        continue;
    }
  }
  return t < text.size() ? Match::kNoMatch : Match::kMatch;
}

// git's trim_trailing_spaces: unescaped trailing spaces go.
std::string_view trim_trailing_spaces(std::string_view line) {
  size_t last_space = std::string_view::npos;
  for (size_t index = 0; index < line.size(); ++index) {
    if (line[index] == ' ') {
      if (last_space == std::string_view::npos) last_space = index;
      continue;
    }
    if (line[index] == '\\') {
      ++index;
      if (index >= line.size()) return line;
    }
    last_space = std::string_view::npos;
  }
  return last_space == std::string_view::npos ? line : line.substr(0, last_space);
}

// Splits a relative path into its components; false when `..` leaves the root.
bool split_relative(std::string_view path, std::vector<std::string_view>& parts) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view part = path.substr(start, slash - start);
    if (part == "..") {
      if (parts.empty()) return false;
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = slash + 1;
  }
  return true;
}

// "a/b/c" for parts[0..count), pointing into `joined` storage.
std::string join(const std::vector<std::string_view>& parts, size_t count) {
  std::string joined;
  for (size_t index = 0; index < count; ++index) {
    if (index > 0) joined += '/';
    joined.append(parts[index]);
  }
  return joined;
}

}  // namespace

bool wildmatch(std::string_view pattern, std::string_view text, bool pathname) {
  // As in C, a NUL ends the pattern.
  pattern = pattern.substr(0, pattern.find('\0'));
  return do_wild(pattern, 0, text, 0, pathname) == Match::kMatch;
}

IgnoreRules IgnoreRules::parse(std::string_view text, std::string source) {
  IgnoreRules rules;
  RuleSet set;
  set.source = std::move(source);
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  size_t start = 0;
  while (start < text.size()) {
    size_t newline = text.find('\n', start);
    if (newline == std::string_view::npos) newline = text.size();
    std::string_view line = text.substr(start, newline - start);
    start = newline + 1;
    line = line.substr(0, line.find('\0'));
    if (line.empty() || line.front() == '#') continue;
    if (line.back() == '\r') line.remove_suffix(1);
    line = trim_trailing_spaces(line);
    if (line.size() > kMaxIgnorePatternBytes) {
      ++rules.skipped_lines_;
      continue;
    }
    Pattern pattern;
    if (!line.empty() && line.front() == '!') {
      pattern.negated = true;
      line.remove_prefix(1);
    }
    if (!line.empty() && line.back() == '/') {
      pattern.dir_only = true;
      line.remove_suffix(1);
    }
    pattern.anchored = line.find('/') != std::string_view::npos;
    if (pattern.anchored && line.front() == '/') line.remove_prefix(1);
    if (line.empty()) continue;  // matches nothing, as in git
    pattern.glob = std::string(line);
    set.patterns.push_back(std::move(pattern));
  }
  if (!set.patterns.empty()) rules.sets_.push_back(std::move(set));
  return rules;
}

Result<IgnoreRules> IgnoreRules::load(const fs::path& root) {
  IgnoreRules rules;
  for (std::string_view name : kIgnoreFileNames) {
    fs::path file = root / name;
    std::error_code error;
    if (!fs::exists(fs::symlink_status(file, error))) continue;
    if (fs::is_directory(file, error)) {
      return make_error(ErrorKind::kInvalidArgument,
                        std::string(name) + " is a directory; it must be a file of patterns");
    }
    auto size = fs::file_size(file, error);
    if (!error && size > kMaxIgnoreFileBytes) {
      return make_error(ErrorKind::kInvalidArgument,
                        std::string(name) + " is larger than " +
                            std::to_string(kMaxIgnoreFileBytes / 1024) + " KiB; shorten it");
    }
    auto text = read_file_to_string(file);
    if (!text.ok()) {
      // A dangling symlink reads as missing: no rules to honour.
      if (text.error().kind == ErrorKind::kNotFound) continue;
      return text.error().with_context("reading " + std::string(name));
    }
    if (text->size() > kMaxIgnoreFileBytes) {
      return make_error(ErrorKind::kInvalidArgument,
                        std::string(name) + " is larger than " +
                            std::to_string(kMaxIgnoreFileBytes / 1024) + " KiB; shorten it");
    }
    IgnoreRules parsed = parse(*text, std::string(name));
    if (parsed.skipped_lines_ > 0) {
      return make_error(ErrorKind::kInvalidArgument,
                        std::string(name) + " has a pattern longer than " +
                            std::to_string(kMaxIgnorePatternBytes) + " bytes; shorten it");
    }
    for (RuleSet& set : parsed.sets_) rules.sets_.push_back(std::move(set));
    rules.files_.push_back(file);
  }
  return rules;
}

const IgnoreRules::Pattern* IgnoreRules::last_match(const RuleSet& set, std::string_view path,
                                                    std::string_view basename, bool is_directory) {
  for (auto pattern = set.patterns.rbegin(); pattern != set.patterns.rend(); ++pattern) {
    if (pattern->dir_only && !is_directory) continue;
    bool matched = pattern->anchored ? wildmatch(pattern->glob, path, /*pathname=*/true)
                                     : wildmatch(pattern->glob, basename, /*pathname=*/false);
    if (matched) return &*pattern;
  }
  return nullptr;
}

bool IgnoreRules::set_ignores(const RuleSet& set, const std::vector<std::string_view>& parts,
                              bool is_directory) {
  // Each directory on the way down first: git does not look inside an ignored one.
  for (size_t count = 1; count <= parts.size(); ++count) {
    bool last = count == parts.size();
    std::string path = join(parts, count);
    const Pattern* match = last_match(set, path, parts[count - 1], !last || is_directory);
    if (match != nullptr && !match->negated) return true;
  }
  return false;
}

std::string_view IgnoreRules::ignored_by(std::string_view relative_path, bool is_directory) const {
  if (sets_.empty()) return {};
  if (!relative_path.empty() && relative_path.back() == '/') is_directory = true;
  std::vector<std::string_view> parts;
  if (!split_relative(relative_path, parts) || parts.empty()) return {};
  for (const RuleSet& set : sets_) {
    if (set_ignores(set, parts, is_directory)) return set.source;
  }
  return {};
}

bool IgnoreRules::ignored(std::string_view relative_path, bool is_directory) const {
  return !ignored_by(relative_path, is_directory).empty();
}

bool IgnoreRules::empty() const { return sets_.empty(); }

bool is_protected_path(std::string_view relative_path) {
  std::vector<std::string_view> parts;
  if (!split_relative(relative_path, parts) || parts.empty()) return false;
  if (parts.front() == ".joey") return true;
  if (parts.size() != 1) return false;
  std::string_view name = parts.front();
  return name == ".joeyignore" || name == ".rooignore" || name == ".roomodes" ||
         name == "AGENTS.md";
}

}  // namespace joey::agent
