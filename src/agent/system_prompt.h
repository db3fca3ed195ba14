// The system prompt: the mode's role, how to work with the tools, facts about the
// workspace (directory, OS, shell, a bounded file listing) and the rules files. The tools themselves
// travel as native function definitions, so the prompt does not repeat them.
// Kept lean: bench/ reports its size in tokens.
#pragma once

#include <filesystem>
#include <string>

namespace joey::agent {

struct WorkspaceFacts {
  std::filesystem::path root;
  std::string os;                 // e.g. "Linux 6.1.0"
  std::string shell;              // e.g. "/bin/bash"
  std::string file_listing;       // one path per line, bounded
  size_t files_listed = 0;
  bool listing_truncated = false;
};

// Gathers the facts: `rg --files` (honouring .gitignore) for the listing, capped at
// `max_files` entries.
WorkspaceFacts gather_workspace_facts(const std::filesystem::path& root, size_t max_files = 200);

// The mode's section (role, instructions: modes.h mode_prompt_section), then how joey
// works, the workspace facts, and the rules section (rules.h), in that order.
std::string build_system_prompt(const std::string& mode_section, const WorkspaceFacts& facts,
                                const std::string& rules_section);

// A rough token estimate (about four bytes a token for English and code), used for
// reporting sizes; never for billing.
size_t estimate_tokens(std::string_view text);

}  // namespace joey::agent
