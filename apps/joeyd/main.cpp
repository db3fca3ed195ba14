// joeyd: the Cloud server's entry point. Parses arguments and hands over to src/cloud;
// one outer boundary turns an Error into "joeyd: error: …" and an exit status
// (0 stopped cleanly, 1 failed, 2 bad usage).
#include <sys/prctl.h>
#include <sys/resource.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/log.h"
#include "base/paths.h"
#include "base/result.h"
#include "base/strings.h"
#include "cloud/cloud_app.h"
#include "cloud/http_server.h"
#include "cloud/kek_rotation.h"
#include "cloud/marketplace.h"
#include "cloud/marketplace_routes.h"
#include "cloud/metrics.h"
#include "cloud/proxy_stream.h"
#include "cloud/retention.h"
#include "cloud/router.h"
#include "cloud/server_routes.h"
#include "crypto/key_encryption_key.h"
#include "store/database.h"

namespace {

using namespace joey;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr unsigned kMaxThreads = 256;

struct ServeFlags {
  std::string data_dir;
  std::string listen = "127.0.0.1:8420";
  std::string database;
  std::string database_owner;
  std::string tls_cert;
  std::string tls_key;
  std::string public_url;
  unsigned threads = 0;
  size_t max_connections = cloud::kDefaultMaxConnections;
  std::string upstream_openai = "https://api.openai.com/v1";
  std::string upstream_anthropic = "https://api.anthropic.com/v1";
  std::string upstream_openrouter = "https://openrouter.ai/api/v1";
  std::string upstream_ca;
  unsigned upstream_first_byte_seconds = 300;
  unsigned upstream_idle_seconds = 120;
  std::string marketplace;  // a directory with modes.yaml and mcps.yaml; empty: built in
};

// The operator's key for `provider` from its variable (cloud::operator_key_variable, the
// name the proxy's refusals tell an operator to set), or "" when unset.
std::string operator_key(cloud::UpstreamProvider provider) {
  const char* value = std::getenv(cloud::operator_key_variable(provider).c_str());
  return value ? std::string(value) : std::string();
}

// The database part of the Cloud's options, shared by every subcommand.
cloud::CloudAppOptions app_options_from(const ServeFlags& flags,
                                        const std::filesystem::path& data_dir) {
  cloud::CloudAppOptions options;
  options.data_dir = data_dir;
  options.database_url = flags.database;
  options.database_owner_url = flags.database_owner;
  return options;
}

// A base URL as the proxy joins paths to it: without a trailing slash.
std::string without_trailing_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};

// "HOST:PORT", "[IPv6]:PORT"; the port 0 asks for a free one.
Result<ListenAddress> parse_listen_address(std::string_view text) {
  const Error bad(ErrorKind::kInvalidArgument,
                  "--listen wants HOST:PORT (e.g. 127.0.0.1:8420 or [::1]:8420), got \"" +
                      std::string(utf8_prefix(text, 80)) + "\"");
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return bad;
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return bad;  // an IPv6 address must be in brackets
  }
  unsigned port = 0;
  auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return bad;
  }
  return ListenAddress{std::string(host), static_cast<uint16_t>(port)};
}

Status validate_flags(const ServeFlags& flags) {
  if (!flags.database.empty() && !ascii_istarts_with(flags.database, "postgres://") &&
      !ascii_istarts_with(flags.database, "postgresql://")) {
    return make_error(ErrorKind::kInvalidArgument,
                      "--database wants a PostgreSQL URL (postgres://USER@HOST/DB); leave it out "
                      "to use SQLite in the data directory");
  }
  if (!flags.database_owner.empty() && flags.database.empty()) {
    return make_error(ErrorKind::kInvalidArgument,
                      "--database-owner goes with --database (the server's PostgreSQL role)");
  }
  if (!flags.public_url.empty() && !ascii_istarts_with(flags.public_url, "http://") &&
      !ascii_istarts_with(flags.public_url, "https://")) {
    return make_error(ErrorKind::kInvalidArgument, "--public-url wants an http:// or https:// URL");
  }
  if (flags.tls_cert.empty() != flags.tls_key.empty()) {
    return make_error(ErrorKind::kInvalidArgument, "--tls-cert and --tls-key go together");
  }
  for (const auto& [flag, url] : {std::pair{"--upstream-openai", &flags.upstream_openai},
                                  std::pair{"--upstream-anthropic", &flags.upstream_anthropic},
                                  std::pair{"--upstream-openrouter", &flags.upstream_openrouter}}) {
    if (!ascii_istarts_with(*url, "http://") && !ascii_istarts_with(*url, "https://")) {
      return make_error(ErrorKind::kInvalidArgument,
                        std::string(flag) + " wants an http:// or https:// base URL");
    }
  }
  if (flags.threads > kMaxThreads) {
    return make_error(ErrorKind::kInvalidArgument,
                      "--threads wants a number from 1 to " + std::to_string(kMaxThreads));
  }
  return ok_status();
}

// Raises the soft limit on open files to the hard one (as nginx's worker_rlimit_nofile
// and Go's runtime do), and warns when even that is short of what `max_connections` may
// use: a client's socket and, through the proxy, an upstream's for each, plus the
// database, the logs and the upstream pool's idle connections. At the limit accept()
// fails and clients wait in the listen backlog instead of getting a connection.
void check_open_file_limit(size_t max_connections) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  const rlim_t wanted = static_cast<rlim_t>(2 * max_connections + 256);
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted) {
    log::warn("open_file_limit_low",
              {log::field("limit", static_cast<uint64_t>(limit.rlim_cur)),
               log::field("wanted", static_cast<uint64_t>(wanted)),
               log::field("max_connections", max_connections),
               log::field("advice",
                          "raise it (ulimit -n, systemd LimitNOFILE=) or lower "
                          "--max-connections")});
  }
}

// $XDG_DATA_HOME/joeyd, else ~/.local/share/joeyd.
Result<std::filesystem::path> default_data_dir() {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  if (xdg && *xdg) return std::filesystem::path(xdg) / "joeyd";
  const char* home = std::getenv("HOME");
  if (!home || !*home) {
    return make_error(ErrorKind::kNotFound, "no home directory; pass --data DIR");
  }
  return std::filesystem::path(home) / ".local" / "share" / "joeyd";
}

int fail(const Error& error) {
  std::fprintf(stderr, "joeyd: error: %s\n", error.message.c_str());
  return error.kind == ErrorKind::kInvalidArgument ? kExitUsage : kExitFailed;
}

// Where the data lives: --data, else the default directory (created 0700).
Result<std::filesystem::path> data_directory(const ServeFlags& flags) {
  std::filesystem::path data_dir = flags.data_dir;
  if (data_dir.empty()) data_dir = TRY(default_data_dir());
  Result<std::filesystem::path> made = ensure_private_dir(data_dir);
  if (!made.ok()) {
    return Error(ErrorKind::kIo, "cannot use the data directory: " + made.error().message);
  }
  return data_dir;
}

int rotate_kek_command(const ServeFlags& flags) {
  Result<std::filesystem::path> data_dir = data_directory(flags);
  if (!data_dir.ok()) return fail(data_dir.error());
  const std::string location =
      flags.database.empty() ? (*data_dir / "joey.db").string() : flags.database;
  Result<std::unique_ptr<store::Database>> database = store::Database::open(location);
  if (!database.ok()) return fail(database.error().with_context("opening the database"));
  Result<cloud::KekRotation> rotation =
      cloud::rotate_kek(**database, crypto::KeyEncryptionKey::file_path(*data_dir));
  if (!rotation.ok()) return fail(rotation.error());
  std::printf("joeyd: re-wrapped %zu data key(s) from key-encryption key %s to %s\n",
              rotation->rewrapped, rotation->old_kek_id.c_str(), rotation->new_kek_id.c_str());
  return kExitOk;
}

// `joeyd retention run`: one retention run now (cloud/retention.h), printing what it
// deleted per organization id — counts only.
int retention_command(const ServeFlags& flags) {
  if (Status valid = validate_flags(flags); !valid.ok()) return fail(valid.error());
  Result<std::filesystem::path> data_dir = data_directory(flags);
  if (!data_dir.ok()) return fail(data_dir.error());
  Result<std::unique_ptr<cloud::CloudApp>> app =
      cloud::CloudApp::open(app_options_from(flags, *data_dir));
  if (!app.ok()) return fail(Error(ErrorKind::kIo, app.error().message));
  Result<cloud::RetentionReport> report = (*app)->run_retention();
  if (!report.ok()) return fail(Error(ErrorKind::kIo, report.error().message));
  for (const cloud::OrgRetention& org : report->purged) {
    std::printf("organization %s: retention %lld day(s), deleted %lld task(s)\n",
                org.org_id.c_str(), static_cast<long long>(org.retention_days),
                static_cast<long long>(org.tasks_deleted));
  }
  for (const std::string& org_id : report->failed) {
    std::printf("organization %s: failed (see the log)\n", org_id.c_str());
  }
  std::printf("joeyd: checked %lld organization(s), deleted %lld task(s)\n",
              static_cast<long long>(report->organizations_checked),
              static_cast<long long>(report->tasks_deleted));
  return report->failed.empty() ? kExitOk : kExitFailed;
}

// P6: the proxy's memory holds prompts and completions in flight, so a crash must not
// write it to a core file (nor may another process of this user read it through ptrace).
void forbid_core_dumps() {
  const rlimit none{0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) {
    log::warn("core_dump_limit_not_set", {log::field("errno", errno)});
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    log::warn("dumpable_not_cleared", {log::field("errno", errno)});
  }
}

int serve(const ServeFlags& flags) {
  forbid_core_dumps();
  if (Status valid = validate_flags(flags); !valid.ok()) return fail(valid.error());
  Result<ListenAddress> listen = parse_listen_address(flags.listen);
  if (!listen.ok()) return fail(listen.error());
  // The marketplace catalog is validated before anything else starts: a bad one stops
  // joeyd here, naming the file, the item and the field.
  std::shared_ptr<const cloud::MarketplaceCatalog> marketplace;
  if (flags.marketplace.empty()) {
    const Result<cloud::MarketplaceCatalog>& builtin = cloud::builtin_marketplace();
    if (!builtin.ok()) return fail(builtin.error().with_context("the built-in marketplace"));
  } else {
    Result<cloud::MarketplaceCatalog> own = cloud::load_marketplace_dir(flags.marketplace);
    if (!own.ok()) return fail(own.error().with_context("--marketplace"));
    marketplace = std::make_shared<const cloud::MarketplaceCatalog>(std::move(own).value());
  }

  Result<std::filesystem::path> data_dir = data_directory(flags);
  if (!data_dir.ok()) return fail(data_dir.error());

  cloud::CloudAppOptions app_options = app_options_from(flags, *data_dir);
  app_options.public_url = flags.public_url;
  app_options.proxy.openai = {without_trailing_slash(flags.upstream_openai),
                              operator_key(cloud::UpstreamProvider::kOpenAI)};
  app_options.proxy.anthropic = {without_trailing_slash(flags.upstream_anthropic),
                                 operator_key(cloud::UpstreamProvider::kAnthropic)};
  app_options.proxy.openrouter = {without_trailing_slash(flags.upstream_openrouter),
                                  operator_key(cloud::UpstreamProvider::kOpenRouter)};
  // Which providers the proxy can serve to users outside an organization with a key of
  // its own: an operator learns at start that a variable was not set, not from a 503.
  const auto key_state = [](const cloud::ProxyUpstream& upstream) {
    return upstream.operator_key.empty() ? "unset" : "set";
  };
  log::info("proxy_operator_keys",
            {log::field("openai", key_state(app_options.proxy.openai)),
             log::field("anthropic", key_state(app_options.proxy.anthropic)),
             log::field("openrouter", key_state(app_options.proxy.openrouter))});
  app_options.upstream.extra_ca_file = flags.upstream_ca;
  app_options.upstream.first_byte_timeout = std::chrono::seconds(flags.upstream_first_byte_seconds);
  app_options.upstream.idle_timeout = std::chrono::seconds(flags.upstream_idle_seconds);
  Result<std::unique_ptr<cloud::CloudApp>> app = cloud::CloudApp::open(app_options);
  if (!app.ok()) return fail(Error(ErrorKind::kIo, app.error().message));

  auto registry = std::make_shared<cloud::MetricsRegistry>();
  auto http_metrics = std::make_shared<cloud::HttpMetrics>(*registry);
  auto router = std::make_shared<cloud::Router>();
  // /readyz turns 503 once a drain has begun, so load balancers stop sending, and
  // while the database does not answer.
  auto server_slot = std::make_shared<std::atomic<const cloud::HttpServer*>>(nullptr);
  cloud::CloudApp* cloud = app->get();
  cloud::add_server_routes(*router, *registry, [server_slot, cloud]() -> Status {
    const cloud::HttpServer* server = server_slot->load();
    if (server && server->stopping()) {
      return make_error(ErrorKind::kInternal, "the server is shutting down");
    }
    return cloud->ready();
  });
  cloud->register_metrics(*registry);
  cloud->register_routes(*router);
  if (marketplace) cloud::add_marketplace_routes(*router, marketplace);  // replaces the built-in
  const cloud::MarketplaceCatalog& served =
      marketplace ? *marketplace : *cloud::builtin_marketplace();
  log::info(
      "marketplace_loaded",
      {log::field("source", flags.marketplace.empty() ? "built-in" : "--marketplace"),
       log::field("modes", served.modes.ids.size()), log::field("mcps", served.mcps.ids.size())});

  cloud::ServerOptions options;
  options.host = listen->host;
  options.port = listen->port;
  options.threads = flags.threads;
  options.max_connections = flags.max_connections;
  check_open_file_limit(flags.max_connections);
  if (!flags.tls_cert.empty()) options.tls = cloud::TlsFiles{flags.tls_cert, flags.tls_key};

  Result<std::unique_ptr<cloud::HttpServer>> server =
      cloud::HttpServer::create(options, router, http_metrics);
  if (!server.ok()) {
    // A listen address that does not resolve is bad usage; a busy port is a failure.
    std::fprintf(stderr, "joeyd: error: %s\n", server.error().message.c_str());
    return kExitFailed;
  }
  server_slot->store(server->get());
  (*server)->stop_on_signals();
  (*server)->start();
  log::info("server_started", {log::field("tls", options.tls.has_value())});
  std::printf("joeyd: listening on %s\n", (*server)->url().c_str());
  std::fflush(stdout);
  cloud->start_background_jobs();
  (*server)->wait();
  cloud->stop_background_jobs();
  // Before the server (and its io_context) is destroyed: the pooled upstream sockets
  // belong to that io_context.
  cloud->stop_upstream_connections();
  server_slot->store(nullptr);
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  // The access log is at info level; JOEY_LOG overrides (e.g. JOEY_LOG=warn).
  const char* log_level = std::getenv("JOEY_LOG");
  if (!log_level || !*log_level) log::set_level(log::Level::kInfo);

  CLI::App app{"joeyd — the self-hostable joey Cloud server"};
  app.set_version_flag("--version", std::string("joeyd ") + JOEY_VERSION);
  app.require_subcommand(1);

  ServeFlags flags;
  CLI::App* serve_command = app.add_subcommand("serve", "Serve the Cloud API over HTTP(S)");
  serve_command->add_option("--data", flags.data_dir,
                            "Data directory (default $XDG_DATA_HOME/joeyd or "
                            "~/.local/share/joeyd), created 0700");
  serve_command->add_option("--listen", flags.listen, "HOST:PORT to listen on (port 0: any free)")
      ->capture_default_str();
  serve_command->add_option("--database", flags.database,
                            "PostgreSQL URL (default: SQLite in the data directory)");
  serve_command->add_option("--database-owner", flags.database_owner,
                            "PostgreSQL URL of the schema owner, for migrations (then --database "
                            "is the server's least-privilege role; docs/storage.md)");
  serve_command->add_option("--tls-cert", flags.tls_cert, "PEM certificate chain for HTTPS");
  serve_command->add_option("--tls-key", flags.tls_key, "PEM private key for HTTPS");
  serve_command
      ->add_option("--marketplace", flags.marketplace,
                   "Serve DIR/modes.yaml and DIR/mcps.yaml as the marketplace instead of the "
                   "built-in catalog (validated at start)")
      ->type_name("DIR");
  serve_command->add_option("--public-url", flags.public_url,
                            "URL users reach this server at (links, cookies)");
  serve_command->add_option("--threads", flags.threads, "I/O threads (default: one per core)")
      ->check(CLI::Range(1U, kMaxThreads));
  serve_command
      ->add_option("--max-connections", flags.max_connections,
                   "Client connections open at once; more are closed at once (default 1024)")
      ->check(CLI::Range(size_t{1}, size_t{1'000'000}));
  serve_command
      ->add_option("--upstream-openai", flags.upstream_openai,
                   "Base URL the model proxy sends OpenAI requests to (key: JOEYD_OPENAI_API_KEY "
                   "or the organization's)")
      ->capture_default_str();
  serve_command
      ->add_option("--upstream-anthropic", flags.upstream_anthropic,
                   "Base URL for Anthropic requests (key: JOEYD_ANTHROPIC_API_KEY)")
      ->capture_default_str();
  serve_command
      ->add_option("--upstream-openrouter", flags.upstream_openrouter,
                   "Base URL for OpenRouter requests (key: JOEYD_OPENROUTER_API_KEY)")
      ->capture_default_str();
  serve_command->add_option("--upstream-ca", flags.upstream_ca,
                            "PEM certificates the proxy trusts besides the system store");
  serve_command
      ->add_option("--upstream-first-byte-timeout", flags.upstream_first_byte_seconds,
                   "Seconds the proxy waits for a provider's answer to begin (a non-streaming "
                   "answer of a reasoning model can take minutes) before answering 504")
      ->check(CLI::Range(1U, 3600U))
      ->capture_default_str();
  serve_command
      ->add_option("--upstream-idle-timeout", flags.upstream_idle_seconds,
                   "Seconds of silence in the middle of an answer before the proxy cuts it")
      ->check(CLI::Range(1U, 3600U))
      ->capture_default_str();

  ServeFlags key_flags;
  CLI::App* keys_command = app.add_subcommand("keys", "Manage the keys that encrypt data at rest");
  keys_command->require_subcommand(1);
  CLI::App* rotate_command = keys_command->add_subcommand(
      "rotate-kek",
      "Re-wrap every data key under a new key-encryption key (stop joeyd everywhere first)");
  rotate_command->add_option(
      "--data", key_flags.data_dir,
      "Data directory (default $XDG_DATA_HOME/joeyd or ~/.local/share/joeyd)");
  rotate_command->add_option("--database", key_flags.database,
                             "PostgreSQL URL (default: SQLite in the data directory)");

  ServeFlags retention_flags;
  CLI::App* retention_command_app =
      app.add_subcommand("retention", "Apply organizations' task retention periods");
  retention_command_app->require_subcommand(1);
  CLI::App* retention_run = retention_command_app->add_subcommand(
      "run", "Delete every organization's tasks older than its retention_days, now");
  retention_run->add_option(
      "--data", retention_flags.data_dir,
      "Data directory (default $XDG_DATA_HOME/joeyd or ~/.local/share/joeyd)");
  retention_run->add_option("--database", retention_flags.database,
                            "PostgreSQL URL (default: SQLite in the data directory)");
  retention_run->add_option("--database-owner", retention_flags.database_owner,
                            "PostgreSQL URL of the schema owner, for migrations");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "joeyd: error: %s\nRun 'joeyd --help' for usage.\n", e.what());
    return kExitUsage;
  }
  if (serve_command->parsed()) return serve(flags);
  if (rotate_command->parsed()) return rotate_kek_command(key_flags);
  if (retention_run->parsed()) return retention_command(retention_flags);
  return kExitUsage;
}
