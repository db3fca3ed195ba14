// Strict parsing of a URL query string ("a=1&b=x+y") for joeyd's GET routes: every
// name must be one the route allows, and each at most once — a typo or a repeated
// parameter is refused rather than silently ignored.
//
// Thread-safety: plain functions over plain values.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace joey::cloud {

// One query-string component: '+' is a space, then percent escapes are decoded (so
// "%2B" is a literal '+'). Nullopt when an escape is malformed or the result holds NUL
// or invalid UTF-8.
std::optional<std::string> decode_query_component(std::string_view raw);

// Splits the raw, undecoded `raw_query` and returns one entry per name in `allowed`,
// in that order: the decoded value, or nullopt when the parameter is absent. An empty
// value ("mode=", as an empty form field sends) counts as absent but still as given
// (so "a=1&a=" is a repeat). Empty pairs ("a=1&&b=2", a trailing '&') are skipped.
// kInvalidArgument for an unknown name (the message lists the allowed ones), a
// repeated one, or a malformed escape; messages name the parameter, never its value.
Result<std::vector<std::optional<std::string>>> split_query(
    std::string_view raw_query, std::span<const std::string_view> allowed);

// Digits only (no sign, no spaces), at most `max` (0 <= max < 10^17).
std::optional<int64_t> parse_decimal(std::string_view text, int64_t max);

}  // namespace joey::cloud
