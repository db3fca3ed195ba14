// Modes: who the agent is for a task (its role and instructions) and which tool groups
// it may use. joey ships five built-in modes (code, architect, ask, debug, orchestrator);
// users add or override modes in YAML files, including Roo Code's `.roomodes` (YAML or
// JSON), so existing mode definitions carry over.
//
// Sources, lowest precedence first (a later source replaces a mode with the same slug
// wholesale; the fields are not merged):
//   1. the built-in modes
//   2. $JOEY_HOME/modes.yaml                      (global)
//   3. <workspace>/.roomodes                      (workspace, Roo Code's file)
//   4. <workspace>/.joey/modes.yaml               (workspace, joey's own file)
// A missing file is not an error. Every problem in a present file is: the message names
// the file, the line and the mode. docs/modes.md documents the format.
//
// Thread-safety: everything here is a pure function of its arguments (and, for
// load_modes, of the files it reads); Mode is a plain value.
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/tool.h"
#include "base/result.h"

namespace joey::agent {

// Limits the edit group to files whose workspace-relative path matches `file_regex`
// (ECMAScript syntax, searched anywhere in the path as Roo Code does).
struct EditRestriction {
  std::string file_regex;
  std::string description;  // for people and the model, e.g. "Markdown files only"
};

struct Mode {
  std::string slug;  // [a-z0-9-]+
  std::string name;
  std::string role_definition;
  std::string when_to_use;
  std::string custom_instructions;
  std::set<ToolGroup> groups;  // never holds kAlways: those tools need no group
  std::optional<EditRestriction> edit_restriction;  // only with ToolGroup::kEdit
  std::string source;  // "built-in" or the path of the file that defined the mode
};

inline constexpr const char* kBuiltInSource = "built-in";
inline constexpr const char* kDefaultModeSlug = "code";

// code, architect, ask, debug, orchestrator, in that order.
std::vector<Mode> built_in_modes();

// Parses one modes file (`customModes: [...]`, YAML or JSON). `display_name` names the
// file in errors and becomes each mode's `source`. Empty text (or only comments) holds no
// modes. Errors are kInvalidArgument, formatted "NAME:LINE: mode 'SLUG': problem", for:
// malformed YAML, a missing or mistyped field, a slug outside [a-z0-9-]+, a slug defined
// twice in the file, an unknown or repeated group, options on a group other than edit, and
// a fileRegex std::regex (ECMAScript) rejects. Unknown keys are ignored (Roo Code writes a
// few joey does not use); the group "browser" is accepted and ignored (joey has no browser
// tool). Never throws.
Result<std::vector<Mode>> parse_modes_text(std::string_view text, std::string_view display_name);

// The built-in modes overlaid with the files listed at the top, in precedence order.
// The result keeps the built-ins' order (an overridden built-in stays in its place), then
// the new modes in the order their files were read. kIo when a present file cannot be read;
// parse errors as parse_modes_text.
Result<std::vector<Mode>> load_modes(const std::filesystem::path& joey_home,
                                     const std::filesystem::path& workspace_root);

// The mode with `slug`; kNotFound listing the available slugs otherwise.
Result<Mode> find_mode(const std::vector<Mode>& modes, std::string_view slug);

// Whether `mode` offers `tool` to the model: kAlways tools always, others when the mode
// has the tool's group.
bool mode_allows_tool(const Mode& mode, const ToolDefinition& tool);

// `tools` without those mode_allows_tool refuses, in their original order.
std::vector<ToolDefinition> tools_for_mode(const Mode& mode, std::vector<ToolDefinition> tools);

// The error for a call to a tool the mode does not offer (kPermissionDenied), e.g.
// "mode 'ask' may not use execute_command (it has the groups: read, mcp)".
Error tool_not_allowed_error(const Mode& mode, std::string_view tool_name);

// Whether `mode` may change the file at `relative_path` (workspace-relative, '/'-separated).
// kPermissionDenied when the mode has no edit group, or when the path does not match the
// mode's fileRegex: "mode 'architect' may only edit files matching \.md$ (Markdown files
// only)". A fileRegex that fails to compile refuses every path.
Status check_edit_allowed(const Mode& mode, std::string_view relative_path);

// The mode's part of the system prompt: its role definition, its custom instructions, the
// edit restriction if any, and, when the mode has the modes group, the other modes'
// slugs and when to use them (for switch_mode and new_task).
std::string mode_prompt_section(const Mode& mode, const std::vector<Mode>& available_modes = {});

// "read, edit (\.md$), command" — the mode's groups for listings.
std::string describe_groups(const Mode& mode);

}  // namespace joey::agent
