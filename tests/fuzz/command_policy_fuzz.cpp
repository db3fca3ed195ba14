// Fuzzes the command splitter and the allow/deny evaluation with arbitrary bytes. The
// first byte picks the policy: even → a fixed policy; odd → the first line of the rest is
// used as both an allowed and a denied rule (rules go through the splitter too) and the
// remainder is the command. Any crash, sanitizer report or hang is a bug.
//
// Bounded time: split_command refuses input over kMaxPolicyCommandBytes, nesting deeper
// than kMaxCommandNesting and more than kMaxCommandParts parts, so each input costs at
// most O(size × nesting).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/command_policy.h"

using joey::agent::CommandDecision;
using joey::agent::CommandPolicy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool rule_from_input = (data[0] & 1) != 0;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  CommandPolicy policy{{"*", "git status", "ls", "npm test"}, {"rm", "git push", "curl"}};
  if (rule_from_input) {
    size_t newline = input.find('\n');
    std::string rule(input.substr(0, newline));
    input = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
    policy = CommandPolicy{{rule, "ls"}, {rule, "rm"}};
  }

  auto parts = joey::agent::split_command(input);
  bool any_dynamic = false;
  if (parts.ok()) {
    if (parts->size() > joey::agent::kMaxCommandParts) __builtin_trap();
    for (const auto& part : *parts) {
      if (part.words.empty()) __builtin_trap();  // empty parts are dropped
      any_dynamic = any_dynamic || part.dynamic_command;
    }
  }

  auto verdict = joey::agent::evaluate_command(policy, input);
  if (verdict.reason.empty()) __builtin_trap();
  if (verdict.decision == CommandDecision::kAllowed) {
    // Only a command that splits, runs something, and names every command literally
    // can be allowed by a list.
    if (!parts.ok() || parts->empty() || any_dynamic) __builtin_trap();
  }
  return 0;
}
