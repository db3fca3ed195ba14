// What `joeyd serve` runs besides the HTTP server: the database, the key-encryption key
// and the services behind the API routes, built once at start and shared by every
// request thread. apps/joeyd/main.cpp stays a thin shell around it.
//
// Thread-safety: after open() every member may be used from any thread (each service
// documents its own guarantees).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "base/result.h"
#include "cloud/identity.h"
#include "cloud/key_ring.h"
#include "cloud/metrics.h"
#include "cloud/org_service.h"
#include "cloud/router.h"
#include "cloud/task_service.h"
#include "store/database.h"

namespace joey::cloud {

struct CloudAppOptions {
  std::filesystem::path data_dir;  // holds joey.db (SQLite) and the kek file
  std::string database_url;        // postgres://… or empty for SQLite in data_dir
  std::string public_url;          // --public-url, may be empty
  // PostgreSQL only: the schema owner's URL, for migrations; database_url is then the
  // server's least-privilege login role (docs/storage.md). Empty: one-URL mode.
  std::string database_owner_url;
};

class CloudApp {
 public:
  // Opens (and migrates) the database and loads or creates the key-encryption key.
  // Errors name what failed: the database location (never a password), the KEK file.
  static Result<std::unique_ptr<CloudApp>> open(const CloudAppOptions& options);

  // Registers every /api route (and the /device page).
  void register_routes(Router& router);
  // The database pool gauges, on `registry`'s /metrics.
  void register_metrics(MetricsRegistry& registry);
  // Ok when the database answers (for /readyz).
  Status ready();

  store::Database& database() { return *database_; }

 private:
  CloudApp() = default;

  CloudAppOptions options_;
  std::unique_ptr<store::Database> database_;
  std::unique_ptr<IdentityService> identity_;
  std::unique_ptr<KeyRing> key_ring_;  // holds the key-encryption key
  std::unique_ptr<OrgService> orgs_;
  std::unique_ptr<TaskService> tasks_;
};

}  // namespace joey::cloud
