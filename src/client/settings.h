// joey's layered settings. Layers, lowest first:
//   built-in defaults < $JOEY_HOME/config.toml (global) < <workspace>/.joey/config.toml
//   < environment (JOEY_PROVIDER, JOEY_MODEL, JOEY_BASE_URL, JOEY_MODE, JOEY_TELEMETRY,
//     DO_NOT_TRACK=1, JOEY_SANDBOX) < command-line flags (set_from_flag).
// Every key is in one schema (setting_schema(), documented in docs/settings.md);
// nested TOML tables map to dotted keys ([auto_approve] write = true is
// "auto_approve.write"). An unknown key, a value of the wrong type or out of range,
// and a TOML syntax error are errors naming the file, line and key — never a crash.
//
// A workspace file comes with a cloned repository, so it cannot redirect data or
// carry secrets: telemetry_host, cloud.url and any key whose last part ends in
// "key", "token", "secret" or "password" are refused there (kPermissionDenied).
//
// set_config_value/unset_config_value edit one file in place: the edited text keeps
// the other keys, comments and layout when a line-level edit reproduces exactly the
// intended document; otherwise (inline tables, unusual layouts) the file is rewritten
// from its parsed form, which drops comments. Files are written atomically, new files
// with mode 0600 (the global file is forced to 0600), directories made 0700.
//
// TOML (toml++) stays inside settings.cpp; nothing here exposes it.
// Thread-safety: a Settings object is a value; const calls may run concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/result.h"

namespace joey::client {

enum class SettingType { kBool, kInt, kFloat, kString, kStringList };

using SettingData = std::variant<bool, int64_t, double, std::string, std::vector<std::string>>;

struct SettingValue {
  SettingData data;
  // Where the value came from: "default", "<file>:<line>", "env JOEY_MODEL",
  // "flag --model".
  std::string origin;
};

// One known key.
struct SettingSpec {
  std::string key;  // dotted, e.g. "auto_approve.write"
  SettingType type = SettingType::kString;
  std::optional<SettingData> default_value;  // nullopt: unset unless a layer sets it
  std::vector<std::string> allowed;          // for strings: the only accepted values
  bool positive = false;                     // for numbers: must be > 0
  std::string doc;
};

// Which file a value comes from or goes to.
enum class ConfigScope { kGlobal, kWorkspace };

// The schema, in documentation order.
const std::vector<SettingSpec>& setting_schema();
// nullptr when `key` is not a known key.
const SettingSpec* find_setting(std::string_view key);

// True for keys a workspace file may never set (see the header comment).
bool is_forbidden_in_workspace(std::string_view key);

// Parses a value typed by a person (command line, environment) for `key`: bools
// accept true/false, on/off, yes/no, 1/0; string lists accept a TOML array
// (["a", "b"]) or comma-separated items. kInvalidArgument for an unknown key or a
// bad value, with a message naming the key.
Result<SettingData> parse_setting_text(std::string_view key, std::string_view text);

// The value as a person reads it: strings raw, lists one TOML array.
std::string format_setting_value(const SettingData& data);
// The value as TOML source text (strings quoted).
std::string setting_value_as_toml(const SettingData& data);

std::filesystem::path global_config_path(const std::filesystem::path& joey_home);
std::filesystem::path workspace_config_path(const std::filesystem::path& workspace_root);

// The variables of the process environment that settings read (for load()).
std::map<std::string, std::string> settings_environment();

class Settings {
 public:
  // Only the built-in defaults.
  static Settings defaults();

  // Defaults, then the global file (if it exists), the workspace file (if
  // `workspace_root` is given and the file exists), then `environment`. The first
  // error found is returned, naming the file and line or the variable.
  static Result<Settings> load(const std::filesystem::path& joey_home,
                               const std::optional<std::filesystem::path>& workspace_root,
                               const std::map<std::string, std::string>& environment);

  // Applies the TOML document `text`; `display_name` names it in errors and origins.
  // On error nothing of `text` has been applied.
  Status apply_file_text(std::string_view text, const std::string& display_name, ConfigScope scope);
  Status apply_environment(const std::map<std::string, std::string>& environment);
  // `flag_name` defaults to "--" + key with '_' and '.' as '-'.
  Status set_from_flag(const std::string& key, const std::string& value,
                       const std::string& flag_name = "");

  std::optional<SettingValue> get(const std::string& key) const;
  // Typed reads. A key that has no value (or is not of that type — a programmer
  // error) reads as false, 0, "" or an empty list; get_float reads as nullopt.
  bool get_bool(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  std::optional<double> get_float(const std::string& key) const;
  std::string get_string(const std::string& key) const;
  std::vector<std::string> get_strings(const std::string& key) const;

  // Every key that has a value, in schema order.
  std::vector<std::pair<std::string, SettingValue>> list() const;

 private:
  std::map<std::string, SettingValue> values_;
};

// Result of editing the text of a config file.
struct ConfigEdit {
  std::string text;
  bool changed = false;       // false: unset of a key the file does not have
  bool comments_kept = true;  // false: the file had to be rewritten from its parsed form
};

// `text` with `key` set to `data` (validated by the caller) or, when `data` is
// nullopt, removed. kInvalidArgument when `text` is not valid TOML or the key's
// parent in the file is not a table.
Result<ConfigEdit> edit_config_text(std::string_view text, const std::string& display_name,
                                    std::string_view key, const std::optional<SettingData>& data);

// Validates `key` and `value_text` against the schema and `scope`, then rewrites
// `file` atomically. kInvalidArgument for unknown keys and bad values,
// kPermissionDenied for keys `scope` may not set, kIo when the file cannot be written.
Result<ConfigEdit> set_config_value(const std::filesystem::path& file, ConfigScope scope,
                                    std::string_view key, std::string_view value_text);
// Removes `key` from `file` (any key present in the file, so that a stray key can be
// cleaned up). changed is false when the file does not set it.
Result<ConfigEdit> unset_config_value(const std::filesystem::path& file, ConfigScope scope,
                                      std::string_view key);

}  // namespace joey::client
