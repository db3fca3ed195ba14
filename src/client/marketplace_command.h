// `joey marketplace …`: find and install modes and MCP servers (client/marketplace.h).
//
//   joey marketplace search [QUERY] [--type mode|mcp]
//   joey marketplace show ID
//   joey marketplace install ID [--scope project|global] [--param KEY=VALUE]… [--method N]
//                               [--force]
//   joey marketplace remove ID [--scope project|global]
//
// Each takes --cwd DIR (the workspace; default the current directory). The catalog comes
// from the configured Cloud without any credential (P5); search runs here.
// Exit codes: 0 ok, 1 the catalog cannot be fetched or a file cannot be written, 2 bad
// usage (unknown id, a missing parameter, an entry that exists without --force).
#pragma once

#include <CLI/CLI.hpp>

namespace joey::client {

void register_marketplace_command(CLI::App& app, int& exit_code);

}  // namespace joey::client
