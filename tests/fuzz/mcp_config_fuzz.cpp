// Arbitrary bytes as an mcp.json (client/mcp_config.h) — a cloned repository's
// .joey/mcp.json is outside input. Parsed as a project file; every server it yields is
// resolved with an environment that lacks most variables. Nothing may crash.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "client/mcp_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  joey::Result<std::vector<joey::client::McpServerEntry>> servers =
      joey::client::parse_mcp_file(input, "/w/.joey/mcp.json", joey::client::McpScope::kProject);
  if (!servers.ok()) return 0;
  const std::map<std::string, std::string> environment = {{"HOME", "/home/u"}, {"T", "x"}};
  for (const joey::client::McpServerEntry& entry : *servers) {
    (void)joey::client::resolve_launch(entry, environment);
  }
  return 0;
}
