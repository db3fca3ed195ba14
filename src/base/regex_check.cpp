#include "base/regex_check.h"

#include <cstddef>
#include <exception>
#include <string_view>

namespace joey {
namespace {

// The decimal number starting at pattern[pos], if any, is at most kMaxRegexNumber. Sets `end`
// to the first position after its digits.
bool number_in_bounds(std::string_view pattern, size_t pos, size_t& end) {
  long value = 0;
  end = pos;
  while (end < pattern.size() && pattern[end] >= '0' && pattern[end] <= '9') {
    value = value * 10 + (pattern[end] - '0');
    if (value > kMaxRegexNumber) return false;
    ++end;
  }
  return true;
}

Error too_large() {
  return make_error(ErrorKind::kInvalidArgument, "a repetition count or back-reference above " +
                                                     std::to_string(kMaxRegexNumber));
}

Status check_numbers(std::string_view pattern) {
  for (size_t i = 0; i < pattern.size(); ++i) {
    size_t end = i;
    if (pattern[i] == '\\') {
      if (!number_in_bounds(pattern, i + 1, end)) return too_large();
      i = end > i + 1 ? end - 1 : i + 1;  // the escaped character is never a brace
    } else if (pattern[i] == '{') {
      if (!number_in_bounds(pattern, i + 1, end)) return too_large();
      if (end < pattern.size() && pattern[end] == ',' && !number_in_bounds(pattern, end + 1, end)) {
        return too_large();
      }
      i = end - 1;
    }
  }
  return ok_status();
}

}  // namespace

Result<std::regex> compile_regex(const std::string& pattern) {
  TRY(check_numbers(pattern));
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::exception& error) {
    return make_error(ErrorKind::kInvalidArgument, error.what());
  }
}

}  // namespace joey
