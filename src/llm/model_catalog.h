// What joey knows about models beyond their price: the context window, so the task
// loop can condense a conversation before it overflows. Unknown models get a
// conservative default, which a setting (context.window_tokens) overrides.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace joey::llm {

inline constexpr int64_t kDefaultContextWindow = 128'000;

// The model's context window in tokens, by exact id, id without a date suffix or
// provider prefix, or family prefix; nullopt when unknown.
std::optional<int64_t> known_context_window(const std::string& model);

// known_context_window, else kDefaultContextWindow.
int64_t context_window_or_default(const std::string& model);

}  // namespace joey::llm
