// Loads settings from arbitrary TOML text (as a global and as a workspace file), and
// edits it: the first byte picks a key of the schema. Checks that a successful set
// yields a document that parses, holds the value, and accepts an unset of the key.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "client/settings.h"

namespace {

using joey::client::ConfigScope;
using joey::client::SettingData;
using joey::client::Settings;
using joey::client::SettingType;

SettingData sample_value(SettingType type) {
  switch (type) {
    case SettingType::kBool:
      return true;
    case SettingType::kInt:
      return int64_t{7};
    case SettingType::kFloat:
      return 1.5;
    case SettingType::kString:
      return std::string("text");
    case SettingType::kStringList:
      return std::vector<std::string>{"git status", "a'b\"c"};
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto& schema = joey::client::setting_schema();
  const auto& setting = schema[data[0] % schema.size()];
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  Settings global = Settings::defaults();
  const bool global_ok = global.apply_file_text(text, "fuzz.toml", ConfigScope::kGlobal).ok();
  Settings workspace = Settings::defaults();
  (void)workspace.apply_file_text(text, "fuzz.toml", ConfigScope::kWorkspace);

  const SettingData value =
      setting.key == "provider" ? SettingData(std::string("openai")) : sample_value(setting.type);
  auto edit = joey::client::edit_config_text(text, "fuzz.toml", setting.key, value);
  if (!edit.ok()) return 0;
  Settings edited = Settings::defaults();
  const bool edited_ok = edited.apply_file_text(edit->text, "fuzz.toml", ConfigScope::kGlobal).ok();
  if (global_ok && !edited_ok) std::abort();  // a valid file stays valid
  if (edited_ok && (!edited.get(setting.key) || edited.get(setting.key)->data != value)) {
    std::abort();
  }
  auto unset = joey::client::edit_config_text(edit->text, "fuzz.toml", setting.key, std::nullopt);
  if (!unset.ok() || !unset->changed) std::abort();
  return 0;
}
