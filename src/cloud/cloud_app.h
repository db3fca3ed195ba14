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
#include "cloud/proxy_routes.h"
#include "cloud/proxy_service.h"
#include "cloud/retention.h"
#include "cloud/router.h"
#include "cloud/share_service.h"
#include "cloud/task_service.h"
#include "cloud/usage_service.h"
#include "store/database.h"

namespace joey::cloud {

class UpstreamPool;

struct CloudAppOptions {
  std::filesystem::path data_dir;  // holds joey.db (SQLite) and the kek file
  std::string database_url;        // postgres://… or empty for SQLite in data_dir
  std::string public_url;          // --public-url, may be empty
  // PostgreSQL only: the schema owner's URL, for migrations; database_url is then the
  // server's least-privilege login role (docs/storage.md). Empty: one-URL mode.
  std::string database_owner_url;
  // The model proxy's upstreams and operator keys (cloud/proxy_service.h).
  ProxyOptions proxy;
  // The proxy's upstream client: extra trusted certificates (a private upstream), timeouts.
  UpstreamSettings upstream;
};

class CloudApp {
 public:
  // Opens (and migrates) the database and loads or creates the key-encryption key.
  // Errors name what failed: the database location (never a password), the KEK file.
  static Result<std::unique_ptr<CloudApp>> open(const CloudAppOptions& options);
  // Stops the background jobs before anything they use goes away.
  ~CloudApp();

  // Registers every /api route (and the /device page) and the /proxy routes.
  void register_routes(Router& router);
  // The database pool gauges, on `registry`'s /metrics.
  void register_metrics(MetricsRegistry& registry);
  // Ok when the database answers (for /readyz).
  Status ready();

  // Starts the retention job (cloud/retention.h): a run now, then one every 24 hours,
  // on a background thread. Call from one thread, after open().
  void start_background_jobs();
  // Stops it, waiting for a run in progress (also done by the destructor).
  void stop_background_jobs();
  // Closes the model proxy's pooled upstream connections and stops pooling them. Call
  // once the HTTP server has stopped and before it is destroyed: the connections use
  // its io_context.
  void stop_upstream_connections();
  // One retention run now, on the calling thread (`joeyd retention run`).
  Result<RetentionReport> run_retention();

  store::Database& database() { return *database_; }

 private:
  CloudApp() = default;

  CloudAppOptions options_;
  std::unique_ptr<store::Database> database_;
  std::unique_ptr<IdentityService> identity_;
  std::unique_ptr<KeyRing> key_ring_;  // holds the key-encryption key
  std::unique_ptr<OrgService> orgs_;
  std::unique_ptr<TaskService> tasks_;
  std::unique_ptr<ShareService> shares_;
  std::unique_ptr<UsageService> usage_;
  std::unique_ptr<ProxyService> proxy_;
  std::shared_ptr<UpstreamPool> upstream_pool_;
  std::unique_ptr<RetentionJob> retention_;  // declared last: stops first
};

}  // namespace joey::cloud
