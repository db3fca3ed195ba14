// Fuzzes the ignore-file parser and matcher with arbitrary bytes: the input is split
// at its first NUL into ignore-file text and a path (the last 64 bytes when there is
// no NUL), and the path is checked as a file and as a directory. Any crash,
// sanitizer report or hang is a bug; every answer is acceptable.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/ignore_rules.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t split = input.find('\0');
  std::string_view text;
  std::string_view path;
  if (split == std::string_view::npos) {
    split = size > 64 ? size - 64 : 0;
    text = input.substr(0, split);
    path = input.substr(split);
  } else {
    text = input.substr(0, split);
    path = input.substr(split + 1);
  }
  const auto rules = joey::agent::IgnoreRules::parse(text);
  (void)rules.ignored(path, /*is_directory=*/false);
  // Everything under an ignored directory is ignored (".." could leave it, so skip those).
  if (path.find("..") == std::string_view::npos && rules.ignored(path, /*is_directory=*/true)) {
    std::string child(path);
    child += "/child";
    if (!rules.ignored(child, /*is_directory=*/false)) __builtin_trap();
  }
  (void)joey::agent::is_protected_path(path);
  // The product never matches a pattern longer than this; neither does the fuzzer.
  const std::string_view pattern = text.substr(0, joey::agent::kMaxIgnorePatternBytes);
  (void)joey::agent::wildmatch(pattern, path, /*pathname=*/true);
  (void)joey::agent::wildmatch(pattern, path, /*pathname=*/false);
  return 0;
}
