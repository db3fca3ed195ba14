#include "client/login_command.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

#include "base/cancel.h"
#include "base/json.h"
#include "base/paths.h"
#include "base/redact.h"
#include "base/subprocess.h"
#include "base/terminal_text.h"
#include "client/agent_runtime.h"
#include "client/auth_command.h"
#include "client/exit_codes.h"
#include "client/secret_store.h"
#include "client/settings.h"

namespace joey::client {
namespace {

// Bounds on what a server may ask of the poll loop.
constexpr int64_t kMinPollSeconds = 1;
constexpr int64_t kMaxPollSeconds = 60;
constexpr int64_t kMaxWaitSeconds = 30 * 60;

struct LoginFlags {
  std::string server;
  std::string token;
  bool no_browser = false;
  bool allow_insecure = false;
  std::string ca_cert;
  bool json = false;
};

struct DeviceCode {
  std::string device_code;
  std::string user_code;
  std::string verification_uri;
  std::string verification_uri_complete;
  int64_t interval = 5;
  int64_t expires_in = 600;
};

void open_with_xdg(const std::string& url) {
  const char* display = std::getenv("DISPLAY");
  const char* wayland = std::getenv("WAYLAND_DISPLAY");
  if ((!display || !*display) && (!wayland || !*wayland)) return;
  ProcessOptions options;
  options.argv = {"xdg-open", url};
  options.timeout = std::chrono::milliseconds(5000);
  (void)run_process(options);  // no browser is fine: the URL is printed
}

bool is_web_url(const std::string& url) {
  return url.starts_with("https://") || url.starts_with("http://");
}

Result<DeviceCode> parse_device_code(const nlohmann::json& body) {
  DeviceCode code;
  const std::string* device_code = string_field(body, "device_code");
  const std::string* user_code = string_field(body, "user_code");
  const std::string* uri = string_field(body, "verification_uri");
  if (!device_code || !user_code || !uri || device_code->empty() || user_code->empty() ||
      !is_web_url(*uri)) {
    return make_error(ErrorKind::kProtocol,
                      "the server's device authorization lacks device_code, user_code or an "
                      "http(s) verification_uri");
  }
  code.device_code = *device_code;
  code.user_code = *user_code;
  code.verification_uri = *uri;
  if (const std::string* complete = string_field(body, "verification_uri_complete");
      complete && is_web_url(*complete)) {
    code.verification_uri_complete = *complete;
  }
  code.interval =
      std::clamp(integer_field(body, "interval").value_or(5), kMinPollSeconds, kMaxPollSeconds);
  code.expires_in =
      std::clamp(integer_field(body, "expires_in").value_or(600), kMinPollSeconds, kMaxWaitSeconds);
  return code;
}

class LoginInvocation {
 public:
  LoginInvocation(const LoginCommandIo& io, LoginFlags flags) : io_(io), flags_(std::move(flags)) {}

  int login() {
    Result<int> done = run_login();
    return done.ok() ? *done : fail(done.error());
  }

  int whoami() {
    Result<int> done = run_whoami();
    return done.ok() ? *done : fail(done.error());
  }

  int logout() {
    Result<int> done = run_logout();
    return done.ok() ? *done : fail(done.error());
  }

 private:
  int fail(const Error& error) {
    *io_.err << "joey: error: " << sanitize_for_terminal(redact(error.message)) << "\n";
    if (error.kind == ErrorKind::kCancelled) return kExitInterrupted;
    return error.kind == ErrorKind::kInvalidArgument ? kExitUsage : kExitFailed;
  }

  Result<std::filesystem::path> home() const {
    if (!io_.joey_home.empty()) return io_.joey_home;
    return joey_home();
  }

  Result<Settings> settings() const {
    return Settings::load(TRY(home()), std::nullopt, settings_environment());
  }

  Result<CloudClient> client(const std::string& url, const std::string& token) const {
    ProviderFlags provider;
    provider.allow_insecure = flags_.allow_insecure;
    provider.ca_cert = flags_.ca_cert;
    const std::string checked = TRY(normalize_cloud_url(url, flags_.allow_insecure));
    if (io_.make_transport) return CloudClient(checked, token, io_.make_transport());
    std::unique_ptr<llm::HttpTransport> transport =
        TRY(make_transport(provider, Cancellation::global()));
    return CloudClient(checked, token, std::move(transport));
  }

  // The signed-in credentials, or an error telling how to sign in.
  Result<CloudCredentials> credentials() const {
    Settings loaded = TRY(settings());
    std::optional<CloudCredentials> found =
        TRY(load_cloud_credentials(TRY(home()), loaded, cloud_environment()));
    if (!found) {
      return make_error(ErrorKind::kAuth,
                        "not signed in to a joey Cloud; run `joey login --server URL`");
    }
    return *found;
  }

  Result<std::string> server_url() const {
    std::string url = flags_.server;
    if (url.empty()) url = TRY(settings()).get_string("cloud.url");
    if (url.empty()) url = cloud_environment()["JOEY_CLOUD_URL"];
    if (url.empty()) {
      return make_error(ErrorKind::kInvalidArgument,
                        "which joey Cloud? pass --server URL (e.g. https://joey.example.com)");
    }
    return normalize_cloud_url(url, flags_.allow_insecure);
  }

  // GET /api/me with `client`; the user's email.
  static Result<nlohmann::json> me(CloudClient& client) {
    CloudResponse response = TRY(client.call("GET", "/api/me"));
    if (!response.ok()) return CloudClient::error_for(response, "checking the token");
    const nlohmann::json* user = object_field(response.body, "user");
    if (!user || !string_field(*user, "email")) {
      return make_error(ErrorKind::kProtocol, "the server's /api/me answer has no user email");
    }
    return response.body;
  }

  Result<std::string> token_from_flags() const {
    if (flags_.token != "-") return flags_.token;
    return read_secret_line(io_.input_fd, *io_.err, "joey Cloud token: ");
  }

  Result<std::string> device_flow(CloudClient& anonymous) {
    CloudResponse started = TRY(
        anonymous.call("POST", "/api/auth/device", nlohmann::json{{"client_name", "joey CLI"}}));
    if (!started.ok()) return CloudClient::error_for(started, "starting the sign-in");
    DeviceCode code = TRY(parse_device_code(started.body));
    *io_.out << "To sign in, open " << sanitize_for_terminal(code.verification_uri)
             << "\nand enter the code " << sanitize_for_terminal(code.user_code) << "\n";
    if (!flags_.no_browser) {
      const std::string& target = code.verification_uri_complete.empty()
                                      ? code.verification_uri
                                      : code.verification_uri_complete;
      if (io_.open_browser) {
        io_.open_browser(target);
      } else {
        open_with_xdg(target);
      }
    }
    *io_.out << "Waiting for you to approve it… (Ctrl-C to cancel)" << std::endl;

    const Cancellation& cancel = Cancellation::global();
    int64_t interval = code.interval;
    int64_t waited = 0;
    while (waited < code.expires_in) {
      if (!cancel.sleep_for(io_.poll_second * interval)) {
        return make_error(ErrorKind::kCancelled, "sign-in cancelled");
      }
      waited += interval;
      CloudResponse polled = TRY(anonymous.call("POST", "/api/auth/device/token",
                                                nlohmann::json{{"device_code", code.device_code}}));
      if (polled.ok()) {
        const std::string* token = string_field(polled.body, "token");
        if (!token || token->empty()) {
          return make_error(ErrorKind::kProtocol,
                            "the server approved the sign-in but sent no token");
        }
        return *token;
      }
      const std::string error = polled.error_code();
      if (error == "authorization_pending") continue;
      if (error == "slow_down") {
        interval = std::min(interval + 5, kMaxPollSeconds);
        continue;
      }
      if (error == "expired_token") {
        return make_error(ErrorKind::kTimeout,
                          "the code expired before it was approved; run "
                          "`joey login` again");
      }
      if (error == "access_denied") {
        return make_error(ErrorKind::kPermissionDenied, "the sign-in was denied in the browser");
      }
      return CloudClient::error_for(polled, "waiting for approval");
    }
    return make_error(ErrorKind::kTimeout,
                      "the code expired before it was approved; run `joey login` again");
  }

  Result<int> run_login() {
    const std::string url = TRY(server_url());
    // Before a token exists: a store that cannot keep it is an error now, not after the
    // user approved the sign-in in the browser.
    SecretStore store = TRY(SecretStore::open(TRY(home())));
    TRY(store.check_writable());
    std::string token;
    if (!flags_.token.empty()) {
      token = TRY(token_from_flags());
      if (token.empty()) return make_error(ErrorKind::kInvalidArgument, "the token is empty");
    } else {
      CloudClient anonymous = TRY(client(url, ""));
      token = TRY(device_flow(anonymous));
    }
    register_secret(token);
    CloudClient signed_in = TRY(client(url, token));
    nlohmann::json who = TRY(me(signed_in));

    const std::filesystem::path joey_home_dir = TRY(home());
    TRY(store.set(kCloudSecretName, token));
    Result<ConfigEdit> saved =
        set_config_value(joey_home_dir / "config.toml", ConfigScope::kGlobal, "cloud.url", url);
    if (!saved.ok()) return saved.error().with_context("saving cloud.url");
    *io_.out << "Signed in to " << sanitize_for_terminal(url) << " as "
             << sanitize_for_terminal(who["user"]["email"].get<std::string>()) << " (token kept in "
             << backend_name(store.backend()) << ")\n";
    return kExitOk;
  }

  Result<int> run_whoami() {
    CloudCredentials found = TRY(credentials());
    CloudClient signed_in = TRY(client(found.url, found.token));
    nlohmann::json who = TRY(me(signed_in));
    if (flags_.json) {
      *io_.out << who.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      return kExitOk;
    }
    const nlohmann::json& user = who["user"];
    *io_.out << sanitize_for_terminal(user.value("email", "")) << " ("
             << sanitize_for_terminal(user.value("name", "")) << ") on "
             << sanitize_for_terminal(found.url) << "\n";
    const nlohmann::json* organizations = array_field(who, "organizations");
    if (organizations && !organizations->empty()) {
      *io_.out << "organizations:\n";
      for (const nlohmann::json& organization : *organizations) {
        const std::string* name = string_field(organization, "name");
        const std::string* role = string_field(organization, "role");
        *io_.out << "  " << sanitize_for_terminal(name ? *name : "?") << " ("
                 << sanitize_for_terminal(role ? *role : "?") << ")\n";
      }
    }
    return kExitOk;
  }

  Result<int> run_logout() {
    CloudCredentials found = TRY(credentials());
    bool revoked = false;
    if (Result<CloudClient> signed_in = client(found.url, found.token); signed_in.ok()) {
      Result<CloudResponse> answer = signed_in->call("POST", "/api/auth/logout");
      // 401: the token was already revoked or expired — signed out either way.
      revoked = answer.ok() && (answer->ok() || answer->status == 401);
      if (!revoked) {
        const std::string why = answer.ok() ? CloudClient::error_for(*answer, "revoking").message
                                            : answer.error().message;
        *io_.err << "joey: warning: the token could not be revoked on the server ("
                 << sanitize_for_terminal(redact(why))
                 << "); revoke it in the web app under Tokens\n";
      }
    }
    if (found.source == "environment") {
      *io_.out << (revoked ? "Token revoked. " : "")
               << "JOEY_CLOUD_TOKEN is still set in your environment; unset it.\n";
      return revoked ? kExitOk : kExitFailed;
    }
    SecretStore store = TRY(SecretStore::open(TRY(home())));
    TRY(store.remove(kCloudSecretName));
    *io_.out << "Signed out of " << sanitize_for_terminal(found.url) << "\n";
    return kExitOk;
  }

  const LoginCommandIo& io_;
  LoginFlags flags_;
};

void add_connection_flags(CLI::App* command, LoginFlags& flags) {
  command->add_flag("--allow-insecure", flags.allow_insecure,
                    "allow plain http to a server that is not on this machine");
  command->add_option("--ca-cert", flags.ca_cert,
                      "PEM file of a certificate authority to trust besides the system store");
}

}  // namespace

void register_login_commands(CLI::App& app, int& exit_code) {
  static LoginCommandIo io{&std::cout, &std::cerr, 0, {}, {}, {}, std::chrono::milliseconds(1000)};
  register_login_commands(app, exit_code, io);
}

void register_login_commands(CLI::App& app, int& exit_code, const LoginCommandIo& io) {
  auto flags = std::make_shared<LoginFlags>();

  CLI::App* login = app.add_subcommand("login", "sign in to a joey Cloud");
  login->add_option("--server", flags->server,
                    "the Cloud's URL (default: the cloud.url setting, else JOEY_CLOUD_URL)");
  login->add_option("--token", flags->token,
                    "sign in with a personal access token instead of the browser; - reads it "
                    "from stdin (keeps it out of the process list)");
  login->add_flag("--no-browser", flags->no_browser, "print the URL, do not open a browser");
  add_connection_flags(login, *flags);
  login->callback([&io, flags, &exit_code] { exit_code = LoginInvocation(io, *flags).login(); });

  CLI::App* whoami = app.add_subcommand("whoami", "show who joey is signed in to the Cloud as");
  whoami->add_flag("--json", flags->json, "print the server's answer as JSON");
  add_connection_flags(whoami, *flags);
  whoami->callback([&io, flags, &exit_code] { exit_code = LoginInvocation(io, *flags).whoami(); });

  CLI::App* logout =
      app.add_subcommand("logout", "revoke joey's Cloud token on the server and forget it");
  add_connection_flags(logout, *flags);
  logout->callback([&io, flags, &exit_code] { exit_code = LoginInvocation(io, *flags).logout(); });
}

}  // namespace joey::client
