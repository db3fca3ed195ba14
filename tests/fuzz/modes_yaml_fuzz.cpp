// Fuzzes the modes file parser (YAML or JSON `customModes`, as in .roomodes) with
// arbitrary bytes, then uses every mode it accepts. Any crash, sanitizer report, hang or
// uncaught exception is a bug; errors are expected and fine. The contract checked: an
// accepted mode has a valid slug, never the kAlways group, and an edit restriction only
// together with the edit group.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/modes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto modes = joey::agent::parse_modes_text(input, "fuzz.yaml");
  if (!modes.ok()) return 0;
  for (const joey::agent::Mode& mode : *modes) {
    if (mode.slug.empty()) __builtin_trap();
    for (char c : mode.slug) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) __builtin_trap();
    }
    if (mode.groups.count(joey::agent::ToolGroup::kAlways) > 0) __builtin_trap();
    if (mode.edit_restriction && mode.groups.count(joey::agent::ToolGroup::kEdit) == 0) {
      __builtin_trap();
    }
    (void)joey::agent::check_edit_allowed(mode, "docs/guide/a.md");
    (void)joey::agent::mode_prompt_section(mode, *modes);
    (void)joey::agent::describe_groups(mode);
  }
  return 0;
}
