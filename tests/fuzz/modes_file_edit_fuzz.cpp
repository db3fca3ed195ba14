// Arbitrary bytes as a modes file a mode is installed into and removed from
// (client/marketplace.h): a workspace's .joey/modes.yaml can arrive with a cloned
// repository. The edit works on the file's own text and must not crash; when the install
// succeeds, the file reads back as a modes list holding the mode, and removing it succeeds.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "../support/temp_dir.h"
#include "base/atomic_file.h"
#include "client/marketplace.h"

namespace {

const joey::client::MarketplaceItem& mode_item() {
  static const joey::client::MarketplaceItem item = [] {
    joey::Result<std::vector<joey::client::MarketplaceItem>> items =
        joey::client::parse_marketplace_catalog(
            "items:\n  - id: fuzz-mode\n    type: mode\n    name: Fuzz\n    description: d\n"
            "    content: |\n      slug: fuzz-mode\n      name: Fuzz\n"
            "      roleDefinition: \"You test.\\nTwo lines.\"\n      groups: [read]\n",
            "modes");
    if (!items.ok() || items->empty()) abort();
    return items->front();
  }();
  return item;
}

const std::filesystem::path& modes_file() {
  static const std::filesystem::path file =
      joey::testing::make_temp_dir("joey-modes-fuzz") / "modes.yaml";
  return file;
}

bool holds_mode(const std::string& text) {
  try {
    const YAML::Node document = YAML::Load(text);
    for (const YAML::Node& mode : document["customModes"]) {
      if (mode.IsMap() && mode["slug"] && mode["slug"].IsScalar() &&
          mode["slug"].Scalar() == "fuzz-mode") {
        return true;
      }
    }
  } catch (const YAML::Exception&) {
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::filesystem::path& file = modes_file();
  if (!joey::write_file_atomically(file, input).ok()) return 0;
  const joey::client::MarketplaceItem& item = mode_item();
  if (!joey::client::install_marketplace_item(item, 0, {}, file, true).ok()) return 0;
  joey::Result<std::string> written = joey::read_file_to_string(file);
  if (!written.ok() || !holds_mode(*written)) abort();
  if (!joey::client::remove_marketplace_item(item, file).ok()) abort();
  return 0;
}
