// Fuzzes the SEARCH/REPLACE parser and applier with arbitrary bytes. The first byte picks the
// mode: even → apply_diff, with the rest split at the first NUL (or in halves when there is
// none) into the original file and the diff; odd → parse_diff_blocks on the rest alone.
// Any crash, sanitizer report or hang is a bug; errors are expected and fine.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/apply_diff.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool parse_only = (data[0] & 1) != 0;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  if (parse_only) {
    auto blocks = joey::agent::parse_diff_blocks(input);
    if (blocks.ok()) {
      for (const auto& block : *blocks) {
        if (block.search.empty()) __builtin_trap();  // the contract: SEARCH is never empty
      }
    }
    return 0;
  }
  size_t split = input.find('\0');
  std::string_view original;
  std::string_view diff;
  if (split == std::string_view::npos) {
    split = input.size() / 2;
    original = input.substr(0, split);
    diff = input.substr(split);
  } else {
    original = input.substr(0, split);
    diff = input.substr(split + 1);
  }
  auto outcome = joey::agent::apply_diff(original, diff);
  if (outcome.ok() && outcome->blocks_applied <= 0) __builtin_trap();
  return 0;
}
