#include "client/config_command.h"

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "base/paths.h"
#include "client/exit_codes.h"
#include "client/settings.h"

namespace joey::client {
namespace {

// What the parsed command line holds; shared by the subcommands' callbacks.
struct ConfigInvocation {
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  std::string cwd;
  std::string key;
  std::string value;
  bool workspace = false;
  bool show_origin = false;

  int fail(int exit_code, const std::string& message) const {
    *err << "joey: error: " << message << "\n";
    return exit_code;
  }

  Result<std::filesystem::path> workspace_root() const {
    std::error_code error;
    std::filesystem::path root =
        cwd.empty() ? std::filesystem::current_path(error) : std::filesystem::absolute(cwd, error);
    if (error) return make_error(ErrorKind::kIo, "finding the workspace: " + error.message());
    if (!std::filesystem::is_directory(root, error)) {
      return make_error(ErrorKind::kInvalidArgument, "--cwd " + cwd + ": not a directory");
    }
    return root.lexically_normal();
  }

  int exit_for(const Error& error) const {
    const bool usage = error.kind == ErrorKind::kInvalidArgument;
    return fail(usage ? kExitUsage : kExitFailed, error.message);
  }

  // Home and workspace, or the exit code of the failure (already reported).
  std::optional<int> locate(std::filesystem::path& home, std::filesystem::path& root) const {
    auto found_root = workspace_root();
    if (!found_root.ok()) return exit_for(found_root.error());
    auto found_home = joey_home();
    if (!found_home.ok()) return fail(kExitFailed, found_home.error().message);
    home = *found_home;
    root = *found_root;
    return std::nullopt;
  }

  Result<Settings> load(const std::filesystem::path& home,
                        const std::filesystem::path& root) const {
    return Settings::load(home, root, settings_environment());
  }

  int run_get() const {
    if (!find_setting(key)) {
      return fail(kExitUsage,
                  "unknown setting '" + key + "' (`joey config list` shows the known ones)");
    }
    std::filesystem::path home, root;
    if (auto failed = locate(home, root)) return *failed;
    auto settings = load(home, root);
    if (!settings.ok()) return fail(kExitFailed, settings.error().message);
    const auto value = settings->get(key);
    if (!value) return fail(kExitFailed, "'" + key + "' is not set");
    *out << format_setting_value(value->data) << "\n";
    return kExitOk;
  }

  int run_list() const {
    std::filesystem::path home, root;
    if (auto failed = locate(home, root)) return *failed;
    auto settings = load(home, root);
    if (!settings.ok()) return fail(kExitFailed, settings.error().message);
    for (const auto& [name, value] : settings->list()) {
      if (show_origin) *out << value.origin << "\t";
      *out << name << " = " << setting_value_as_toml(value.data) << "\n";
    }
    return kExitOk;
  }

  int run_path() const {
    std::filesystem::path home, root;
    if (auto failed = locate(home, root)) return *failed;
    *out << "global: " << global_config_path(home).string() << "\n";
    *out << "workspace: " << workspace_config_path(root).string() << "\n";
    return kExitOk;
  }

  // A note when the value just written is not the one in effect.
  void note_override(const std::filesystem::path& home, const std::filesystem::path& root,
                     const std::filesystem::path& file) const {
    auto settings = load(home, root);
    if (!settings.ok()) return;
    const auto value = settings->get(key);
    if (value && !value->origin.starts_with(file.string() + ":") && value->origin != "default") {
      *err << "joey: note: '" << key << "' is overridden by " << value->origin << "\n";
    }
  }

  int run_set() const {
    // Key and value first, so that a usage error is reported as one (exit 2) whatever
    // state the file is in.
    if (workspace && is_forbidden_in_workspace(key)) {
      return fail(kExitUsage, "'" + key +
                                  "' cannot be set in a workspace file; set it with `joey config "
                                  "set " +
                                  key + " …` (global)");
    }
    if (auto parsed = parse_setting_text(key, value); !parsed.ok()) {
      return fail(kExitUsage, parsed.error().message);
    }
    std::filesystem::path home, root;
    if (auto failed = locate(home, root)) return *failed;
    const auto file = workspace ? workspace_config_path(root) : global_config_path(home);
    auto edit = set_config_value(file, workspace ? ConfigScope::kWorkspace : ConfigScope::kGlobal,
                                 key, value);
    if (!edit.ok()) return fail(kExitFailed, edit.error().message);
    if (!edit->comments_kept) {
      *err << "joey: note: rewrote " << file.string()
           << " from its parsed form; its comments were not kept\n";
    }
    note_override(home, root, file);
    return kExitOk;
  }

  int run_unset() const {
    std::filesystem::path home, root;
    if (auto failed = locate(home, root)) return *failed;
    const auto file = workspace ? workspace_config_path(root) : global_config_path(home);
    auto edit =
        unset_config_value(file, workspace ? ConfigScope::kWorkspace : ConfigScope::kGlobal, key);
    if (!edit.ok()) return fail(find_setting(key) ? kExitFailed : kExitUsage, edit.error().message);
    if (!edit->changed) {
      *err << "joey: note: '" << key << "' is not set in " << file.string() << "\n";
    } else if (!edit->comments_kept) {
      *err << "joey: note: rewrote " << file.string()
           << " from its parsed form; its comments were not kept\n";
    }
    return kExitOk;
  }
};

}  // namespace

void register_config_command(CLI::App& app, int& exit_code) {
  register_config_command(app, exit_code, std::cout, std::cerr);
}

void register_config_command(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err) {
  auto invocation = std::make_shared<ConfigInvocation>();
  invocation->out = &out;
  invocation->err = &err;

  CLI::App* config = app.add_subcommand("config", "Show and change joey's settings");
  config->require_subcommand(1);
  config->add_option("--cwd", invocation->cwd, "workspace directory (default: current)");

  const auto add = [&](const std::string& name, const std::string& description,
                       int (ConfigInvocation::*run)() const) {
    CLI::App* command = config->add_subcommand(name, description);
    command->fallthrough();  // --cwd may follow the subcommand
    command->callback([invocation, run, &exit_code] { exit_code = ((*invocation).*run)(); });
    return command;
  };

  CLI::App* get = add("get", "Print the value in effect for KEY", &ConfigInvocation::run_get);
  get->add_option("KEY", invocation->key, "setting, e.g. model or auto_approve.write")->required();

  CLI::App* set =
      add("set", "Set KEY to VALUE in the global (or workspace) file", &ConfigInvocation::run_set);
  set->add_option("KEY", invocation->key, "setting, e.g. model or auto_approve.write")->required();
  set->add_option("VALUE", invocation->value, "value; booleans take true/false or on/off")
      ->required();
  set->add_flag("--workspace", invocation->workspace,
                "edit <workspace>/.joey/config.toml instead of the global file");

  CLI::App* unset =
      add("unset", "Remove KEY from the global (or workspace) file", &ConfigInvocation::run_unset);
  unset->add_option("KEY", invocation->key, "setting to remove")->required();
  unset->add_flag("--workspace", invocation->workspace,
                  "edit <workspace>/.joey/config.toml instead of the global file");

  CLI::App* list = add("list", "Print every setting that has a value", &ConfigInvocation::run_list);
  list->add_flag("--show-origin", invocation->show_origin,
                 "prefix each line with where its value comes from");

  add("path", "Print the global and workspace config file paths", &ConfigInvocation::run_path);
}

}  // namespace joey::client
