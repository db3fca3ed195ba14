// docs/openapi.yaml describes exactly the routes joeyd registers: every (method, path)
// the server answers is documented, and nothing documented is missing from the server.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "cloud/cloud_app.h"
#include "cloud/server_routes.h"

namespace joey::cloud {
namespace {

using RouteSet = std::set<std::pair<std::string, std::string>>;

// (METHOD, path) pairs under `paths:`: a path is a 2-space-indented key starting with
// '/', its methods 4-space-indented keys.
RouteSet documented_routes() {
  std::ifstream file(std::string(JOEY_SOURCE_DIR) + "/docs/openapi.yaml");
  EXPECT_TRUE(file.good()) << "docs/openapi.yaml is missing";
  RouteSet routes;
  bool in_paths = false;
  std::string path;
  for (std::string line; std::getline(file, line);) {
    if (!line.empty() && line[0] != ' ') in_paths = line == "paths:";
    if (!in_paths) continue;
    if (line.starts_with("  /") && line.ends_with(":")) {
      path = line.substr(2, line.size() - 3);
      continue;
    }
    for (const char* method : {"get", "post", "put", "patch", "delete"}) {
      if (line == std::string("    ") + method + ":") {
        std::string upper(method);
        std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
        routes.emplace(upper, path);
      }
    }
  }
  return routes;
}

TEST(OpenApi, DescribesExactlyTheRoutesJoeydRegisters) {
  std::string pattern = (std::filesystem::temp_directory_path() / "joey-openapi-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const std::filesystem::path data_dir = pattern;
  RouteSet registered;
  {
    CloudAppOptions options;
    options.data_dir = data_dir;
    Result<std::unique_ptr<CloudApp>> app = CloudApp::open(options);
    ASSERT_TRUE(app.ok()) << app.error().message;
    Router router;
    MetricsRegistry registry;
    add_server_routes(router, registry, [] { return ok_status(); });
    (*app)->register_routes(router);
    for (const auto& route : router.routes()) registered.insert(route);
  }
  std::filesystem::remove_all(data_dir);

  const RouteSet documented = documented_routes();
  ASSERT_FALSE(documented.empty());
  for (const auto& [method, path] : registered) {
    EXPECT_TRUE(documented.count({method, path}))
        << method << " " << path << " is served but not in docs/openapi.yaml";
  }
  for (const auto& [method, path] : documented) {
    EXPECT_TRUE(registered.count({method, path}))
        << method << " " << path << " is documented but joeyd does not serve it";
  }
}

}  // namespace
}  // namespace joey::cloud
