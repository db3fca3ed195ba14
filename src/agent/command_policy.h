// Command allow and deny lists: which shell commands may run without asking a person.
//
// A command line is split into the simple commands the shell would run: parts joined
// by `&&`, `||`, `;`, `|`, `|&`, `&` or newlines, the contents of `$( … )`, backticks
// and process substitutions `<( … )` / `>( … )` (recursively), subshells `( … )` and
// brace groups `{ …; }`, and the commands inside `if`/`while`/`for` bodies (reserved
// words are dropped). Quotes are honoured: separators inside single or double quotes do
// not split, while `$( … )` and backticks inside double quotes (and in unquoted
// here-documents) still count. Redirections stay with their command; comments are
// skipped.
//
// Each part is matched against the prefix lists on its words as the shell would see
// them (quotes and escapes removed, leading `NAME=value` assignments dropped): a rule
// matches when its words are the part's first words, so "git" matches "git status" but
// not "gitk", and "*" matches everything. The longest matching rule (in words) wins,
// denied wins a tie, and a part that matches nothing must be asked about. A command is
// denied when any part is denied, allowed when every part is allowed, asked otherwise.
//
// Limits of what a prefix list can know, so a person decides instead:
// - A command that cannot be split (an unterminated quote or `$(`, an unbalanced
//   parenthesis, a here-document or array syntax the splitter does not follow, nesting
//   deeper than kMaxCommandNesting, more than kMaxCommandParts parts, or longer than
//   kMaxPolicyCommandBytes) is one part no allow rule can approve.
// - A part whose command name is computed at run time (`$X args`, `$(…) args`,
//   `$'\x72m'`) is never allowed by any rule, "*" included.
// The deny list is a guard against mistakes, not a security boundary: it also looks
// through a few wrappers (`sudo`, `env`, `command`, `exec`, `nohup`, `time`, `doas`,
// `builtin`) and at the base name of a command given by path (`/bin/rm`), but it cannot
// see into scripts, `bash -c`, `eval`, `xargs` or `find -exec`. Confinement is the
// sandbox's job (agent/sandbox.h).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace joey::agent {

inline constexpr size_t kMaxPolicyCommandBytes = 64 * 1024;
inline constexpr int kMaxCommandNesting = 32;
inline constexpr size_t kMaxCommandParts = 1024;

struct CommandPolicy {
  std::vector<std::string> allowed;  // prefixes, e.g. "git status", "npm test", "*"
  std::vector<std::string> denied;   // prefixes, e.g. "rm", "git push"
};

enum class CommandDecision { kAllowed, kDenied, kAsk };

const char* command_decision_name(CommandDecision decision);

struct CommandVerdict {
  CommandDecision decision = CommandDecision::kAsk;
  std::string part;    // the deciding part as written (trimmed); the whole command when it
                       // could not be split
  std::string rule;    // the matching prefix as configured; empty when none matched
  std::string reason;  // one sentence for the user and the model
};

// One simple command the shell would run.
struct CommandPart {
  std::string text;  // as written, trimmed (a nested part's text is its own source)
  // Command name and arguments as the shell would see them: quotes and escapes removed,
  // leading assignments dropped, expansions kept as written ("$HOME", "$(date)").
  // Redirections are single words ("2>&1", ">out.txt"), after the arguments. A part
  // with only assignments keeps them as its words.
  std::vector<std::string> words;
  bool dynamic_command = false;  // the command name contains an expansion
};

// The parts of `command` in source order (an outer command before the parts nested in
// it). kInvalidArgument naming the problem when the command cannot be split (see the
// limits above). An empty or comment-only command has no parts.
Result<std::vector<CommandPart>> split_command(std::string_view command);

CommandVerdict evaluate_command(const CommandPolicy& policy, std::string_view command);

}  // namespace joey::agent
