// Compiling a regular expression that came from a file, the marketplace or a model.
#pragma once

#include <regex>
#include <string>

#include "base/result.h"

namespace joey {

// The largest repetition count (`{n}`, `{n,m}`) and back-reference number a pattern may use.
inline constexpr long kMaxRegexNumber = 1000;

// `pattern` compiled as ECMAScript, or an error saying why it cannot be. libstdc++ reads the
// numbers in `{n,m}` and `\n` into a long without checking for overflow, and builds one state
// per repetition, so the numbers are checked before the pattern reaches it.
Result<std::regex> compile_regex(const std::string& pattern);

}  // namespace joey
