// Helpers for the MCP client tests: where node and the reference servers are, and a
// config for each. Tests skip (GTEST_SKIP with the reason) when node or a package is
// missing.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "mcp/types.h"

namespace joey::mcp::testing {

inline std::string source_path(std::string_view relative) {
  return std::string(JOEY_SOURCE_DIR) + "/" + std::string(relative);
}

inline bool is_file(const std::string& path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

// node's absolute path, or nullopt when it is not on PATH.
inline std::optional<std::string> find_node() {
  const char* path = std::getenv("PATH");
  if (!path) return std::nullopt;
  std::string_view rest(path);
  for (int i = 0; i < 256 && !rest.empty(); ++i) {
    const size_t colon = rest.find(':');
    const std::string dir(rest.substr(0, colon));
    const std::string candidate = (dir.empty() ? "." : dir) + "/node";
    if (is_file(candidate) && access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return std::nullopt;
}

inline std::string everything_script() {
  return source_path("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
}
inline std::string filesystem_script() {
  return source_path("node_modules/@modelcontextprotocol/server-filesystem/dist/index.js");
}
inline std::string fake_server_script() { return source_path("tests/mcp/data/fake_mcp_server.js"); }
// Preloaded into node so that a server listening on a bare port binds 127.0.0.1 only.
inline std::string loopback_preload_script() {
  return source_path("tests/mcp/data/loopback_only.cjs");
}

inline ServerConfig node_server(const std::string& name, const std::string& node,
                                std::vector<std::string> args) {
  ServerConfig config;
  config.name = name;
  config.command = node;
  config.args = std::move(args);
  config.timeout = std::chrono::milliseconds(20'000);
  return config;
}

}  // namespace joey::mcp::testing

// Skips the test unless node and `script` exist; sets `node` to node's path.
#define JOEY_REQUIRE_NODE_SCRIPT(node, script)                                        \
  std::string node;                                                                   \
  do {                                                                                \
    const std::optional<std::string> found_node = ::joey::mcp::testing::find_node();  \
    if (!found_node) GTEST_SKIP() << "node is not installed (not on PATH)";           \
    if (!::joey::mcp::testing::is_file(script)) {                                     \
      GTEST_SKIP() << (script) << " is missing (run npm ci in the source directory)"; \
    }                                                                                 \
    node = *found_node;                                                               \
  } while (false)
