// The marketplace catalog joeyd serves: modes and MCP servers users can install into joey
// (GET /api/marketplace/modes and /mcps, cloud/marketplace_routes.h). The catalog is two
// YAML files, `items: [...]` each, in Roo Code's marketplace item schema; marketplace/ in
// the source tree is compiled into joeyd, and `joeyd serve --marketplace DIR` serves an
// operator's own DIR/modes.yaml and DIR/mcps.yaml instead. marketplace/README.md documents
// the format.
//
// Loading validates everything the agent will rely on when it installs an item, so a bad
// catalog stops joeyd at start rather than reaching users:
//   - every item: type (mode in modes.yaml, mcp in mcps.yaml), id (kebab-case, unique
//     across both files), name, description, tags (a list); author, authorUrl (http(s)),
//     prerequisites (a list) optional; no unknown fields;
//   - a mode's content: one mode in joey's modes.yaml format (slug equal to the id, name,
//     roleDefinition, groups from read/edit/command/mcp/modes/browser, an edit fileRegex
//     that compiles), as agent/modes.h accepts it;
//   - an MCP item: url (http(s)); content either one mcp.json server entry as a JSON
//     object with `command` or `url`, or a non-empty list of {name, content, parameters?,
//     prerequisites?} install methods; parameters [{name, key, placeholder?, optional?}]
//     on the item or a method; the {{key}} placeholders of each template are exactly the
//     parameters that apply to it (the item's and its method's).
// Errors are kInvalidArgument, formatted "FILE:LINE: item 'ID': field 'FIELD': problem".
//
// The served body is the file's bytes as they are (comments included); the ETag is a
// strong validator derived from them (SHA-256).
//
// Thread-safety: functions are pure (load_marketplace_dir reads files); builtin_marketplace()
// initialises once and may be called from any thread. Catalog values are immutable after
// loading and may be shared between threads.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace joey::cloud {

// Larger catalog files are refused: the catalog is a few hundred entries at most.
inline constexpr size_t kMaxCatalogFileBytes = 4 * 1024 * 1024;
inline constexpr size_t kMaxCatalogItems = 5000;

enum class CatalogKind { kModes, kMcps };

// One validated catalog file, ready to serve.
struct CatalogFile {
  std::string body;              // the file's bytes, served as they are
  std::string etag;              // "\"sha256-<hex>\"": a strong ETag of body
  std::vector<std::string> ids;  // the items' ids, in file order
};

struct MarketplaceCatalog {
  CatalogFile modes;
  CatalogFile mcps;
};

// Validates one catalog file of `kind`. `display_name` names the file in errors.
Result<CatalogFile> parse_catalog_file(std::string_view text, std::string_view display_name,
                                       CatalogKind kind);

// Validates both files and that no id appears in both.
Result<MarketplaceCatalog> parse_catalog(std::string_view modes_text, std::string_view modes_name,
                                         std::string_view mcps_text, std::string_view mcps_name);

// Reads and validates DIR/modes.yaml and DIR/mcps.yaml (both must exist). kIo when a file
// cannot be read, naming it; parse errors as parse_catalog_file.
Result<MarketplaceCatalog> load_marketplace_dir(const std::filesystem::path& dir);

// The catalog compiled into joeyd from marketplace/ in the source tree, validated on the
// first call (the result, error included, is kept for later calls).
const Result<MarketplaceCatalog>& builtin_marketplace();

// The raw compiled-in files (for tests comparing them with the source tree).
std::string_view builtin_modes_yaml();
std::string_view builtin_mcps_yaml();

// The keys of the {{key}} placeholders in `text`, in order of first appearance, without
// repeats. kInvalidArgument for "{{" not followed by a key ([A-Za-z0-9_]+) and "}}".
Result<std::vector<std::string>> template_keys(std::string_view text);

// True when an If-None-Match header value (a list of entity tags or "*") matches `etag`
// by weak comparison (RFC 9110 §13.1.2).
bool if_none_match_matches(std::string_view header_value, std::string_view etag);

}  // namespace joey::cloud
