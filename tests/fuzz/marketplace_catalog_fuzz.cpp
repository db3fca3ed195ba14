// Fuzzes the marketplace catalog validator (cloud/marketplace.h) with arbitrary bytes, as
// a modes file and as an MCP file. Any crash, sanitizer report, hang or uncaught
// exception is a bug; errors are expected and fine. The contract checked on what it
// accepts: ids are kebab-case and unique, the ETag is the strong "sha256-…" form, every
// MCP template's placeholders are well-formed, and — differentially — every accepted mode
// is also accepted by joey's own mode loader (agent/modes.h), so nothing the marketplace
// serves fails to install.
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "agent/modes.h"
#include "cloud/marketplace.h"

namespace {

void check_ids(const joey::cloud::CatalogFile& file) {
  std::set<std::string> seen;
  for (const std::string& id : file.ids) {
    if (id.empty() || !seen.insert(id).second) __builtin_trap();
    for (char c : id) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) __builtin_trap();
    }
  }
  if (file.etag.size() != 2 + 7 + 64 || file.etag.rfind("\"sha256-", 0) != 0) __builtin_trap();
}

// Every accepted mode loads with joey's loader as the single entry of a modes file.
void check_modes_load(const std::string& body) {
  const YAML::Node root = YAML::Load(body);
  for (const YAML::Node& item : root["items"]) {
    YAML::Node file;
    file["customModes"].push_back(YAML::Load(item["content"].Scalar()));
    YAML::Emitter out;
    out << file;
    auto modes = joey::agent::parse_modes_text(out.c_str(), "fuzz-mode.yaml");
    if (!modes.ok() || modes->size() != 1 || (*modes)[0].slug != item["id"].Scalar()) {
      __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto modes =
      joey::cloud::parse_catalog_file(input, "fuzz/modes.yaml", joey::cloud::CatalogKind::kModes);
  if (modes.ok()) {
    check_ids(*modes);
    if (modes->body != input) __builtin_trap();
    check_modes_load(modes->body);
  }
  auto mcps =
      joey::cloud::parse_catalog_file(input, "fuzz/mcps.yaml", joey::cloud::CatalogKind::kMcps);
  if (mcps.ok()) check_ids(*mcps);
  (void)joey::cloud::template_keys(input);
  (void)joey::cloud::if_none_match_matches(input, "\"sha256-0\"");
  return 0;
}
