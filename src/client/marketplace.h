// The marketplace of modes and MCP servers, from the agent's side (issue 9 §5, promise P5).
//
// The catalog is joeyd's GET /api/marketplace/modes and /api/marketplace/mcps (YAML
// `items: [...]`, Roo Code's item schema) at the configured Cloud URL — JOEY_CLOUD_URL, else
// `cloud.url`, else
// the signed-in Cloud, else kDefaultMarketplaceUrl. Those requests carry no
// Authorization header, cookie or machine id even when the user is signed in (P5); each
// answer is cached in $JOEY_HOME/marketplace/ with its ETag and revalidated with
// If-None-Match; offline, the cache is used. Searching runs here, on the cached catalog,
// so the server never sees a search term.
//
// When signed in, the organization's `hide_marketplace_mcps` hides every MCP item and
// `hidden_mcps` hides those ids (from the cached agent settings, client/cloud_settings.h).
//
// Installing fills `{{key}}` placeholders from the parameters (values are JSON-escaped in
// MCP templates, so a value cannot change the configuration's shape) and writes
// atomically: a mode into .joey/modes.yaml (project) or $JOEY_HOME/modes.yaml (global),
// an MCP server into the matching mcp.json (client/mcp_config.h). An existing entry of
// the same slug or name is kept unless `force`.
//
// Thread-safety: plain functions; no shared state.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "llm/http_transport.h"

namespace joey::client {

inline constexpr std::string_view kDefaultMarketplaceUrl = "https://cloud.joey.dev";

struct MarketplaceParameter {
  std::string name;
  std::string key;
  std::string placeholder;
  bool optional = false;
};

struct MarketplaceMethod {
  std::string name;
  std::string content;  // a JSON template of an mcp.json entry
  std::vector<MarketplaceParameter> parameters;
};

struct MarketplaceItem {
  std::string id;
  std::string type;  // "mode" or "mcp"
  std::string name;
  std::string description;
  std::string author;
  std::string author_url;
  std::string url;
  std::vector<std::string> tags;
  std::vector<std::string> prerequisites;
  // A mode: its YAML. An MCP server with one way to install: its template (else empty
  // and `methods` lists the ways).
  std::string content;
  std::vector<MarketplaceMethod> methods;
  std::vector<MarketplaceParameter> parameters;  // for every method
};

// A catalog document (untrusted YAML) → its items of `type`. kProtocol naming the item
// and field for anything malformed (an item without an id, a parameter without a key…).
Result<std::vector<MarketplaceItem>> parse_marketplace_catalog(std::string_view yaml,
                                                               std::string_view type);

// Items matching every word of `query` (case-insensitive, in id, name, description or
// tags), best first: id and name matches before description and tag matches. An empty
// query matches everything, in catalog order.
std::vector<const MarketplaceItem*> search_marketplace(const std::vector<MarketplaceItem>& items,
                                                       std::string_view query);

// The catalog of `type` ("modes" or "mcps"): fetched from `base_url` (with the cached
// ETag), else the cache when the server cannot be reached. kNetwork when neither works.
Result<std::string> fetch_marketplace_catalog(const std::filesystem::path& joey_home,
                                              const std::string& base_url, std::string_view type,
                                              llm::HttpTransport& transport);

// What the signed-in organization hides (ids), and whether it hides every MCP item.
struct MarketplaceFilter {
  bool hide_mcps = false;
  std::vector<std::string> hidden_mcps;
};
void apply_marketplace_filter(std::vector<MarketplaceItem>& items, const MarketplaceFilter& filter);

// `text` with each {{key}} replaced from `values`; in a JSON template the values are
// JSON-escaped. kInvalidArgument naming a parameter that is required and missing.
Result<std::string> fill_marketplace_template(const std::string& text,
                                              const std::vector<MarketplaceParameter>& parameters,
                                              const std::map<std::string, std::string>& values,
                                              bool json_template);

// Installs an item (see above). `method` picks an MCP item's install method by index.
// Returns the file written.
Result<std::filesystem::path> install_marketplace_item(
    const MarketplaceItem& item, size_t method, const std::map<std::string, std::string>& values,
    const std::filesystem::path& target_file, bool force);

// Removes what install wrote (the mode of that slug, or the MCP server of that name).
// kNotFound when `target_file` holds no such entry.
Status remove_marketplace_item(const MarketplaceItem& item,
                               const std::filesystem::path& target_file);

}  // namespace joey::client
