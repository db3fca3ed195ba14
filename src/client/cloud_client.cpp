#include "client/cloud_client.h"

#include <cstdlib>
#include <utility>

#include "base/json.h"
#include "base/redact.h"
#include "client/secret_store.h"
#include "client/settings.h"
#include "llm/provider.h"

namespace joey::client {
namespace {

constexpr size_t kMaxAnswerBytes = 4 << 20;

const llm::HttpTimeouts kCloudTimeouts{std::chrono::milliseconds(10'000),
                                       std::chrono::milliseconds(30'000),
                                       std::chrono::milliseconds(30'000)};

std::string value_of(const std::map<std::string, std::string>& environment,
                     const std::string& name) {
  const auto found = environment.find(name);
  return found == environment.end() ? std::string() : found->second;
}

}  // namespace

std::map<std::string, std::string> cloud_environment() {
  std::map<std::string, std::string> environment;
  for (const char* name : {"JOEY_CLOUD_URL", "JOEY_CLOUD_TOKEN"}) {
    if (const char* value = std::getenv(name); value && *value) environment[name] = value;
  }
  return environment;
}

Result<std::string> normalize_cloud_url(const std::string& url, bool allow_insecure) {
  std::string trimmed = url;
  while (!trimmed.empty() && trimmed.back() == '/') trimmed.pop_back();
  if (!trimmed.starts_with("https://") && !trimmed.starts_with("http://")) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the Cloud URL must start with https:// (got \"" + url + "\")");
  }
  if (trimmed.find_first_of("?#") != std::string::npos) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the Cloud URL must not carry a query or fragment: " + url);
  }
  Status allowed = llm::check_url_allowed(trimmed, allow_insecure);
  if (!allowed.ok()) return allowed.error();
  return trimmed;
}

Result<std::optional<CloudCredentials>> load_cloud_credentials(
    const std::filesystem::path& joey_home, const Settings& settings,
    const std::map<std::string, std::string>& environment) {
  const std::string env_url = value_of(environment, "JOEY_CLOUD_URL");
  const std::string env_token = value_of(environment, "JOEY_CLOUD_TOKEN");
  if (!env_token.empty()) {
    if (env_url.empty()) {
      return make_error(ErrorKind::kInvalidArgument,
                        "JOEY_CLOUD_TOKEN is set but JOEY_CLOUD_URL is not: set both, or "
                        "neither and run `joey login`");
    }
    register_secret(env_token);
    return std::optional<CloudCredentials>(CloudCredentials{env_url, env_token, "environment"});
  }
  std::string url = env_url.empty() ? settings.get_string("cloud.url") : env_url;
  if (url.empty()) return std::optional<CloudCredentials>();
  Result<std::optional<std::string>> token = stored_key(joey_home, kCloudSecretName);
  if (!token.ok()) return token.error();
  if (!token->has_value()) return std::optional<CloudCredentials>();
  register_secret(**token);
  while (!url.empty() && url.back() == '/') url.pop_back();
  return std::optional<CloudCredentials>(CloudCredentials{url, **token, "login"});
}

std::string CloudResponse::error_code() const {
  const nlohmann::json* error = object_field(body, "error");
  const std::string* code = error ? string_field(*error, "code") : nullptr;
  return code ? *code : std::string();
}

std::string CloudResponse::error_message() const {
  const nlohmann::json* error = object_field(body, "error");
  const std::string* message = error ? string_field(*error, "message") : nullptr;
  return message ? redact(*message) : std::string();
}

CloudClient::CloudClient(std::string url, std::string token,
                         std::unique_ptr<llm::HttpTransport> transport)
    : url_(std::move(url)), token_(std::move(token)), transport_(std::move(transport)) {}

Result<CloudResponse> CloudClient::call(const std::string& method, const std::string& path,
                                        const std::optional<nlohmann::json>& body) {
  llm::HttpRequest request;
  request.method = method;
  request.url = url_ + path;
  request.purpose = "cloud";
  request.headers.emplace_back("Accept", "application/json");
  if (!token_.empty()) request.headers.emplace_back("Authorization", "Bearer " + token_);
  if (body) {
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = body->dump();
  }
  std::string answer;
  llm::HttpCallbacks callbacks;
  callbacks.on_body = [&answer](std::string_view chunk) -> Status {
    if (answer.size() + chunk.size() > kMaxAnswerBytes) {
      return make_error(ErrorKind::kProtocol, "the Cloud's answer is larger than 4 MiB");
    }
    answer.append(chunk);
    return ok_status();
  };
  Result<llm::HttpResponseHead> head = transport_->perform(request, kCloudTimeouts, callbacks);
  if (!head.ok()) return head.error().with_context("reaching the joey Cloud at " + url_);
  CloudResponse response;
  response.status = head->status;
  if (!answer.empty()) {
    response.body = parse_json(answer);
    if (response.body.is_discarded()) {
      return make_error(ErrorKind::kProtocol,
                        "the server at " + url_ + " did not answer with JSON (HTTP " +
                            std::to_string(head->status) + "); is it a joey Cloud?");
    }
  }
  return response;
}

Error CloudClient::error_for(const CloudResponse& response, const std::string& doing) {
  ErrorKind kind = ErrorKind::kInvalidArgument;
  if (response.status == 401) kind = ErrorKind::kAuth;
  if (response.status == 403) kind = ErrorKind::kPermissionDenied;
  if (response.status == 404) kind = ErrorKind::kNotFound;
  if (response.status == 429) kind = ErrorKind::kRateLimited;
  if (response.status >= 500) kind = ErrorKind::kServer;
  std::string message = response.error_message();
  if (message.empty()) message = "HTTP " + std::to_string(response.status);
  return Error(kind, doing + ": " + message);
}

}  // namespace joey::client
