#include "agent/modes.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <regex>
#include <system_error>

#include "base/atomic_file.h"
#include "base/regex_check.h"

namespace joey::agent {
namespace {

namespace fs = std::filesystem;

// A modes file is a handful of short definitions; anything near this is a mistake.
constexpr size_t kMaxModesFileBytes = 1 << 20;
// std::regex compiles recursively; a bound keeps a hostile pattern from exhausting the stack.
constexpr size_t kMaxFileRegexBytes = 1000;

Mode make_mode(std::string slug, std::string name, std::string role, std::string when_to_use,
               std::string instructions, std::set<ToolGroup> groups) {
  Mode mode;
  mode.slug = std::move(slug);
  mode.name = std::move(name);
  mode.role_definition = std::move(role);
  mode.when_to_use = std::move(when_to_use);
  mode.custom_instructions = std::move(instructions);
  mode.groups = std::move(groups);
  mode.source = kBuiltInSource;
  return mode;
}

// Where a problem is: "NAME:LINE: mode 'SLUG': " (line and mode when known).
class Locator {
 public:
  explicit Locator(std::string_view display_name) : display_name_(display_name) {}

  void set_mode(std::string label) { mode_label_ = std::move(label); }

  Error at(const YAML::Mark& mark, const std::string& problem) const {
    std::string message(display_name_);
    if (mark.line >= 0) message += ":" + std::to_string(mark.line + 1);
    message += ": ";
    if (!mode_label_.empty()) message += mode_label_ + ": ";
    return make_error(ErrorKind::kInvalidArgument, message + problem);
  }

  Error at(const YAML::Node& node, const std::string& problem) const {
    return at(node.Mark(), problem);
  }

 private:
  std::string_view display_name_;
  std::string mode_label_;
};

bool valid_slug(std::string_view slug) {
  return !slug.empty() && std::all_of(slug.begin(), slug.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// A string field: nullopt when absent or null; an error when present but not a scalar.
Result<std::optional<std::string>> optional_string(const YAML::Node& map, const char* key,
                                                   const Locator& locator) {
  const YAML::Node value = map[key];
  if (!value.IsDefined() || value.IsNull()) return std::optional<std::string>();
  if (!value.IsScalar()) return locator.at(value, "'" + std::string(key) + "' must be a string");
  return std::optional<std::string>(value.Scalar());
}

Result<std::string> required_string(const YAML::Node& map, const char* key,
                                    const Locator& locator) {
  std::optional<std::string> value = TRY(optional_string(map, key, locator));
  if (!value || value->empty()) {
    return locator.at(map, "'" + std::string(key) + "' is required and must not be empty");
  }
  return std::move(*value);
}

Status check_file_regex(const std::string& pattern, const YAML::Node& node,
                        const Locator& locator) {
  if (pattern.size() > kMaxFileRegexBytes) {
    return locator.at(node,
                      "fileRegex is longer than " + std::to_string(kMaxFileRegexBytes) + " bytes");
  }
  Result<std::regex> compiled = compile_regex(pattern);
  if (!compiled.ok()) {
    return locator.at(node, "invalid fileRegex '" + pattern + "': " + compiled.error().message);
  }
  return ok_status();
}

std::optional<ToolGroup> group_from_name(std::string_view name) {
  if (name == "read") return ToolGroup::kRead;
  if (name == "edit") return ToolGroup::kEdit;
  if (name == "command") return ToolGroup::kCommand;
  if (name == "mcp") return ToolGroup::kMcp;
  if (name == "modes") return ToolGroup::kModes;
  return std::nullopt;
}

// One entry of `groups`: "read" or ["edit", {fileRegex, description}].
Status parse_group_entry(const YAML::Node& entry, const Locator& locator, Mode& mode) {
  // Nodes are only copy-constructed here: assigning one yaml-cpp node to another rewrites
  // the document it refers to.
  const bool with_options = entry.IsSequence();
  if (with_options && (entry.size() < 1 || entry.size() > 2)) {
    return locator.at(entry, "a group with options is written [GROUP, {fileRegex, description}]");
  }
  const YAML::Node name_node = with_options ? entry[0] : entry;
  const YAML::Node options = with_options && entry.size() == 2 ? entry[1] : YAML::Node();
  if (!name_node.IsScalar()) {
    return locator.at(entry,
                      "a group is a name (read, edit, command, mcp, modes) or "
                      "[edit, {fileRegex, description}]");
  }
  const std::string name = name_node.Scalar();
  if (name == "browser") return ok_status();  // Roo Code's browser tool: joey has none
  std::optional<ToolGroup> group = group_from_name(name);
  if (!group) {
    return locator.at(name_node,
                      "unknown group '" + name + "' (known: read, edit, command, mcp, modes)");
  }
  if (!mode.groups.insert(*group).second) {
    return locator.at(name_node, "group '" + name + "' is listed twice");
  }
  if (!options.IsDefined() || options.IsNull()) return ok_status();
  if (!options.IsMap()) {
    return locator.at(options, "the options of group '" + name +
                                   "' must be a map like {fileRegex: ..., description: ...}");
  }
  if (*group != ToolGroup::kEdit) {
    return locator.at(options, "only the edit group takes options (fileRegex, description)");
  }
  std::optional<std::string> regex = TRY(optional_string(options, "fileRegex", locator));
  std::optional<std::string> description = TRY(optional_string(options, "description", locator));
  if (!regex) return ok_status();  // options without a fileRegex restrict nothing
  TRY(check_file_regex(*regex, options["fileRegex"], locator));
  mode.edit_restriction = EditRestriction{*regex, description.value_or("")};
  return ok_status();
}

Result<Mode> parse_mode(const YAML::Node& node, size_t index, Locator& locator) {
  locator.set_mode("mode #" + std::to_string(index + 1));
  if (!node.IsMap()) return locator.at(node, "each entry of customModes must be a map");
  Mode mode;
  mode.slug = TRY(required_string(node, "slug", locator));
  if (!valid_slug(mode.slug)) {
    return locator.at(node["slug"],
                      "slug '" + mode.slug + "' may hold only lowercase letters, digits and '-'");
  }
  locator.set_mode("mode '" + mode.slug + "'");
  mode.name = TRY(required_string(node, "name", locator));
  mode.role_definition = TRY(required_string(node, "roleDefinition", locator));
  mode.when_to_use = TRY(optional_string(node, "whenToUse", locator)).value_or("");
  mode.custom_instructions = TRY(optional_string(node, "customInstructions", locator)).value_or("");
  const YAML::Node groups = node["groups"];
  if (!groups.IsDefined() || !groups.IsSequence()) {
    return locator.at(groups.IsDefined() ? groups : node,
                      "'groups' is required: a list such as [read, edit, command, mcp]");
  }
  for (const YAML::Node& entry : groups) TRY(parse_group_entry(entry, locator, mode));
  return mode;
}

Result<std::vector<Mode>> parse_modes_document(const YAML::Node& root, std::string_view name) {
  Locator locator(name);
  std::vector<Mode> modes;
  if (!root.IsDefined() || root.IsNull()) return modes;  // empty file
  if (!root.IsMap()) return locator.at(root, "expected a map with a 'customModes' list");
  const YAML::Node list = root["customModes"];
  if (!list.IsDefined()) return locator.at(root, "expected a top-level 'customModes' list");
  if (list.IsNull()) return modes;
  if (!list.IsSequence()) return locator.at(list, "'customModes' must be a list of modes");
  for (const YAML::Node& node : list) {
    Mode mode = TRY(parse_mode(node, modes.size(), locator));
    auto same_slug = [&](const Mode& other) { return other.slug == mode.slug; };
    if (std::any_of(modes.begin(), modes.end(), same_slug)) {
      return locator.at(node, "slug '" + mode.slug + "' is defined twice in this file");
    }
    mode.source = std::string(name);
    modes.push_back(std::move(mode));
  }
  return modes;
}

// Reads a modes file if it exists: nullopt when it does not.
Result<std::optional<std::vector<Mode>>> read_modes_file(const fs::path& path) {
  std::error_code error;
  fs::file_status status = fs::status(path, error);
  if (status.type() == fs::file_type::not_found) return std::optional<std::vector<Mode>>();
  if (error) return make_error(ErrorKind::kIo, path.string() + ": " + error.message());
  if (!fs::is_regular_file(status)) {
    return make_error(ErrorKind::kInvalidArgument, path.string() + ": not a regular file");
  }
  uintmax_t size = fs::file_size(path, error);
  if (!error && size > kMaxModesFileBytes) {
    return make_error(ErrorKind::kInvalidArgument,
                      path.string() + ": larger than " + std::to_string(kMaxModesFileBytes) +
                          " bytes; a modes file holds a few short definitions");
  }
  Result<std::string> text = read_file_to_string(path);
  if (!text.ok()) return text.error().with_context(path.string());
  std::vector<Mode> modes = TRY(parse_modes_text(*text, path.string()));
  return std::optional<std::vector<Mode>>(std::move(modes));
}

void overlay(std::vector<Mode>& modes, std::vector<Mode> overrides) {
  for (Mode& mode : overrides) {
    auto existing = std::find_if(modes.begin(), modes.end(),
                                 [&](const Mode& other) { return other.slug == mode.slug; });
    if (existing != modes.end()) {
      *existing = std::move(mode);
    } else {
      modes.push_back(std::move(mode));
    }
  }
}

}  // namespace

std::vector<Mode> built_in_modes() {
  using G = ToolGroup;
  std::vector<Mode> modes;
  modes.push_back(make_mode(
      "code", "Code",
      "You are joey, a skilled software engineer working in the user's project. You make "
      "precise, minimal changes that follow the project's existing conventions.",
      "Writing, changing or refactoring code; fixing a known bug; any task that needs files "
      "edited and commands run.",
      "Read the code you touch and its callers first. Keep changes small and in the project's "
      "style. After a change, build or run the relevant tests when the project has them, and "
      "fix what you broke before you finish.",
      {G::kRead, G::kEdit, G::kCommand, G::kMcp}));
  Mode architect = make_mode(
      "architect", "Architect",
      "You are joey, an experienced technical lead who plans before anyone builds. You study "
      "the project, ask what is unclear, and turn a goal into a concrete, reviewable plan.",
      "Planning a feature or a refactoring, weighing designs, or writing design notes and "
      "documentation before code is changed.",
      "Gather context first: read the relevant code, docs and configuration. Write the plan as "
      "Markdown: the goal, the constraints, the files to change and why, the steps in order, "
      "and the risks. You may edit only Markdown files; when the plan is agreed, suggest "
      "switching to code mode to carry it out.",
      {G::kRead, G::kEdit, G::kMcp});
  architect.edit_restriction = EditRestriction{"\\.md$", "Markdown files only"};
  modes.push_back(std::move(architect));
  modes.push_back(make_mode(
      "ask", "Ask",
      "You are joey, a knowledgeable technical assistant. You answer questions about the "
      "project and about software in general, clearly and accurately.",
      "Explaining code, concepts or behaviour; answering questions without changing anything.",
      "Change nothing: read the code to ground your answer, cite the files and lines you rely "
      "on, and say plainly when you are unsure. Answer the question asked, then stop.",
      {G::kRead, G::kMcp}));
  modes.push_back(make_mode(
      "debug", "Debug",
      "You are joey, an expert debugger who finds the cause of a problem before fixing it.",
      "Tracking down a bug, a crash, a failing test or unexpected behaviour whose cause is not "
      "yet known.",
      "Reproduce the problem first. List the plausible causes, then narrow them down with "
      "evidence: read the code, add temporary logging, run the failing case. State the cause "
      "you found and how you confirmed it before you fix it; remove temporary logging after.",
      {G::kRead, G::kEdit, G::kCommand, G::kMcp}));
  modes.push_back(make_mode(
      "orchestrator", "Orchestrator",
      "You are joey, a coordinator who completes large tasks by splitting them into focused "
      "subtasks and delegating each to the mode best suited to it.",
      "Large or multi-step work that spans planning, coding, debugging and answering; tasks "
      "that benefit from separate, focused contexts.",
      "Break the task into subtasks that can each be done on their own. Delegate each with "
      "new_task, giving the mode and a message with all the context it needs: the goal, what "
      "is already known, what is out of scope, and that it should finish with "
      "attempt_completion summarising what it did. Use each result to plan the next step. When "
      "all are done, summarise the outcome with attempt_completion.",
      {G::kModes}));
  return modes;
}

Result<std::vector<Mode>> parse_modes_text(std::string_view text, std::string_view display_name) {
  if (text.size() > kMaxModesFileBytes) {
    return make_error(ErrorKind::kInvalidArgument, std::string(display_name) + ": larger than " +
                                                       std::to_string(kMaxModesFileBytes) +
                                                       " bytes");
  }
  Locator locator(display_name);
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    return parse_modes_document(root, display_name);
  } catch (const YAML::Exception& error) {
    return locator.at(error.mark, error.msg);
  } catch (const std::exception& error) {
    return locator.at(YAML::Mark::null_mark(), error.what());
  }
}

Result<std::vector<Mode>> load_modes(const fs::path& joey_home, const fs::path& workspace_root) {
  std::vector<Mode> modes = built_in_modes();
  const fs::path sources[] = {joey_home / "modes.yaml", workspace_root / ".roomodes",
                              workspace_root / ".joey" / "modes.yaml"};
  for (const fs::path& path : sources) {
    std::optional<std::vector<Mode>> custom = TRY(read_modes_file(path));
    if (custom) overlay(modes, std::move(*custom));
  }
  return modes;
}

Result<Mode> find_mode(const std::vector<Mode>& modes, std::string_view slug) {
  std::string available;
  for (const Mode& mode : modes) {
    if (mode.slug == slug) return mode;
    available += (available.empty() ? "" : ", ") + mode.slug;
  }
  return make_error(ErrorKind::kNotFound,
                    "unknown mode '" + std::string(slug) + "' (available: " + available + ")");
}

bool mode_allows_tool(const Mode& mode, const ToolDefinition& tool) {
  return tool.group == ToolGroup::kAlways || mode.groups.count(tool.group) > 0;
}

std::vector<ToolDefinition> tools_for_mode(const Mode& mode, std::vector<ToolDefinition> tools) {
  std::erase_if(tools, [&](const ToolDefinition& tool) { return !mode_allows_tool(mode, tool); });
  return tools;
}

Error tool_not_allowed_error(const Mode& mode, std::string_view tool_name) {
  std::string groups = describe_groups(mode);
  return make_error(ErrorKind::kPermissionDenied,
                    "mode '" + mode.slug + "' may not use " + std::string(tool_name) +
                        " (it has the groups: " + (groups.empty() ? "none" : groups) + ")");
}

Status check_edit_allowed(const Mode& mode, std::string_view relative_path) {
  if (mode.groups.count(ToolGroup::kEdit) == 0) {
    return make_error(ErrorKind::kPermissionDenied, "mode '" + mode.slug + "' may not edit files");
  }
  if (!mode.edit_restriction) return ok_status();
  const EditRestriction& restriction = *mode.edit_restriction;
  bool matches = false;  // a pattern that cannot run allows nothing
  Result<std::regex> pattern = compile_regex(restriction.file_regex);
  if (pattern.ok()) {
    try {
      matches = std::regex_search(relative_path.begin(), relative_path.end(), pattern.value());
    } catch (const std::exception&) {
      matches = false;  // std::regex_error (error_complexity, error_stack)
    }
  }
  if (matches) return ok_status();
  std::string message =
      "mode '" + mode.slug + "' may only edit files matching " + restriction.file_regex;
  if (!restriction.description.empty()) message += " (" + restriction.description + ")";
  return make_error(ErrorKind::kPermissionDenied,
                    message + "; " + std::string(relative_path) + " does not match");
}

std::string mode_prompt_section(const Mode& mode, const std::vector<Mode>& available_modes) {
  std::string section = mode.role_definition;
  section += "\n\n# Mode: " + mode.name + " (" + mode.slug + ")\n";
  if (mode.groups.count(ToolGroup::kEdit) == 0) {
    section += "You cannot change files in this mode.\n";
  } else if (mode.edit_restriction) {
    section +=
        "You may edit only files whose path matches `" + mode.edit_restriction->file_regex + "`";
    if (!mode.edit_restriction->description.empty()) {
      section += " (" + mode.edit_restriction->description + ")";
    }
    section += "; edits to other files are refused.\n";
  }
  if (!mode.custom_instructions.empty()) {
    section += "\n" + mode.custom_instructions;
    if (section.back() != '\n') section += '\n';
  }
  if (mode.groups.count(ToolGroup::kModes) > 0) {
    std::string others;
    for (const Mode& other : available_modes) {
      if (other.slug == mode.slug) continue;
      others += "- " + other.slug + " (" + other.name + ")";
      if (!other.when_to_use.empty()) others += ": " + other.when_to_use;
      others += "\n";
    }
    if (!others.empty()) {
      section += "\n# Other modes (for switch_mode and new_task)\n" + others;
    }
  }
  return section;
}

std::string describe_groups(const Mode& mode) {
  std::string text;
  for (ToolGroup group : mode.groups) {
    if (!text.empty()) text += ", ";
    text += tool_group_name(group);
    if (group == ToolGroup::kEdit && mode.edit_restriction) {
      text += " (" + mode.edit_restriction->file_regex + ")";
    }
  }
  return text;
}

}  // namespace joey::agent
