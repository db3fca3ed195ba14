// `joey mcp …`: the MCP servers a workspace's tasks may use (client/mcp_config.h).
//
//   joey mcp list [--cwd DIR] [--json]        every server, its scope, transport, state
//   joey mcp add NAME [--scope global|project] [--env K=V]… [--cwd-dir DIR]
//                [--timeout S] [--always-allow TOOL]… [--force] -- COMMAND [ARG…]
//   joey mcp add NAME --url URL [--type streamable-http|sse] [--header K=V]… [...]
//   joey mcp remove|enable|disable NAME [--scope global|project]
//   joey mcp trust [--cwd DIR] [--yes]         trust this workspace's own servers
//   joey mcp tools NAME [--json]               start it and list its tools
//   joey mcp test NAME                         start it: version, tools, resources, ping
//
// Output goes to stdout; errors to stderr as "joey: error: ...". Exit codes: 0 ok,
// 1 a file is broken or cannot be written, 2 bad usage (unknown server, bad flag).
#pragma once

#include <CLI/CLI.hpp>

namespace joey::client {

// Adds the `mcp` subcommand to `app`; when one of its commands runs (during
// app.parse) its callback stores the exit code in `exit_code`, which must outlive `app`.
void register_mcp_command(CLI::App& app, int& exit_code);

}  // namespace joey::client
