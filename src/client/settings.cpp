// The only file of joey that includes toml++: parsing, validating and editing
// config.toml files, plus the schema and the layering of settings.h.
#include "client/settings.h"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <system_error>

#include "base/atomic_file.h"
#include "base/paths.h"
#include "base/strings.h"
#include "llm/provider.h"

namespace joey::client {
namespace {

constexpr unsigned kConfigFileMode = 0600;

using Strings = std::vector<std::string>;

SettingSpec spec(std::string key, SettingType type, std::optional<SettingData> default_value,
                 std::string doc, Strings allowed = {}, bool positive = false) {
  return SettingSpec{std::move(key),     type,     std::move(default_value),
                     std::move(allowed), positive, std::move(doc)};
}

std::vector<SettingSpec> build_schema() {
  using T = SettingType;
  return {
      spec("provider", T::kString, std::nullopt,
           "Model provider: openai, anthropic, openrouter, openai-compatible, ollama, lmstudio"),
      spec("model", T::kString, std::nullopt, "Model id, e.g. gpt-4.1 or claude-sonnet-4-5"),
      spec("base_url", T::kString, std::nullopt, "Override the provider's API base URL"),
      spec("mode", T::kString, std::string("code"), "Mode a task starts in (slug)"),
      spec("telemetry", T::kBool, true, "Send anonymous usage telemetry"),
      spec("telemetry_host", T::kString, std::nullopt,
           "Where telemetry goes (global file, environment or flags only)"),
      spec("tls.ca_cert", T::kString, std::nullopt,
           "PEM CA certificate trusted besides the system store (global file, environment or "
           "flags only)"),
      spec("cloud.url", T::kString, std::nullopt,
           "joey Cloud URL (global file, environment or flags only)"),
      spec("max_requests", T::kInt, int64_t{100}, "Most model requests one task may make", {},
           true),
      spec("max_cost", T::kFloat, std::nullopt, "Most a task may spend, in USD", {}, true),
      spec("output", T::kString, std::string("text"), "Output of joey run: text or json",
           {"text", "json"}),
      spec("auto_approve.read", T::kBool, true, "Approve reads inside the workspace"),
      spec("auto_approve.write", T::kBool, false, "Approve writes inside the workspace"),
      spec("auto_approve.command", T::kBool, false, "Approve commands the lists allow"),
      spec("auto_approve.mcp", T::kBool, false, "Approve MCP tool calls"),
      spec("auto_approve.mode_switch", T::kBool, false, "Approve switch_mode"),
      spec("auto_approve.subtasks", T::kBool, false, "Approve new_task"),
      spec("commands.allowed", T::kStringList, Strings{}, "Command prefixes that may run"),
      spec("commands.denied", T::kStringList, Strings{}, "Command prefixes that never run"),
      spec("sandbox.enabled", T::kBool, false, "Run commands under bubblewrap"),
      spec("sandbox.network", T::kBool, false, "Let sandboxed commands reach the network"),
      spec("hooks.pre_tool", T::kString, std::nullopt,
           "Command run before each tool call; non-zero exit refuses the call"),
      spec("hooks.post_tool", T::kString, std::nullopt, "Command run after each tool call"),
      spec("hooks.on_complete", T::kString, std::nullopt, "Command run when a task completes"),
      spec("context.window_tokens", T::kInt, std::nullopt,
           "Override the model's context window, in tokens", {}, true),
  };
}

// Variable -> key, in the order they are applied (DO_NOT_TRACK after JOEY_TELEMETRY).
const std::vector<std::pair<std::string, std::string>>& environment_keys() {
  static const std::vector<std::pair<std::string, std::string>> kKeys = {
      {"JOEY_PROVIDER", "provider"},   {"JOEY_MODEL", "model"},
      {"JOEY_BASE_URL", "base_url"},   {"JOEY_MODE", "mode"},
      {"JOEY_TELEMETRY", "telemetry"}, {"JOEY_SANDBOX", "sandbox.enabled"},
  };
  return kKeys;
}

Error invalid(std::string message) {
  return make_error(ErrorKind::kInvalidArgument, std::move(message));
}

std::string in_quotes(std::string_view key) { return "'" + std::string(key) + "'"; }

std::string type_expectation(const SettingSpec& setting) {
  switch (setting.type) {
    case SettingType::kBool:
      return "expects true or false";
    case SettingType::kInt:
      return setting.positive ? "expects a whole number greater than 0" : "expects a whole number";
    case SettingType::kFloat:
      return setting.positive ? "expects a number greater than 0" : "expects a number";
    case SettingType::kString:
      return "expects a string";
    case SettingType::kStringList:
      return "expects a list of strings";
  }
  return "has a value of the wrong type";
}

// Range, enum and provider checks shared by files, environment and flags.
Status check_value(const SettingSpec& setting, const SettingData& data) {
  if (setting.positive) {
    const bool bad = std::holds_alternative<int64_t>(data) ? std::get<int64_t>(data) <= 0
                     : std::holds_alternative<double>(data)
                         ? !(std::get<double>(data) > 0) || !std::isfinite(std::get<double>(data))
                         : false;
    if (bad) return invalid(in_quotes(setting.key) + " " + type_expectation(setting));
  }
  if (const auto* text = std::get_if<std::string>(&data)) {
    if (!setting.allowed.empty() &&
        std::find(setting.allowed.begin(), setting.allowed.end(), *text) == setting.allowed.end()) {
      std::string choices;
      for (const auto& choice : setting.allowed) choices += (choices.empty() ? "" : ", ") + choice;
      return invalid(in_quotes(setting.key) + " must be one of " + choices + ", not '" + *text +
                     "'");
    }
    if (setting.key == "provider") {
      auto provider = llm::find_provider(*text);
      if (!provider.ok()) return invalid(in_quotes(setting.key) + ": " + provider.error().message);
    }
  }
  return ok_status();
}

// A toml++ node as the type `setting` wants; nullopt when it is of another type.
std::optional<SettingData> data_from_node(const SettingSpec& setting, const toml::node& node) {
  switch (setting.type) {
    case SettingType::kBool:
      if (const auto* value = node.as_boolean()) return SettingData(value->get());
      return std::nullopt;
    case SettingType::kInt:
      if (const auto* value = node.as_integer()) return SettingData(value->get());
      return std::nullopt;
    case SettingType::kFloat:
      if (const auto* value = node.as_floating_point()) return SettingData(value->get());
      if (const auto* value = node.as_integer()) {
        return SettingData(static_cast<double>(value->get()));
      }
      return std::nullopt;
    case SettingType::kString:
      if (const auto* value = node.as_string()) return SettingData(value->get());
      return std::nullopt;
    case SettingType::kStringList: {
      const auto* array = node.as_array();
      if (!array) return std::nullopt;
      Strings items;
      for (const auto& item : *array) {
        const auto* text = item.as_string();
        if (!text) return std::nullopt;
        items.push_back(text->get());
      }
      return SettingData(std::move(items));
    }
  }
  return std::nullopt;
}

void assign_in_table(toml::table& table, const std::string& name, const SettingData& data) {
  std::visit(
      [&](const auto& value) {
        using V = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<V, Strings>) {
          toml::array array;
          for (const auto& item : value) array.push_back(item);
          table.insert_or_assign(name, std::move(array));
        } else {
          table.insert_or_assign(name, value);
        }
      },
      data);
}

bool is_prefix_of_known_key(std::string_view prefix) {
  for (const auto& setting : setting_schema()) {
    if (setting.key.size() > prefix.size() && setting.key.starts_with(prefix) &&
        setting.key[prefix.size()] == '.') {
      return true;
    }
  }
  return false;
}

std::string syntax_error(const toml::parse_error& error, const std::string& display_name) {
  const auto& begin = error.source().begin;
  std::string message = display_name + ":" + std::to_string(begin.line) + ":" +
                        std::to_string(begin.column) + ": " + std::string(error.description());
  if (error.description().find("could not determine value type") != std::string_view::npos) {
    message += " (strings need quotes; booleans are true or false)";
  }
  return message;
}

Result<toml::table> parse_toml(std::string_view text, const std::string& display_name) {
  try {
    return toml::parse(text, std::string_view(display_name));
  } catch (const toml::parse_error& error) {
    return invalid(syntax_error(error, display_name));
  } catch (const std::exception& error) {
    return invalid(display_name + ": " + error.what());
  }
}

// Collects the leaf values of a parsed file as dotted keys, checking every key.
class FileReader {
 public:
  FileReader(const std::string& display_name, ConfigScope scope,
             std::map<std::string, SettingValue>& out)
      : display_name_(display_name), scope_(scope), out_(out) {}

  Status read_table(const toml::table& table, const std::string& prefix) {
    for (const auto& [name, node] : table) {
      const std::string key =
          prefix.empty() ? std::string(name.str()) : prefix + "." + std::string(name.str());
      const std::string where =
          display_name_ + ":" + std::to_string(name.source().begin.line) + ": ";
      if (const auto* child = node.as_table(); child && !find_setting(key)) {
        // Unknown tables are walked too, so that a secret in a workspace file is
        // reported as such rather than as an unknown key.
        if (!is_prefix_of_known_key(key) && child->empty()) {
          return invalid(where + "unknown setting table " + in_quotes(key));
        }
        TRY(read_table(*child, key));
        continue;
      }
      TRY(read_leaf(key, node, where, name.source().begin.line));
    }
    return ok_status();
  }

 private:
  Status read_leaf(const std::string& key, const toml::node& node, const std::string& where,
                   uint32_t line) {
    if (scope_ == ConfigScope::kWorkspace && is_forbidden_in_workspace(key)) {
      return make_error(ErrorKind::kPermissionDenied,
                        where + in_quotes(key) +
                            " cannot be set in a workspace file; set it with `joey config set " +
                            key + " …` (global)");
    }
    const SettingSpec* setting = find_setting(key);
    if (!setting) {
      if (is_prefix_of_known_key(key)) {
        return invalid(where + in_quotes(key) + " is a table of settings, not a value");
      }
      return invalid(where + "unknown setting " + in_quotes(key) +
                     " (`joey config list` shows the known ones)");
    }
    auto data = data_from_node(*setting, node);
    if (!data) return invalid(where + in_quotes(key) + " " + type_expectation(*setting));
    if (auto checked = check_value(*setting, *data); !checked.ok()) {
      return invalid(where + checked.error().message);
    }
    out_[key] = SettingValue{std::move(*data), display_name_ + ":" + std::to_string(line)};
    return ok_status();
  }

  const std::string& display_name_;
  ConfigScope scope_;
  std::map<std::string, SettingValue>& out_;
};

bool parse_bool_text(std::string_view text, bool& out) {
  for (const char* yes : {"true", "on", "yes", "1"}) {
    if (ascii_iequals(text, yes)) return out = true, true;
  }
  for (const char* no : {"false", "off", "no", "0"}) {
    if (ascii_iequals(text, no)) return out = false, true;
  }
  return false;
}

Result<Strings> parse_list_text(const SettingSpec& setting, std::string_view text) {
  text = trim(text);
  Strings items;
  if (text.starts_with("[")) {
    auto table = parse_toml("value = " + std::string(text), "value");
    if (!table.ok()) return invalid(in_quotes(setting.key) + ": " + table.error().message);
    auto data = data_from_node(setting, *table->get("value"));
    if (!data) return invalid(in_quotes(setting.key) + " " + type_expectation(setting));
    return std::get<Strings>(std::move(*data));
  }
  while (!text.empty()) {
    const auto comma = text.find(',');
    const auto item = trim(text.substr(0, comma));
    if (!item.empty()) items.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return items;
}

std::vector<std::string> split_key(std::string_view key) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    parts.emplace_back(key.substr(start, dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

}  // namespace

const std::vector<SettingSpec>& setting_schema() {
  static const std::vector<SettingSpec> kSchema = build_schema();
  return kSchema;
}

const SettingSpec* find_setting(std::string_view key) {
  for (const auto& setting : setting_schema()) {
    if (setting.key == key) return &setting;
  }
  return nullptr;
}

// A workspace file arrives with a cloned repository: it may narrow what joey does but
// never redirect data, run commands of its own or approve anything.
bool is_forbidden_in_workspace(std::string_view key) {
  for (std::string_view forbidden :
       {"telemetry", "telemetry_host", "cloud.url", "tls.ca_cert", "base_url", "commands.allowed",
        "sandbox.enabled", "sandbox.network"}) {
    if (key == forbidden) return true;
  }
  if (key.starts_with("hooks.")) return true;
  if (key.starts_with("auto_approve.") && key != "auto_approve.read") return true;
  const auto dot = key.rfind('.');
  const std::string_view last = dot == std::string_view::npos ? key : key.substr(dot + 1);
  for (std::string_view ending : {"key", "token", "secret", "password"}) {
    if (last.size() >= ending.size() &&
        ascii_iequals(last.substr(last.size() - ending.size()), ending)) {
      return true;
    }
  }
  return false;
}

Result<SettingData> parse_setting_text(std::string_view key, std::string_view text) {
  const SettingSpec* setting = find_setting(key);
  if (!setting) {
    return invalid("unknown setting " + in_quotes(key) +
                   " (`joey config list` shows the known ones)");
  }
  const auto bad = [&] {
    return invalid(in_quotes(key) + " " + type_expectation(*setting) + ", not '" +
                   std::string(text) + "'");
  };
  SettingData data;
  switch (setting->type) {
    case SettingType::kBool: {
      bool value = false;
      if (!parse_bool_text(trim(text), value)) {
        return invalid(in_quotes(key) + " expects true or false (or on/off, yes/no, 1/0), not '" +
                       std::string(text) + "'");
      }
      data = value;
      break;
    }
    case SettingType::kInt: {
      const auto digits = trim(text);
      int64_t value = 0;
      const auto [end, error] =
          std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (digits.empty() || error != std::errc() || end != digits.data() + digits.size()) {
        return bad();
      }
      data = value;
      break;
    }
    case SettingType::kFloat: {
      const auto digits = trim(text);
      double value = 0;
      const auto [end, error] =
          std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() ||
          !std::isfinite(value)) {
        return bad();
      }
      data = value;
      break;
    }
    case SettingType::kString:
      data = std::string(text);
      break;
    case SettingType::kStringList:
      data = TRY(parse_list_text(*setting, text));
      break;
  }
  if (auto checked = check_value(*setting, data); !checked.ok()) {
    return invalid(checked.error().message + ", not '" + std::string(text) + "'");
  }
  return data;
}

std::string setting_value_as_toml(const SettingData& data) {
  std::ostringstream out;
  std::visit(
      [&out](const auto& value) {
        using V = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<V, Strings>) {
          toml::array array;
          for (const auto& item : value) array.push_back(item);
          out << array;
        } else {
          out << toml::value<V>(value);
        }
      },
      data);
  return out.str();
}

std::string format_setting_value(const SettingData& data) {
  if (const auto* text = std::get_if<std::string>(&data)) return *text;
  return setting_value_as_toml(data);
}

std::filesystem::path global_config_path(const std::filesystem::path& joey_home) {
  return joey_home / "config.toml";
}

std::filesystem::path workspace_config_path(const std::filesystem::path& workspace_root) {
  return workspace_root / ".joey" / "config.toml";
}

std::map<std::string, std::string> settings_environment() {
  std::map<std::string, std::string> environment;
  for (const auto& [variable, key] : environment_keys()) {
    if (const char* value = std::getenv(variable.c_str())) environment[variable] = value;
  }
  if (const char* value = std::getenv("DO_NOT_TRACK")) environment["DO_NOT_TRACK"] = value;
  return environment;
}

Settings Settings::defaults() {
  Settings settings;
  for (const auto& setting : setting_schema()) {
    if (setting.default_value) {
      settings.values_[setting.key] = SettingValue{*setting.default_value, "default"};
    }
  }
  return settings;
}

Result<Settings> Settings::load(const std::filesystem::path& joey_home,
                                const std::optional<std::filesystem::path>& workspace_root,
                                const std::map<std::string, std::string>& environment) {
  Settings settings = defaults();
  std::vector<std::pair<std::filesystem::path, ConfigScope>> files = {
      {global_config_path(joey_home), ConfigScope::kGlobal}};
  if (workspace_root) {
    files.emplace_back(workspace_config_path(*workspace_root), ConfigScope::kWorkspace);
  }
  for (const auto& [path, scope] : files) {
    auto text = read_file_to_string(path);
    if (!text.ok() && text.error().kind == ErrorKind::kNotFound) continue;
    if (!text.ok()) return text.error().with_context("reading " + path.string());
    TRY(settings.apply_file_text(*text, path.string(), scope));
  }
  TRY(settings.apply_environment(environment));
  return settings;
}

Status Settings::apply_file_text(std::string_view text, const std::string& display_name,
                                 ConfigScope scope) {
  const toml::table table = TRY(parse_toml(text, display_name));
  std::map<std::string, SettingValue> read;
  FileReader reader(display_name, scope, read);
  TRY(reader.read_table(table, ""));
  for (auto& [key, value] : read) values_[key] = std::move(value);
  return ok_status();
}

Status Settings::apply_environment(const std::map<std::string, std::string>& environment) {
  for (const auto& [variable, key] : environment_keys()) {
    const auto found = environment.find(variable);
    if (found == environment.end() || found->second.empty()) continue;
    auto data = parse_setting_text(key, found->second);
    if (!data.ok()) return data.error().with_context("environment variable " + variable);
    values_[key] = SettingValue{std::move(*data), "env " + variable};
  }
  const auto do_not_track = environment.find("DO_NOT_TRACK");
  if (do_not_track != environment.end() && do_not_track->second == "1") {
    values_["telemetry"] = SettingValue{false, "env DO_NOT_TRACK"};
  }
  return ok_status();
}

Status Settings::set_from_flag(const std::string& key, const std::string& value,
                               const std::string& flag_name) {
  std::string name = flag_name;
  if (name.empty()) {
    name = "--" + key;
    std::replace_if(
        name.begin(), name.end(), [](char c) { return c == '_' || c == '.'; }, '-');
  }
  auto data = parse_setting_text(key, value);
  if (!data.ok()) return data.error().with_context(name);
  values_[key] = SettingValue{std::move(*data), "flag " + name};
  return ok_status();
}

std::optional<SettingValue> Settings::get(const std::string& key) const {
  const auto found = values_.find(key);
  if (found == values_.end()) return std::nullopt;
  return found->second;
}

namespace {
template <typename V>
const V* typed(const std::map<std::string, SettingValue>& values, const std::string& key) {
  const auto found = values.find(key);
  return found == values.end() ? nullptr : std::get_if<V>(&found->second.data);
}
}  // namespace

bool Settings::get_bool(const std::string& key) const {
  const bool* value = typed<bool>(values_, key);
  return value && *value;
}
int64_t Settings::get_int(const std::string& key) const {
  const int64_t* value = typed<int64_t>(values_, key);
  return value ? *value : 0;
}
std::optional<double> Settings::get_float(const std::string& key) const {
  const double* value = typed<double>(values_, key);
  return value ? std::optional<double>(*value) : std::nullopt;
}
std::string Settings::get_string(const std::string& key) const {
  const std::string* value = typed<std::string>(values_, key);
  return value ? *value : std::string();
}
std::vector<std::string> Settings::get_strings(const std::string& key) const {
  const Strings* value = typed<Strings>(values_, key);
  return value ? *value : Strings();
}

std::vector<std::pair<std::string, SettingValue>> Settings::list() const {
  std::vector<std::pair<std::string, SettingValue>> entries;
  for (const auto& setting : setting_schema()) {
    if (auto value = get(setting.key)) entries.emplace_back(setting.key, std::move(*value));
  }
  return entries;
}

// ---- Editing config files -------------------------------------------------------

namespace {

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    const auto newline = text.find('\n', start);
    if (newline == std::string_view::npos) {
      lines.emplace_back(text.substr(start));
      break;
    }
    lines.emplace_back(text.substr(start, newline - start));
    start = newline + 1;
  }
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// The table holding the key's last part, walking (and with `create`, making) the
// tables before it. nullptr when a table on the way is missing.
Result<toml::table*> parent_table(toml::table& root, const std::vector<std::string>& parts,
                                  bool create, const std::string& display_name) {
  toml::table* table = &root;
  std::string path;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    path += (path.empty() ? "" : ".") + parts[i];
    toml::node* node = table->get(parts[i]);
    if (!node) {
      if (!create) return static_cast<toml::table*>(nullptr);
      node = table->insert(parts[i], toml::table()).first->second.as_table();
    }
    table = node->as_table();
    if (!table) {
      return invalid(display_name + ": " + in_quotes(path) +
                     " is a value, not a table; unset it first");
    }
  }
  return table;
}

uint32_t last_line_of(const toml::table& table) {
  uint32_t last = 0;
  for (const auto& [name, node] : table) {
    last = std::max({last, name.source().begin.line, node.source().end.line});
  }
  return last;
}

// The text edited line by line: a changed line in place, a removed key's lines cut,
// a new key after its table's last line (or in a new [table] at the end). nullopt
// when the layout is not one this handles; the caller verifies the result anyway.
std::optional<std::string> edit_lines(std::string_view text, const toml::table& original,
                                      const std::vector<std::string>& parts,
                                      const std::optional<SettingData>& data) {
  std::vector<std::string> lines = split_lines(text);
  const toml::table* parent = &original;
  for (size_t i = 0; parent && i + 1 < parts.size(); ++i) {
    const toml::node* node = parent->get(parts[i]);
    parent = node ? node->as_table() : nullptr;
  }
  const std::string literal = data ? setting_value_as_toml(*data) : "";
  if (parent) {
    if (parent->is_inline()) return std::nullopt;
    const auto found = parent->find(parts.back());
    if (found != parent->end()) {
      const uint32_t first = found->first.source().begin.line;
      const auto& end = found->second.source().end;
      if (first == 0 || end.line < first || end.line > lines.size()) return std::nullopt;
      const auto erase_begin = lines.begin() + (first - 1);
      const auto erase_end = lines.begin() + end.line;
      if (!data) {
        lines.erase(erase_begin, erase_end);
        return join_lines(lines);
      }
      const std::string& line = lines[first - 1];
      const auto equals = line.find('=');
      if (equals == std::string::npos) return std::nullopt;
      std::string suffix;  // a trailing comment on a one-line value
      if (end.line == first && is_ascii(line) && end.column >= 1 && end.column - 1 <= line.size()) {
        suffix = line.substr(end.column - 1);
      }
      std::string replacement = line.substr(0, equals) + "= " + literal + suffix;
      lines.erase(erase_begin, erase_end);
      lines.insert(lines.begin() + (first - 1), std::move(replacement));
      return join_lines(lines);
    }
    if (!data) return std::string(text);
    if (parts.size() == 1) {
      // Before the first table: every line there belongs to the root table.
      uint32_t first_table_line = 0;
      for (const auto& [name, node] : original) {
        if (node.is_table() && !node.as_table()->is_inline()) {
          const uint32_t line = name.source().begin.line;
          if (line > 0 && (first_table_line == 0 || line < first_table_line)) {
            first_table_line = line;
          }
        }
      }
      const std::string new_line = parts.back() + " = " + literal;
      if (first_table_line == 0 || first_table_line > lines.size() + 1) {
        lines.push_back(new_line);
      } else {
        lines.insert(lines.begin() + (first_table_line - 1), new_line);
      }
      return join_lines(lines);
    }
    // The parent's key line: a [header] (add the bare last part) or a dotted key at
    // the root (add the full dotted key).
    const toml::table* grandparent = &original;
    for (size_t i = 0; i + 2 < parts.size(); ++i) {
      grandparent = grandparent->get(parts[i])->as_table();
    }
    const uint32_t parent_line =
        grandparent->find(parts[parts.size() - 2])->first.source().begin.line;
    if (parent_line == 0 || parent_line > lines.size()) return std::nullopt;
    const bool header = trim(lines[parent_line - 1]).starts_with("[");
    std::string dotted;
    for (const auto& part : parts) dotted += (dotted.empty() ? "" : ".") + part;
    const std::string new_line = (header ? parts.back() : dotted) + " = " + literal;
    const uint32_t after = std::max(parent_line, last_line_of(*parent));
    if (after > lines.size()) return std::nullopt;
    lines.insert(lines.begin() + after, new_line);
    return join_lines(lines);
  }
  if (!data) return std::string(text);
  std::string header;
  for (size_t i = 0; i + 1 < parts.size(); ++i) header += (header.empty() ? "" : ".") + parts[i];
  if (!lines.empty() && !trim(lines.back()).empty()) lines.emplace_back();
  lines.push_back("[" + header + "]");
  lines.push_back(parts.back() + " = " + literal);
  return join_lines(lines);
}

Status write_config_file(const std::filesystem::path& file, ConfigScope scope,
                         const std::string& text) {
  TRY(ensure_private_dir(file.parent_path()));
  TRY(write_file_atomically(file, text, /*create_directories=*/false, kConfigFileMode));
  if (scope == ConfigScope::kGlobal) {
    std::error_code error;
    std::filesystem::permissions(file, static_cast<std::filesystem::perms>(kConfigFileMode), error);
    if (error) {
      return make_error(ErrorKind::kIo,
                        "setting mode 0600 on " + file.string() + ": " + error.message());
    }
  }
  return ok_status();
}

Result<std::string> read_config_file(const std::filesystem::path& file) {
  auto text = read_file_to_string(file);
  if (!text.ok() && text.error().kind == ErrorKind::kNotFound) return std::string();
  if (!text.ok()) return text.error().with_context("reading " + file.string());
  return std::move(*text);
}

}  // namespace

Result<ConfigEdit> edit_config_text(std::string_view text, const std::string& display_name,
                                    std::string_view key, const std::optional<SettingData>& data) {
  const std::vector<std::string> parts = split_key(key);
  if (std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); })) {
    return invalid("malformed key " + in_quotes(key));
  }
  const toml::table original = TRY(parse_toml(text, display_name));
  toml::table expected = original;
  toml::table* parent = TRY(parent_table(expected, parts, data.has_value(), display_name));
  if (!data) {
    if (!parent || parent->erase(parts.back()) == 0) {
      return ConfigEdit{std::string(text), /*changed=*/false, /*comments_kept=*/true};
    }
  } else {
    assign_in_table(*parent, parts.back(), *data);
  }
  if (auto edited = edit_lines(text, original, parts, data)) {
    try {
      if (toml::parse(*edited, std::string_view(display_name)) == expected) {
        return ConfigEdit{std::move(*edited), true, true};
      }
    } catch (const std::exception&) {
      // The line edit produced something else than intended; rewrite instead.
    }
  }
  std::ostringstream rewritten;
  rewritten << expected << "\n";
  return ConfigEdit{rewritten.str(), true, text.find('#') == std::string_view::npos};
}

Result<ConfigEdit> set_config_value(const std::filesystem::path& file, ConfigScope scope,
                                    std::string_view key, std::string_view value_text) {
  if (scope == ConfigScope::kWorkspace && is_forbidden_in_workspace(key)) {
    return make_error(ErrorKind::kPermissionDenied,
                      file.string() + ": " + in_quotes(key) +
                          " cannot be set in a workspace file; set it with `joey config set " +
                          std::string(key) + " …` (global)");
  }
  const SettingData data = TRY(parse_setting_text(key, value_text));
  const std::string text = TRY(read_config_file(file));
  ConfigEdit edit = TRY(edit_config_text(text, file.string(), key, data));
  TRY(write_config_file(file, scope, edit.text));
  return edit;
}

Result<ConfigEdit> unset_config_value(const std::filesystem::path& file, ConfigScope scope,
                                      std::string_view key) {
  const std::string text = TRY(read_config_file(file));
  ConfigEdit edit = TRY(edit_config_text(text, file.string(), key, std::nullopt));
  if (!edit.changed) {
    if (!find_setting(key)) {
      return invalid("unknown setting " + in_quotes(key) +
                     " (`joey config list` shows the known ones)");
    }
    return edit;
  }
  TRY(write_config_file(file, scope, edit.text));
  return edit;
}

}  // namespace joey::client
