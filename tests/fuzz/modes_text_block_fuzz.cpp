// Arbitrary text as a marketplace mode's role definition and custom instructions,
// installed into a modes file (client/marketplace.h). Installing writes a mode's long
// texts as YAML blocks (`|-`, `>-`) when they read back as themselves, else quoted: either
// way, an install that succeeds must leave a file whose mode holds the item's very texts,
// and removing it must succeed. The input's first half is the role, the rest the
// instructions.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include <yaml-cpp/yaml.h>

#include "../support/temp_dir.h"
#include "agent/modes.h"
#include "base/atomic_file.h"
#include "client/marketplace.h"

namespace {

const std::filesystem::path& modes_file() {
  static const std::filesystem::path file =
      joey::testing::make_temp_dir("joey-blocks-fuzz") / "modes.yaml";
  return file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::string role = input.substr(0, size / 2);
  const std::string instructions = input.substr(size / 2);
  if (role.empty()) return 0;  // joey requires a role definition

  // The mode as a catalog item carries it: YAML text, written by yaml-cpp.
  YAML::Emitter content;
  content << YAML::BeginMap << YAML::Key << "slug" << YAML::Value << "fuzz-mode" << YAML::Key
          << "name" << YAML::Value << "Fuzz" << YAML::Key << "roleDefinition" << YAML::Value << role
          << YAML::Key << "customInstructions" << YAML::Value << instructions << YAML::Key
          << "groups" << YAML::Value << YAML::Flow << YAML::BeginSeq << "read" << YAML::EndSeq
          << YAML::EndMap;
  if (!content.good()) return 0;
  // What the item says, as joey reads it (yaml-cpp's writing of odd bytes may differ from
  // the input): the install must keep exactly that.
  std::string expected_role;
  std::string expected_instructions;
  try {
    const YAML::Node mode = YAML::Load(content.c_str());
    // A null (yaml-cpp writes a lone "\r" so that it reads back as one) is no text.
    const auto text = [](const YAML::Node& node) {
      return node.IsNull() ? std::string() : node.as<std::string>();
    };
    expected_role = text(mode["roleDefinition"]);
    expected_instructions = text(mode["customInstructions"]);
  } catch (const YAML::Exception&) {
    return 0;
  }
  joey::client::MarketplaceItem item;
  item.id = "fuzz-mode";
  item.type = "mode";
  item.name = "Fuzz";
  item.content = content.c_str();

  const std::filesystem::path& file = modes_file();
  std::error_code ignored;
  std::filesystem::remove(file, ignored);
  if (!joey::client::install_marketplace_item(item, 0, {}, file, false).ok()) return 0;
  joey::Result<std::string> written = joey::read_file_to_string(file);
  if (!written.ok()) abort();
  joey::Result<std::vector<joey::agent::Mode>> modes =
      joey::agent::parse_modes_text(*written, file.string());
  if (!modes.ok() || modes->size() != 1) abort();
  if (modes->front().role_definition != expected_role ||
      modes->front().custom_instructions != expected_instructions) {
    abort();
  }
  if (!joey::client::remove_marketplace_item(item, file).ok()) abort();
  return 0;
}
