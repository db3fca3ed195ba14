#include "cloud/query_params.h"

#include <cstdint>
#include <utility>

#include "cloud/router.h"

namespace joey::cloud {
namespace {

Error invalid(std::string message) {
  return make_error(ErrorKind::kInvalidArgument, std::move(message));
}

}  // namespace

std::optional<std::string> decode_query_component(std::string_view raw) {
  if (raw.find('+') == std::string_view::npos) return percent_decode(raw);
  std::string spaced(raw);
  for (char& c : spaced) {
    if (c == '+') c = ' ';
  }
  return percent_decode(spaced);
}

Result<std::vector<std::optional<std::string>>> split_query(
    std::string_view raw_query, std::span<const std::string_view> allowed) {
  std::vector<std::optional<std::string>> values(allowed.size());
  std::vector<bool> seen(allowed.size(), false);
  // Every pair holds at least one byte, so the loop ends after at most size + 1 rounds.
  size_t start = 0;
  while (start <= raw_query.size()) {
    size_t end = raw_query.find('&', start);
    if (end == std::string_view::npos) end = raw_query.size();
    const std::string_view pair = raw_query.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;

    const size_t equals = pair.find('=');
    const std::optional<std::string> name = decode_query_component(pair.substr(0, equals));
    if (!name) return invalid("the query string has a malformed name");
    size_t index = 0;
    while (index < allowed.size() && allowed[index] != *name) ++index;
    if (index == allowed.size()) {
      std::string names;
      for (const std::string_view known : allowed) {
        names += (names.empty() ? "" : ", ") + std::string(known);
      }
      return invalid("unknown query parameter (allowed: " + names + ")");
    }
    if (seen[index]) return invalid(std::string(allowed[index]) + " is given more than once");
    seen[index] = true;

    const std::string_view raw_value =
        equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
    std::optional<std::string> value = decode_query_component(raw_value);
    if (!value) return invalid(std::string(allowed[index]) + " has a malformed percent-escape");
    if (!value->empty()) values[index] = std::move(*value);
  }
  return values;
}

std::optional<int64_t> parse_decimal(std::string_view text, int64_t max) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');  // 19 digits cannot overflow before the check below
    if (value > max) return std::nullopt;
  }
  return value;
}

}  // namespace joey::cloud
