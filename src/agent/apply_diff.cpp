#include "agent/apply_diff.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <utility>

namespace joey::agent {
namespace {

constexpr std::string_view kSearchMarker = "<<<<<<< SEARCH";
constexpr std::string_view kDividerMarker = "=======";
constexpr std::string_view kReplaceMarker = ">>>>>>> REPLACE";
constexpr std::string_view kSeparatorLine = "-------";
constexpr std::string_view kStartLinePrefix = ":start_line:";
constexpr std::string_view kEndLinePrefix = ":end_line:";  // older prompts send it; unused
constexpr std::string_view kEscapablePrefixes[] = {"<<<<<<<", "=======",      ">>>>>>>",
                                                   "-------", ":start_line:", ":end_line:"};

// Two fuzzy candidates whose similarities differ by less than this are equally good.
constexpr double kFuzzyTieMargin = 0.01;
constexpr int kMaxQuotedLines = 12;
constexpr size_t kMaxQuotedLineChars = 200;
constexpr size_t kMaxListedPlaces = 8;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view trim(std::string_view s) {
  s = trim_right(s);
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}

std::string_view leading_whitespace(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && (s[n] == ' ' || s[n] == '\t')) ++n;
  return s.substr(0, n);
}

// Lines of LF-terminated block text ("a\nb\n" -> {"a", "b"}).
std::vector<std::string_view> block_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    if (newline == std::string_view::npos) newline = text.size();
    lines.push_back(text.substr(0, newline));
    text.remove_prefix(std::min(text.size(), newline + 1));
  }
  return lines;
}

// ---------------------------------------------------------------------------------------
// Parsing

Error block_error(int block_number, const std::string& what) {
  return make_error(ErrorKind::kInvalidArgument,
                    "diff block " + std::to_string(block_number) + ": " + what);
}

std::string unescape(std::string_view line) {
  if (line.size() > 1 && line[0] == '\\') {
    std::string_view rest = line.substr(1);
    for (std::string_view prefix : kEscapablePrefixes) {
      if (rest.starts_with(prefix)) return std::string(rest);
    }
  }
  return std::string(line);
}

Result<int> parse_start_line(std::string_view value, int block_number) {
  value = trim(value);
  int line = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), line);
  if (value.empty() || error != std::errc() || end != value.data() + value.size() || line < 1) {
    return block_error(block_number, "bad :start_line: \"" + std::string(value.substr(0, 40)) +
                                         "\"; it must be a line number (1 or more)");
  }
  return line;
}

enum class ParseState { kOutside, kHeader, kSearch, kReplace };

}  // namespace

Result<std::vector<DiffBlock>> parse_diff_blocks(std::string_view diff) {
  const std::string missing_divider = "missing \"=======\" between the SEARCH and REPLACE parts";
  const std::string missing_replace = "missing \">>>>>>> REPLACE\" at the end of the block";
  std::vector<DiffBlock> blocks;
  DiffBlock current;
  ParseState state = ParseState::kOutside;
  int block_number = 0;
  for (std::string_view line : block_lines(diff)) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string_view marker = trim_right(line);
    const bool is_search = marker == kSearchMarker;
    const bool is_divider = marker == kDividerMarker;
    const bool is_replace = marker == kReplaceMarker;
    switch (state) {
      case ParseState::kOutside:
        if (is_search) {
          ++block_number;
          current = DiffBlock();
          state = ParseState::kHeader;
        } else if (is_divider || is_replace) {
          return block_error(
              block_number + 1,
              "found \"" + std::string(marker) + "\" without a \"<<<<<<< SEARCH\" line before it");
        }
        break;
      case ParseState::kHeader:
        if (marker.starts_with(kStartLinePrefix)) {
          if (current.start_line) return block_error(block_number, "more than one :start_line:");
          current.start_line =
              TRY(parse_start_line(marker.substr(kStartLinePrefix.size()), block_number));
          break;
        }
        if (marker.starts_with(kEndLinePrefix)) break;
        state = ParseState::kSearch;
        if (marker == kSeparatorLine) break;
        [[fallthrough]];
      case ParseState::kSearch:
        if (is_divider) {
          if (current.search.empty()) {
            return block_error(block_number,
                               "empty SEARCH; copy the exact lines to change from the file");
          }
          state = ParseState::kReplace;
        } else if (is_search || is_replace) {
          return block_error(block_number, missing_divider);
        } else {
          current.search += unescape(line);
          current.search += '\n';
        }
        break;
      case ParseState::kReplace:
        if (is_replace) {
          blocks.push_back(std::move(current));
          state = ParseState::kOutside;
        } else if (is_search) {
          return block_error(block_number, missing_replace + " (before the next SEARCH)");
        } else if (is_divider) {
          return block_error(block_number,
                             "a second \"=======\"; escape a content line that is exactly "
                             "\"=======\" as \"\\=======\"");
        } else {
          current.replace += unescape(line);
          current.replace += '\n';
        }
        break;
    }
  }
  if (state == ParseState::kHeader || state == ParseState::kSearch) {
    return block_error(block_number, missing_divider);
  }
  if (state == ParseState::kReplace) return block_error(block_number, missing_replace);
  if (blocks.empty()) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the diff holds no SEARCH/REPLACE block; each block starts with a line "
                      "\"<<<<<<< SEARCH\", then the old lines, \"=======\", the new lines, and "
                      "ends with \">>>>>>> REPLACE\"");
  }
  return blocks;
}

namespace {

// ---------------------------------------------------------------------------------------
// The file as lines

struct FileLines {
  std::vector<std::string_view> text;    // without the line ending
  std::vector<std::string_view> ending;  // "\n", "\r\n", or "" for a last line without one
  std::string_view eol = "\n";           // the dominant ending, given to new lines
  bool ends_with_newline = false;
};

FileLines split_file(std::string_view content) {
  FileLines file;
  size_t crlf_count = 0;
  size_t lf_count = 0;
  size_t pos = 0;
  while (pos < content.size()) {
    size_t newline = content.find('\n', pos);
    if (newline == std::string_view::npos) {
      file.text.push_back(content.substr(pos));
      file.ending.push_back("");
      break;
    }
    const bool crlf = newline > pos && content[newline - 1] == '\r';
    file.text.push_back(content.substr(pos, newline - pos - (crlf ? 1 : 0)));
    file.ending.push_back(content.substr(newline - (crlf ? 1 : 0), crlf ? 2 : 1));
    ++(crlf ? crlf_count : lf_count);
    pos = newline + 1;
  }
  file.ends_with_newline = !content.empty() && content.back() == '\n';
  if (crlf_count > lf_count) file.eol = "\r\n";
  return file;
}

// ---------------------------------------------------------------------------------------
// Locating one block

enum class MatchKind { kExact, kTrimmed, kFuzzy };

struct Location {
  int start = 0;  // 0-based first file line
  int count = 0;
  MatchKind kind = MatchKind::kExact;
  double similarity = 1.0;
};

struct BlockContext {
  int number;  // 1-based
  int total;
  std::optional<int> hint;
};

// Shared by all blocks of one apply_diff call so that the whole call is bounded.
struct WorkBudget {
  long long remaining = kFuzzyWorkBudget;
  bool spend(long long cost) {
    if (cost > remaining) return false;
    remaining -= cost;
    return true;
  }
};

std::string line_range(int start, int count) {
  if (count <= 1) return "line " + std::to_string(start + 1);
  return "lines " + std::to_string(start + 1) + "-" + std::to_string(start + count);
}

std::string list_places(std::vector<int> starts) {
  std::sort(starts.begin(), starts.end());
  std::string text;
  for (size_t i = 0; i < starts.size() && i < kMaxListedPlaces; ++i) {
    if (i > 0) text += (i + 1 == starts.size()) ? " and " : ", ";
    text += std::to_string(starts[i] + 1);
  }
  if (starts.size() > kMaxListedPlaces) {
    text += " and " + std::to_string(starts.size() - kMaxListedPlaces) + " more";
  }
  return text;
}

Error locate_error(const BlockContext& block, const std::string& what) {
  return make_error(ErrorKind::kInvalidArgument,
                    "block " + std::to_string(block.number) + " of " + std::to_string(block.total) +
                        ": " + what + " No block was applied; the file is unchanged.");
}

int hint_distance(int start, std::optional<int> hint) {
  return hint ? std::abs(start + 1 - *hint) : 0;
}

// Among equally good places, the only one or the one nearest the hint; else ambiguous.
Result<int> choose_place(const std::vector<int>& starts, const BlockContext& block,
                         const std::string& how) {
  if (starts.size() == 1) return starts[0];
  std::string advice =
      " Add :start_line: with the line you mean, or include more surrounding "
      "lines so that SEARCH matches one place.";
  if (block.hint) {
    std::vector<int> by_distance = starts;
    std::stable_sort(by_distance.begin(), by_distance.end(), [&](int a, int b) {
      return hint_distance(a, block.hint) < hint_distance(b, block.hint);
    });
    const int nearest = hint_distance(by_distance[0], block.hint);
    if (nearest <= kStartLineWindow && nearest < hint_distance(by_distance[1], block.hint)) {
      return by_distance[0];
    }
    advice = " :start_line:" + std::to_string(*block.hint) + " does not single one out (it must " +
             "be within " + std::to_string(kStartLineWindow) + " lines of exactly one nearest).";
  }
  return locate_error(block, "ambiguous: SEARCH matches " + how + " at " +
                                 std::to_string(starts.size()) + " places, lines " +
                                 list_places(starts) + "." + advice);
}

// Every start where `lines` equals `pattern` line by line (a rolling hash over line hashes
// keeps this linear; each hit is verified).
Result<std::vector<int>> find_all(const std::vector<std::string_view>& lines,
                                  const std::vector<std::string_view>& pattern, WorkBudget& budget,
                                  const BlockContext& block) {
  std::vector<int> starts;
  const size_t n = lines.size();
  const size_t m = pattern.size();
  if (m == 0 || m > n) return starts;
  const std::hash<std::string_view> hasher;
  constexpr uint64_t kBase = 1'000'003;
  uint64_t pattern_hash = 0;
  uint64_t window_hash = 0;
  uint64_t top_power = 1;  // kBase^(m-1)
  for (size_t j = 0; j < m; ++j) {
    pattern_hash = pattern_hash * kBase + hasher(pattern[j]);
    window_hash = window_hash * kBase + hasher(lines[j]);
    if (j > 0) top_power *= kBase;
  }
  for (size_t i = 0;; ++i) {
    if (window_hash == pattern_hash) {
      if (!budget.spend(static_cast<long long>(m))) {
        return locate_error(block,
                            "SEARCH matches too many places to compare them all; include "
                            "more distinctive lines.");
      }
      if (std::equal(pattern.begin(), pattern.end(), lines.begin() + static_cast<long>(i))) {
        starts.push_back(static_cast<int>(i));
      }
    }
    if (i + m >= n) break;
    window_hash = (window_hash - hasher(lines[i]) * top_power) * kBase + hasher(lines[i + m]);
  }
  return starts;
}

// Levenshtein distance with the common prefix and suffix stripped first, so a typo in a long
// line costs little. Charges the cells it computes to `budget`; nullopt once it is spent.
// `row` is scratch space.
std::optional<size_t> edit_distance(std::string_view a, std::string_view b, WorkBudget& budget,
                                    std::vector<size_t>& row) {
  while (!a.empty() && !b.empty() && a.front() == b.front()) {
    a.remove_prefix(1);
    b.remove_prefix(1);
  }
  while (!a.empty() && !b.empty() && a.back() == b.back()) {
    a.remove_suffix(1);
    b.remove_suffix(1);
  }
  if (a.size() < b.size()) std::swap(a, b);
  if (b.empty()) return a.size();
  if (!budget.spend(static_cast<long long>(a.size()) * static_cast<long long>(b.size()))) {
    return std::nullopt;
  }
  row.resize(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({above + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

struct FuzzyScan {
  std::vector<std::pair<int, double>> scored;  // start, similarity (pruned starts left out)
  int best_start = -1;
  double best = -1;
  bool stopped_early = false;
};

// Character counts of a line in 64 buckets. One edit changes the counts by at most 2 in all,
// so half the summed difference of two profiles bounds their edit distance from below: cheap
// enough to rank every start before computing any real distance.
using LineProfile = std::array<uint16_t, 64>;

std::vector<LineProfile> profiles_of(const std::vector<std::string_view>& lines) {
  std::vector<LineProfile> profiles(lines.size(), LineProfile{});
  for (size_t i = 0; i < lines.size(); ++i) {
    for (char c : lines[i]) {
      uint16_t& count = profiles[i][static_cast<unsigned char>(c) & 63];
      if (count < UINT16_MAX) ++count;
    }
  }
  return profiles;
}

struct FuzzyInput {
  const std::vector<std::string_view>& file;  // trimmed lines
  const std::vector<LineProfile>& file_profiles;
  const std::vector<std::string_view>& search;  // trimmed lines
  const std::vector<LineProfile>& search_profiles;

  long long pair_lower_bound(size_t file_index, size_t search_index) const {
    const LineProfile& a = file_profiles[file_index];
    const LineProfile& b = search_profiles[search_index];
    long long difference = 0;
    for (size_t k = 0; k < a.size(); ++k) difference += std::abs(int{a[k]} - int{b[k]});
    const long long length_difference =
        std::llabs(static_cast<long long>(file[file_index].size()) -
                   static_cast<long long>(search[search_index].size()));
    return std::max((difference + 1) / 2, length_difference);
  }
};

// After this many exact scores, starts that cannot reach the threshold are no longer scored:
// the closest region named in an error is then the closest among the most promising ones.
constexpr int kClosestCandidates = 16;
constexpr long long kProfileCompareCost = 16;

struct RankedStart {
  int start = 0;
  double upper_bound = 0;
};

// Similarity of a region to SEARCH: line i of SEARCH is compared with line i of the region,
// both trimmed; 1 - (sum of edit distances) / (sum of the longer line's lengths). Indentation
// and trailing blanks do not count; a one-character typo in a long line costs almost nothing.
// Starts are scored best bound first, and only while they could still be the match or a rival.
void score_starts(const FuzzyInput& input, int first, int last, WorkBudget& budget,
                  FuzzyScan& scan) {
  const size_t m = input.search.size();
  const auto total_of = [&](int start) {
    long long total = 0;
    for (size_t j = 0; j < m; ++j) {
      total += static_cast<long long>(
          std::max(input.file[static_cast<size_t>(start) + j].size(), input.search[j].size()));
    }
    return total;
  };
  const auto similarity = [](long long distance, long long total) {
    return total == 0 ? 1.0 : 1.0 - static_cast<double>(distance) / static_cast<double>(total);
  };
  std::vector<RankedStart> ranked;
  for (int start = first; start <= last; ++start) {
    if (!budget.spend(static_cast<long long>(m) * kProfileCompareCost)) {
      scan.stopped_early = true;
      return;
    }
    long long lower_bound = 0;
    for (size_t j = 0; j < m; ++j)
      lower_bound += input.pair_lower_bound(static_cast<size_t>(start) + j, j);
    ranked.push_back(RankedStart{start, similarity(lower_bound, total_of(start))});
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const RankedStart& a, const RankedStart& b) {
    return a.upper_bound > b.upper_bound;
  });
  std::vector<size_t> row;
  int scored = 0;
  for (const RankedStart& candidate : ranked) {
    // A start that cannot come within the tie margin of the best is neither the match nor a
    // rival, so its exact score is not needed.
    const double needed = scan.best - kFuzzyTieMargin;
    if (candidate.upper_bound < needed) break;
    if (candidate.upper_bound < kFuzzyMatchThreshold - kFuzzyTieMargin &&
        scored >= kClosestCandidates) {
      break;
    }
    ++scored;
    const size_t start = static_cast<size_t>(candidate.start);
    const long long total = total_of(candidate.start);
    long long remaining_bound = 0;
    for (size_t j = 0; j < m; ++j) remaining_bound += input.pair_lower_bound(start + j, j);
    long long distance = 0;
    bool hopeless = false;
    for (size_t j = 0; j < m && !hopeless; ++j) {
      remaining_bound -= input.pair_lower_bound(start + j, j);
      const std::string_view a = input.file[start + j];
      const std::string_view b = input.search[j];
      if (a == b) continue;
      const std::optional<size_t> pair_distance = edit_distance(a, b, budget, row);
      if (!pair_distance) {
        scan.stopped_early = true;
        return;
      }
      distance += static_cast<long long>(*pair_distance);
      hopeless = similarity(distance + remaining_bound, total) < needed;
    }
    if (hopeless) continue;
    const double value = similarity(distance, total);
    scan.scored.emplace_back(candidate.start, value);
    if (value > scan.best || (value == scan.best && candidate.start < scan.best_start)) {
      scan.best = value;
      scan.best_start = candidate.start;
    }
  }
}

// The starts scoring within the tie margin of the best one (at least the best itself).
std::vector<int> near_best(const FuzzyScan& scan) {
  std::vector<int> starts;
  for (const auto& [start, similarity] : scan.scored) {
    if (similarity >= scan.best - kFuzzyTieMargin) starts.push_back(start);
  }
  return starts;
}

std::string quote_region(const FileLines& file, int start, int count) {
  std::string text;
  const int shown = std::min(count, kMaxQuotedLines);
  for (int i = start; i < start + shown; ++i) {
    std::string_view line = file.text[static_cast<size_t>(i)];
    text += std::to_string(i + 1) + " | ";
    text += line.substr(0, kMaxQuotedLineChars);
    if (line.size() > kMaxQuotedLineChars) text += " ...";
    text += '\n';
  }
  if (count > shown) text += "... (" + std::to_string(count - shown) + " more lines)\n";
  return text;
}

int percent(double similarity) { return static_cast<int>(similarity * 100.0); }

Error not_found_error(const FileLines& file, size_t search_size, const FuzzyScan& scan,
                      const BlockContext& block) {
  std::string what = "SEARCH (" + std::to_string(search_size) + " lines) was not found in the file";
  if (file.text.size() < search_size) {
    what += ", which has only " + std::to_string(file.text.size()) + " lines.";
  } else if (scan.best_start >= 0) {
    what += ". The closest region is " +
            line_range(scan.best_start, static_cast<int>(search_size)) + ", " +
            std::to_string(percent(scan.best)) + "% similar (a fuzzy match needs " +
            std::to_string(percent(kFuzzyMatchThreshold)) + "%):\n" +
            quote_region(file, scan.best_start, static_cast<int>(search_size));
  } else {
    what += ".";
  }
  if (scan.stopped_early) {
    what += "\nThe fuzzy search stopped early: the file (" + std::to_string(file.text.size()) +
            " lines) is too large to compare with this SEARCH everywhere. Give :start_line: "
            "or copy the lines exactly.";
  }
  what += "\nRead the file again and copy the current lines into SEARCH exactly.";
  return locate_error(block, what);
}

Result<Location> locate_fuzzy(const FileLines& file,
                              const std::vector<std::string_view>& file_trimmed,
                              const std::vector<std::string_view>& search_trimmed,
                              const BlockContext& block, WorkBudget& budget) {
  const int m = static_cast<int>(search_trimmed.size());
  const int last_start = static_cast<int>(file.text.size()) - m;
  FuzzyScan scan;
  const std::vector<LineProfile> file_profiles =
      last_start >= 0 ? profiles_of(file_trimmed) : std::vector<LineProfile>();
  const std::vector<LineProfile> search_profiles = profiles_of(search_trimmed);
  const FuzzyInput input{file_trimmed, file_profiles, search_trimmed, search_profiles};
  if (last_start >= 0 && block.hint) {
    const int center = std::min(*block.hint, last_start + 1) - 1;  // no overflow near INT_MAX
    const int first = std::clamp(center - kStartLineWindow, 0, last_start);
    const int last = std::clamp(center + kStartLineWindow, 0, last_start);
    score_starts(input, first, last, budget, scan);
    if (scan.best >= kFuzzyMatchThreshold) {
      std::vector<int> starts;
      for (const auto& [start, similarity] : scan.scored) {
        if (similarity >= kFuzzyMatchThreshold && similarity >= scan.best - kFuzzyTieMargin) {
          starts.push_back(start);
        }
      }
      std::stable_sort(starts.begin(), starts.end(), [&](int a, int b) {
        return hint_distance(a, block.hint) < hint_distance(b, block.hint);
      });
      if (starts.size() == 1 ||
          hint_distance(starts[0], block.hint) < hint_distance(starts[1], block.hint)) {
        const double similarity =
            std::find_if(scan.scored.begin(), scan.scored.end(), [&](auto& s) {
              return s.first == starts[0];
            })->second;
        return Location{starts[0], m, MatchKind::kFuzzy, similarity};
      }
    }
    if (!scan.stopped_early) {
      score_starts(input, 0, first - 1, budget, scan);
      score_starts(input, last + 1, last_start, budget, scan);
    }
  } else if (last_start >= 0) {
    score_starts(input, 0, last_start, budget, scan);
  }
  if (scan.best < kFuzzyMatchThreshold || scan.stopped_early) {
    return not_found_error(file, search_trimmed.size(), scan, block);
  }
  std::vector<int> starts = near_best(scan);
  if (starts.size() > 1) {
    return locate_error(block, "SEARCH is not in the file exactly, and it is about " +
                                   std::to_string(percent(scan.best)) +
                                   "% similar to several places, lines " + list_places(starts) +
                                   ". Copy the exact lines of the one you mean, with enough "
                                   "surrounding lines to make it unique.");
  }
  return Location{scan.best_start, m, MatchKind::kFuzzy, scan.best};
}

std::vector<std::string_view> trimmed(const std::vector<std::string_view>& lines) {
  std::vector<std::string_view> result;
  result.reserve(lines.size());
  for (std::string_view line : lines) result.push_back(trim(line));
  return result;
}

Result<Location> locate(const FileLines& file, const std::vector<std::string_view>& file_trimmed,
                        const std::vector<std::string_view>& search, const BlockContext& block,
                        WorkBudget& budget) {
  const int m = static_cast<int>(search.size());
  std::vector<int> exact = TRY(find_all(file.text, search, budget, block));
  if (!exact.empty()) {
    return Location{TRY(choose_place(exact, block, "exactly")), m, MatchKind::kExact, 1.0};
  }
  const std::vector<std::string_view> search_trimmed = trimmed(search);
  std::vector<int> loose = TRY(find_all(file_trimmed, search_trimmed, budget, block));
  if (!loose.empty()) {
    return Location{TRY(choose_place(loose, block, "when ignoring indentation")), m,
                    MatchKind::kTrimmed, 1.0};
  }
  return locate_fuzzy(file, file_trimmed, search_trimmed, block, budget);
}

// ---------------------------------------------------------------------------------------
// Building the replacement

// Maps the replacement's indentation from the SEARCH text's to the file's. The reference is
// the first line whose text (trimmed) is the same in SEARCH and the file, so that a typo in
// the first line cannot skew it; failing that, the first line where both have text.
std::vector<std::string> reindent(const std::vector<std::string_view>& replace,
                                  const std::vector<std::string_view>& search,
                                  const FileLines& file, const Location& location) {
  std::vector<std::string> result(replace.begin(), replace.end());
  if (location.kind == MatchKind::kExact) return result;
  std::string_view search_indent;
  std::string_view file_indent;
  bool found = false;
  for (bool same_text_only : {true, false}) {
    for (size_t j = 0; j < search.size() && !found; ++j) {
      const std::string_view file_line = file.text[static_cast<size_t>(location.start) + j];
      const std::string_view text = trim(search[j]);
      if (text.empty() || (same_text_only ? text != trim(file_line) : trim(file_line).empty())) {
        continue;
      }
      search_indent = leading_whitespace(search[j]);
      file_indent = leading_whitespace(file_line);
      found = true;
    }
  }
  if (!found || search_indent == file_indent) return result;
  for (std::string& line : result) {
    if (trim(line).empty()) continue;
    const std::string_view indent = leading_whitespace(line);
    std::string new_indent;
    if (indent.starts_with(search_indent)) {
      new_indent = std::string(file_indent) + std::string(indent.substr(search_indent.size()));
    } else if (search_indent.starts_with(indent)) {
      const size_t dedent = search_indent.size() - indent.size();
      if (file_indent.size() < dedent) continue;
      new_indent = file_indent.substr(0, file_indent.size() - dedent);
    } else {
      continue;
    }
    line = new_indent + line.substr(indent.size());
  }
  return result;
}

std::string describe(const Location& location, const BlockContext& block) {
  std::string note = "block " + std::to_string(block.number) + " matched at " +
                     line_range(location.start, location.count);
  if (location.kind == MatchKind::kTrimmed) note += " ignoring indentation and trailing spaces";
  if (location.kind == MatchKind::kFuzzy) {
    note += " by similarity (" + std::to_string(percent(location.similarity)) +
            "%, SEARCH was not exact)";
  }
  if (block.hint && *block.hint != location.start + 1) {
    note += " (:start_line: said " + std::to_string(*block.hint) + ")";
  }
  return note;
}

struct PlannedEdit {
  Location location;
  int block_number = 0;
  std::vector<std::string> replacement;
};

}  // namespace

Result<ApplyDiffOutcome> apply_diff(std::string_view original, std::string_view diff) {
  const std::vector<DiffBlock> blocks = TRY(parse_diff_blocks(diff));
  const FileLines file = split_file(original);
  const std::vector<std::string_view> file_trimmed = trimmed(file.text);
  WorkBudget budget;
  ApplyDiffOutcome outcome;
  std::vector<PlannedEdit> edits;
  for (size_t i = 0; i < blocks.size(); ++i) {
    const BlockContext context{static_cast<int>(i) + 1, static_cast<int>(blocks.size()),
                               blocks[i].start_line};
    const std::vector<std::string_view> search = block_lines(blocks[i].search);
    const Location location = TRY(locate(file, file_trimmed, search, context, budget));
    if (location.kind != MatchKind::kExact ||
        (context.hint && *context.hint != location.start + 1)) {
      outcome.notes.push_back(describe(location, context));
    }
    edits.push_back(PlannedEdit{location, context.number,
                                reindent(block_lines(blocks[i].replace), search, file, location)});
  }
  std::stable_sort(edits.begin(), edits.end(), [](const PlannedEdit& a, const PlannedEdit& b) {
    return a.location.start < b.location.start;
  });
  for (size_t i = 1; i < edits.size(); ++i) {
    const Location& previous = edits[i - 1].location;
    if (previous.start + previous.count > edits[i].location.start) {
      const int first = std::min(edits[i - 1].block_number, edits[i].block_number);
      const int second = std::max(edits[i - 1].block_number, edits[i].block_number);
      return make_error(ErrorKind::kInvalidArgument,
                        "blocks " + std::to_string(first) + " and " + std::to_string(second) +
                            " overlap (" + line_range(previous.start, previous.count) + " and " +
                            line_range(edits[i].location.start, edits[i].location.count) +
                            "); merge them into one block. No block was applied; the file is "
                            "unchanged.");
    }
  }

  std::vector<std::pair<std::string_view, std::string_view>> lines;  // text, ending
  size_t next = 0;
  const auto keep_until = [&](size_t end) {
    for (; next < end; ++next) {
      lines.emplace_back(file.text[next], file.ending[next].empty() ? file.eol : file.ending[next]);
    }
  };
  for (const PlannedEdit& edit : edits) {
    keep_until(static_cast<size_t>(edit.location.start));
    for (const std::string& line : edit.replacement) lines.emplace_back(line, file.eol);
    next = static_cast<size_t>(edit.location.start + edit.location.count);
  }
  keep_until(file.text.size());
  if (!file.ends_with_newline && !lines.empty()) lines.back().second = "";
  for (const auto& [text, ending] : lines) {
    outcome.content += text;
    outcome.content += ending;
  }
  outcome.blocks_applied = static_cast<int>(edits.size());
  return outcome;
}

}  // namespace joey::agent
