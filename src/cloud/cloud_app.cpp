#include "cloud/cloud_app.h"

#include "base/log.h"
#include "cloud/auth_routes.h"
#include "cloud/kek_rotation.h"
#include "cloud/marketplace_routes.h"
#include "cloud/org_routes.h"
#include "cloud/proxy_routes.h"
#include "cloud/share_routes.h"
#include "cloud/task_routes.h"
#include "cloud/usage_routes.h"
#include "crypto/key_encryption_key.h"

namespace joey::cloud {

Result<std::unique_ptr<CloudApp>> CloudApp::open(const CloudAppOptions& options) {
  std::unique_ptr<CloudApp> app(new CloudApp());
  app->options_ = options;
  const std::string location =
      options.database_url.empty() ? (options.data_dir / "joey.db").string() : options.database_url;
  store::OpenOptions open_options;
  open_options.owner_location = options.database_owner_url;
  Result<std::unique_ptr<store::Database>> database = store::Database::open(location, open_options);
  if (!database.ok()) return database.error().with_context("opening the database");
  app->database_ = std::move(database).value();
  std::error_code missing;
  if (const std::filesystem::path pending =
          pending_kek_path(crypto::KeyEncryptionKey::file_path(options.data_dir));
      std::filesystem::exists(pending, missing)) {
    return make_error(ErrorKind::kInvalidArgument,
                      "a key-encryption key rotation was interrupted (" + pending.string() +
                          " exists); run `joeyd keys rotate-kek` again to finish it");
  }
  Result<crypto::KeyEncryptionKey> kek = crypto::KeyEncryptionKey::load_or_create(options.data_dir);
  if (!kek.ok()) return kek.error().with_context("loading the key-encryption key");
  const std::string kek_id = kek->id();
  app->identity_ = std::make_unique<IdentityService>(*app->database_, IdentityOptions{});
  app->key_ring_ = std::make_unique<KeyRing>(*app->database_, std::move(kek).value());
  app->orgs_ = std::make_unique<OrgService>(*app->database_, *app->key_ring_);
  TaskServiceOptions task_options;
  if (!options.public_url.empty())
    task_options.settings_url = options.public_url + "/api/agent/settings";
  app->tasks_ = std::make_unique<TaskService>(*app->database_, *app->key_ring_, *app->orgs_,
                                              std::move(task_options));
  app->shares_ = std::make_unique<ShareService>(*app->database_, *app->tasks_, *app->orgs_);
  app->usage_ = std::make_unique<UsageService>(*app->database_, *app->orgs_);
  app->retention_ = std::make_unique<RetentionJob>(*app->database_, *app->orgs_);
  app->proxy_ =
      std::make_unique<ProxyService>(*app->database_, *app->identity_, *app->orgs_, options.proxy);
  app->usage_->settle_with([proxy = app->proxy_.get()] { proxy->flush(); });
  Result<std::shared_ptr<UpstreamPool>> pool = make_upstream_pool(options.upstream);
  if (!pool.ok()) return pool.error().with_context("preparing the model proxy's upstream client");
  app->upstream_pool_ = std::move(pool).value();
  log::info("database_opened", {log::field("database", app->database_->description()),
                                log::field("schema_version", app->database_->schema_version()),
                                log::field("kek_id", kek_id)});
  return app;
}

void CloudApp::register_routes(Router& router) {
  const AuthRouteOptions auth{options_.public_url};
  register_auth_routes(router, *identity_, auth);
  register_org_routes(router, *identity_, *orgs_, auth);
  register_task_routes(router, *identity_, *tasks_, auth);
  register_share_routes(router, *identity_, *shares_, auth);
  register_usage_routes(router, *identity_, *usage_, auth);
  register_proxy_routes(router, *proxy_, upstream_pool_);
  register_marketplace_routes(router);
}

void CloudApp::register_metrics(MetricsRegistry& registry) {
  store::Database* database = database_.get();
  registry.gauge_callback(
      "joeyd_database_connections", "Database connections by state.", {"state"}, [database] {
        const store::PoolStats stats = database->stats();
        return std::vector<GaugeSample>{{{"capacity"}, static_cast<double>(stats.capacity)},
                                        {{"open"}, static_cast<double>(stats.open)},
                                        {{"in_use"}, static_cast<double>(stats.in_use)}};
      });
  registry.gauge_callback("joeyd_database_waits", "Transactions that waited for a connection.",
                          {"outcome"}, [database] {
                            const store::PoolStats stats = database->stats();
                            return std::vector<GaugeSample>{
                                {{"waited"}, static_cast<double>(stats.waits)},
                                {{"timed_out"}, static_cast<double>(stats.timeouts)}};
                          });
}

Status CloudApp::ready() { return database_->ping(); }

CloudApp::~CloudApp() { stop_background_jobs(); }

void CloudApp::start_background_jobs() {
  if (retention_) retention_->start();
}

void CloudApp::stop_background_jobs() {
  if (retention_) retention_->stop();
}

void CloudApp::stop_upstream_connections() {
  if (upstream_pool_) shut_down_upstream_pool(*upstream_pool_);
}

Result<RetentionReport> CloudApp::run_retention() {
  return purge_expired_tasks(*database_, *orgs_, tasks_->now_ms());
}

}  // namespace joey::cloud
