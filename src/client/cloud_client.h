// The agent's client for the joey Cloud API (joeyd, docs/openapi.yaml): which server the
// user is signed in to, with which token, and one call that speaks the API's JSON.
//
// Credentials, in order:
//   1. JOEY_CLOUD_URL and JOEY_CLOUD_TOKEN (both set): headless use, nothing stored;
//   2. the setting cloud.url (user level only — a workspace file cannot point joey at
//      another server) and the token `joey login` keeps in the secret store under the
//      name "cloud" (the keyring, else the 0600 secrets file; P2).
// The token is a credential: it is registered with the redactor, sent only in the
// Authorization header of requests to its own server, and never printed or logged.
//
// Requests are recorded in the egress log with purpose "cloud" (P13); redirects are
// never followed; plain http only to loopback unless allow_insecure (P3).
//
// Thread-safety: a CloudClient is used by one thread at a time.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "llm/http_transport.h"

namespace joey::client {

class Settings;

// The secret store name the Cloud token is kept under.
inline constexpr const char* kCloudSecretName = "cloud";

struct CloudCredentials {
  std::string url;     // the server's base URL, no trailing slash
  std::string token;   // a personal access token (joey_pat_…)
  std::string source;  // "environment" or "login"
};

// The environment variables read by load_cloud_credentials.
std::map<std::string, std::string> cloud_environment();

// nullopt when not signed in. kInvalidArgument when only one of the two variables is
// set; a secret store that cannot be read gives its error.
Result<std::optional<CloudCredentials>> load_cloud_credentials(
    const std::filesystem::path& joey_home, const Settings& settings,
    const std::map<std::string, std::string>& environment);

// `url` without trailing slashes, checked against P3 (https, or http to loopback, or
// allow_insecure). kInvalidArgument with a message naming the URL otherwise.
Result<std::string> normalize_cloud_url(const std::string& url, bool allow_insecure);

struct CloudResponse {
  long status = 0;
  nlohmann::json body;  // the parsed JSON answer (null for an empty body)
  bool ok() const { return status >= 200 && status < 300; }
  // The API's {"error": {"code", "message"}}; empty when absent.
  std::string error_code() const;
  std::string error_message() const;
};

class CloudClient {
 public:
  // `token` may be empty (calls that need no sign-in). `transport` must outlive nothing
  // else; the client owns it.
  CloudClient(std::string url, std::string token, std::unique_ptr<llm::HttpTransport> transport);

  // METHOD url+path with `body` as JSON when given. Any HTTP status is a CloudResponse;
  // an Error only when no valid answer came: kNetwork/kTimeout/kCancelled from the
  // transport, kProtocol for a body that is not JSON or is larger than 4 MiB.
  Result<CloudResponse> call(const std::string& method, const std::string& path,
                             const std::optional<nlohmann::json>& body = std::nullopt);

  // The Error for an unsuccessful response: kAuth (401), kPermissionDenied (403),
  // kNotFound (404), kRateLimited (429), kServer (5xx), else kInvalidArgument; the
  // message is the server's, prefixed with what was being done.
  static Error error_for(const CloudResponse& response, const std::string& doing);

  const std::string& url() const { return url_; }

 private:
  std::string url_;
  std::string token_;
  std::unique_ptr<llm::HttpTransport> transport_;
};

}  // namespace joey::client
