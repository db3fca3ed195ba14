// apply_diff: the SEARCH/REPLACE edit format the model uses to change a file (the same
// block syntax as Roo Code's apply_diff tool, so existing prompts carry over):
//
//   <<<<<<< SEARCH
//   :start_line:42        (optional: 1-based line of the first SEARCH line)
//   -------               (optional separator)
//   old lines
//   =======
//   new lines
//   >>>>>>> REPLACE
//
// A content line that is itself a marker is escaped with one leading backslash
// (\=======, \<<<<<<< SEARCH, \>>>>>>> REPLACE, \-------, \:start_line:); the parser
// removes it. Text outside blocks (prose, code fences) is ignored, but a stray ======= or
// >>>>>>> REPLACE line there is an error.
//
// Pure functions over strings: no file system, no global state, thread-safe. Every
// input, however malformed or large, yields a value or a kInvalidArgument error whose
// message is written for the model to read and act on; work is bounded.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace joey::agent {

struct DiffBlock {
  // The block's lines, unescaped, each one terminated by "\n" (also the last), with
  // any CR of a CRLF diff removed. So "" means no lines (an empty REPLACE deletes the
  // matched lines) and "\n" means one empty line. SEARCH is never "".
  std::string search;
  std::string replace;
  std::optional<int> start_line;  // 1-based hint, may be somewhat off
};

// Parses every block. kInvalidArgument naming the block number and what is wrong:
// missing =======, missing >>>>>>> REPLACE, empty SEARCH, bad :start_line:, a marker
// outside a block, or no block at all.
Result<std::vector<DiffBlock>> parse_diff_blocks(std::string_view diff);

// Similarity (0..1, see apply_diff.cpp) a region must reach to be taken as a fuzzy match.
inline constexpr double kFuzzyMatchThreshold = 0.9;
// How far (in lines) a :start_line: hint may be from the text it names and still
// choose between several candidates.
inline constexpr int kStartLineWindow = 40;
// Upper bound on the work (roughly character comparisons) one apply_diff call spends
// searching, all blocks together; past it the search stops and the error says so.
inline constexpr long long kFuzzyWorkBudget = 40'000'000;

struct ApplyDiffOutcome {
  std::string content;  // the new file content
  int blocks_applied = 0;
  // One line per block that did not match exactly where it said, for the model and the
  // user, e.g. "block 2 matched at line 40 ignoring indentation".
  std::vector<std::string> notes;
};

// Applies all blocks of `diff` to `original`, or none. Each block is located in the
// original (never in the output of an earlier block) by, in order: exact lines; lines
// equal after trimming surrounding whitespace (the replacement is then re-indented to the
// file's indentation); fuzzy similarity >= kFuzzyMatchThreshold. Several equally good
// places are resolved by :start_line: (nearest within kStartLineWindow) or refused as
// ambiguous. Overlapping blocks are refused.
//
// Line endings: lines the diff does not touch keep theirs byte for byte; new lines take
// the file's dominant ending (CRLF or LF), whatever the diff used; whether the file ended
// with a newline is preserved.
//
// On failure: kInvalidArgument, message for the model naming the failing block and why
// (closest region with its line numbers, text and similarity; or the ambiguous lines).
Result<ApplyDiffOutcome> apply_diff(std::string_view original, std::string_view diff);

}  // namespace joey::agent
