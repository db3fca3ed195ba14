// The exit statuses every joey command uses (DESIGN.md §3): scripts rely on them.
#pragma once

namespace joey::client {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;         // the command ran and failed
inline constexpr int kExitUsage = 2;          // bad usage: flags, settings, arguments
inline constexpr int kExitNeedsDecision = 3;  // a task stopped for a decision nobody could take
inline constexpr int kExitInterrupted = 130;  // Ctrl-C

}  // namespace joey::client
