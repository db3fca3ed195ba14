// Arbitrary bytes as a marketplace catalog the agent downloaded (client/marketplace.h):
// parsed as modes and as MCP servers, searched, and every MCP template filled. Nothing
// may crash, and a filled JSON template's values never break out of their strings.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "client/marketplace.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (const char* type : {"modes", "mcps"}) {
    joey::Result<std::vector<joey::client::MarketplaceItem>> items =
        joey::client::parse_marketplace_catalog(input, type);
    if (!items.ok()) continue;
    (void)joey::client::search_marketplace(*items, "a b");
    for (const joey::client::MarketplaceItem& item : *items) {
      std::map<std::string, std::string> values;
      for (const auto& parameter : item.parameters) values[parameter.key] = "\"}{\\";
      (void)joey::client::fill_marketplace_template(item.content, item.parameters, values, true);
    }
  }
  return 0;
}
