#include "client/modes_command.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/modes.h"
#include "base/paths.h"
#include "client/exit_codes.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct ModesFlags {
  std::string cwd;
  bool json = false;
  std::string slug;
};

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "joey: error: %s\n", message.c_str());
  return code;
}

// The modes for the workspace named by --cwd (default: the current directory), or the
// exit code after reporting why there are none: 2 for a bad --cwd, 1 for a broken file.
std::optional<std::vector<agent::Mode>> modes_for(const std::string& cwd, int& exit_code) {
  std::error_code error;
  fs::path root = fs::canonical(cwd.empty() ? fs::current_path(error) : fs::path(cwd), error);
  if (error || !fs::is_directory(root)) {
    exit_code = fail(kExitUsage, "--cwd " + cwd + " is not a directory");
    return std::nullopt;
  }
  Result<fs::path> home = joey_home();
  if (!home.ok()) {
    exit_code = fail(kExitFailed, home.error().message);
    return std::nullopt;
  }
  Result<std::vector<agent::Mode>> modes = agent::load_modes(*home, root);
  if (!modes.ok()) {
    exit_code = fail(kExitFailed, modes.error().message);
    return std::nullopt;
  }
  return std::move(*modes);
}

json mode_json(const agent::Mode& mode, bool everything) {
  json groups = json::array();
  for (agent::ToolGroup group : mode.groups) groups.push_back(agent::tool_group_name(group));
  json object = {
      {"slug", mode.slug}, {"name", mode.name}, {"source", mode.source}, {"groups", groups}};
  if (mode.edit_restriction) {
    object["file_regex"] = mode.edit_restriction->file_regex;
    if (everything) object["file_regex_description"] = mode.edit_restriction->description;
  }
  if (everything) {
    object["role_definition"] = mode.role_definition;
    object["when_to_use"] = mode.when_to_use;
    object["custom_instructions"] = mode.custom_instructions;
  }
  return object;
}

void print_json(const json& value) {
  // Mode texts come from user files; never let a stray byte abort the listing.
  std::string text = value.dump(2, ' ', false, json::error_handler_t::replace);
  std::printf("%s\n", text.c_str());
}

std::string pad(const std::string& text, size_t width) {
  return text.size() >= width ? text + " " : text + std::string(width - text.size(), ' ');
}

int list_modes(const ModesFlags& flags) {
  int exit_code = 0;
  std::optional<std::vector<agent::Mode>> modes = modes_for(flags.cwd, exit_code);
  if (!modes) return exit_code;
  if (flags.json) {
    json list = json::array();
    for (const agent::Mode& mode : *modes) list.push_back(mode_json(mode, false));
    print_json(list);
    return 0;
  }
  size_t slug_width = 5;
  size_t name_width = 5;
  size_t groups_width = 7;
  for (const agent::Mode& mode : *modes) {
    slug_width = std::max(slug_width, mode.slug.size() + 2);
    name_width = std::max(name_width, mode.name.size() + 2);
    groups_width = std::max(groups_width, agent::describe_groups(mode).size() + 2);
  }
  std::string out =
      pad("SLUG", slug_width) + pad("NAME", name_width) + pad("GROUPS", groups_width) + "SOURCE\n";
  for (const agent::Mode& mode : *modes) {
    out += pad(mode.slug, slug_width) + pad(mode.name, name_width) +
           pad(agent::describe_groups(mode), groups_width) + mode.source + "\n";
  }
  std::fputs(out.c_str(), stdout);
  return 0;
}

std::string indented(const std::string& text) {
  if (text.empty()) return "  (none)\n";
  std::string out = "  ";
  for (char c : text) {
    out += c;
    if (c == '\n') out += "  ";
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '\n')) out.pop_back();
  return out + "\n";
}

int show_mode(const ModesFlags& flags) {
  int exit_code = 0;
  std::optional<std::vector<agent::Mode>> modes = modes_for(flags.cwd, exit_code);
  if (!modes) return exit_code;
  Result<agent::Mode> mode = agent::find_mode(*modes, flags.slug);
  if (!mode.ok()) return fail(kExitUsage, mode.error().message);
  if (flags.json) {
    print_json(mode_json(*mode, true));
    return 0;
  }
  std::string groups = agent::describe_groups(*mode);
  std::string out = "slug:    " + mode->slug + "\nname:    " + mode->name +
                    "\nsource:  " + mode->source +
                    "\ngroups:  " + (groups.empty() ? "(none)" : groups) + "\n";
  if (mode->edit_restriction) {
    out += "edits:   only files matching " + mode->edit_restriction->file_regex;
    if (!mode->edit_restriction->description.empty()) {
      out += " (" + mode->edit_restriction->description + ")";
    }
    out += "\n";
  }
  out += "\nrole definition:\n" + indented(mode->role_definition);
  out += "\nwhen to use:\n" + indented(mode->when_to_use);
  out += "\ncustom instructions:\n" + indented(mode->custom_instructions);
  std::fputs(out.c_str(), stdout);
  return 0;
}

}  // namespace

void register_modes_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<ModesFlags>();
  CLI::App* modes = app.add_subcommand("modes", "list the modes a task can use, or show one");
  modes->require_subcommand(1);

  CLI::App* list = modes->add_subcommand("list", "list modes: slug, name, tool groups, source");
  list->add_option("--cwd", flags->cwd, "workspace directory (default: the current directory)");
  list->add_flag("--json", flags->json, "print JSON");
  list->callback([flags, &exit_code] { exit_code = list_modes(*flags); });

  CLI::App* show = modes->add_subcommand("show", "show everything about one mode");
  show->add_option("slug", flags->slug, "the mode's slug, e.g. architect")->required();
  show->add_option("--cwd", flags->cwd, "workspace directory (default: the current directory)");
  show->add_flag("--json", flags->json, "print JSON");
  show->callback([flags, &exit_code] { exit_code = show_mode(*flags); });
}

}  // namespace joey::client
