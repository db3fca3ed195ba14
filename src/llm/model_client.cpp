#include "llm/model_client.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "base/log.h"
#include "base/redact.h"
#include "base/strings.h"
#include "llm/anthropic_protocol.h"
#include "llm/openai_protocol.h"
#include "llm/sse.h"

namespace joey::llm {
namespace {

// How messages name the provider: "the joey Cloud" for the Cloud's proxy, else its name.
std::string provider_label(const ProviderConfig& config) {
  return config.info.name == "cloud" ? "the joey Cloud" : config.info.name;
}

bool is_anthropic(const ProviderConfig& config) {
  return config.info.protocol == WireProtocol::kAnthropicMessages;
}

bool mentions_context_overflow(const std::string& message) {
  std::string text = ascii_lower(message);
  for (const char* marker :
       {"context_length_exceeded", "context length", "context window", "prompt is too long",
        "too many tokens", "maximum context", "exceeds the context", "input is too long"}) {
    if (text.find(marker) != std::string::npos) return true;
  }
  return false;
}

bool retryable(ErrorKind kind) {
  return kind == ErrorKind::kRateLimited || kind == ErrorKind::kServer ||
         kind == ErrorKind::kNetwork || kind == ErrorKind::kTimeout;
}

// Collects a response: an SSE stream fed to the protocol's decoder, or — when the
// server answered with plain JSON (an error, or a server that ignores "stream") —
// the whole body for the non-streaming parser.
class ResponseReader {
 public:
  ResponseReader(const ProviderConfig& config, const StreamCallbacks& callbacks)
      : anthropic_(is_anthropic(config)),
        openai_decoder_(callbacks),
        anthropic_decoder_(callbacks) {}

  void on_head(const HttpResponseHead& head) {
    status_ = head.status;
    streaming_ =
        status_ >= 200 && status_ < 300 &&
        ascii_lower(head.header("content-type")).find("text/event-stream") != std::string::npos;
  }

  Status on_body(std::string_view chunk) {
    if (!streaming_) {
      constexpr size_t kMaxBody = 64 << 20;
      if (body_.size() + chunk.size() > kMaxBody) {
        return make_error(ErrorKind::kProtocol, "the provider's response is larger than 64 MiB");
      }
      body_.append(chunk);
      return ok_status();
    }
    return parser_.feed(chunk, [this](const SseEvent& event) -> Status {
      return anthropic_ ? anthropic_decoder_.on_event(event) : openai_decoder_.on_event(event);
    });
  }

  long status() const { return status_; }
  const std::string& body() const { return body_; }

  Result<ChatResponse> finish() {
    if (streaming_) return anthropic_ ? anthropic_decoder_.finish() : openai_decoder_.finish();
    return anthropic_ ? anthropic_parse_response(body_) : openai_parse_response(body_);
  }

 private:
  bool anthropic_;
  long status_ = 0;
  bool streaming_ = false;
  std::string body_;
  SseParser parser_;
  OpenAiStreamDecoder openai_decoder_;
  AnthropicStreamDecoder anthropic_decoder_;
};

class HttpModelClient final : public ModelClient {
 public:
  HttpModelClient(ProviderConfig config, HttpTransport& transport, ModelClientOptions options)
      : config_(std::move(config)), transport_(transport), options_(std::move(options)) {}

  Result<ChatResponse> send(const ChatRequest& request, const StreamCallbacks& callbacks) override {
    HttpRequest http;
    http.purpose = "model";
    http.url = chat_endpoint(config_);
    http.headers = provider_headers(config_);
    http.headers.emplace_back("Accept", "text/event-stream");
    nlohmann::json body = is_anthropic(config_) ? anthropic_request_body(request, true)
                                                : openai_request_body(request, true);
    http.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);

    const int attempts = std::max(1, options_.retry.max_attempts);
    for (int attempt = 1;; ++attempt) {
      RetryAdvice advice;
      Result<ChatResponse> response = attempt_once(http, callbacks, advice);
      // A server that says whether to try again is obeyed (x-should-retry, as the official
      // SDKs do): the joey proxy says "false" for a provider it has no key for.
      const bool again =
          advice.should_retry == "true" ||
          (advice.should_retry != "false" && !response.ok() && retryable(response.error().kind));
      if (response.ok() || !again || attempt >= attempts) return response;
      std::chrono::milliseconds delay = retry_delay(options_.retry, attempt, advice.retry_after);
      if (delay > options_.retry.max_retry_after) return response;
      log::info("provider_retry",
                {log::field("attempt", static_cast<int64_t>(attempt + 1)),
                 log::field("delay_ms", static_cast<int64_t>(delay.count())),
                 log::field("kind", std::string_view(error_kind_name(response.error().kind)))});
      if (options_.on_retry) {
        options_.on_retry(RetryNotice{attempt + 1, attempts, delay, response.error().message});
      }
      if (options_.cancellation && !options_.cancellation->sleep_for(delay)) {
        return make_error(ErrorKind::kCancelled, "cancelled");
      }
      if (!options_.cancellation) std::this_thread::sleep_for(delay);
    }
  }

 private:
  // What a failed answer's head says about trying again.
  struct RetryAdvice {
    std::string retry_after;   // Retry-After
    std::string should_retry;  // x-should-retry: "true", "false" or none
  };

  Result<ChatResponse> attempt_once(const HttpRequest& http, const StreamCallbacks& callbacks,
                                    RetryAdvice& advice) {
    ResponseReader reader(config_, callbacks);
    HttpCallbacks http_callbacks;
    http_callbacks.on_head = [&](const HttpResponseHead& head) {
      reader.on_head(head);
      advice.retry_after = head.header("retry-after");
      advice.should_retry = head.header("x-should-retry");
    };
    http_callbacks.on_body = [&](std::string_view chunk) { return reader.on_body(chunk); };
    Result<HttpResponseHead> head = transport_.perform(http, options_.timeouts, http_callbacks);
    if (!head.ok()) {
      const Error& error = head.error();
      if (error.kind == ErrorKind::kNetwork) {
        return make_error(ErrorKind::kNetwork, "could not reach " + provider_label(config_) +
                                                   " at " + config_.base_url + ": " +
                                                   error.message);
      }
      if (error.kind == ErrorKind::kTimeout) {
        return make_error(ErrorKind::kTimeout, provider_label(config_) + ": " + error.message);
      }
      return error;
    }
    if (reader.status() < 200 || reader.status() >= 300) {
      return provider_http_error(config_, reader.status(), reader.body());
    }
    Result<ChatResponse> response = reader.finish();
    if (!response.ok() && response.error().kind == ErrorKind::kNetwork) {
      return make_error(ErrorKind::kNetwork, "the connection to " + config_.info.name +
                                                 " closed mid-response (" +
                                                 response.error().message + ")");
    }
    return response;
  }

  ProviderConfig config_;
  HttpTransport& transport_;
  ModelClientOptions options_;
};

}  // namespace

Error provider_http_error(const ProviderConfig& config, long status, std::string_view body) {
  // The body is the provider's text: it may echo the key or a token, so it is redacted
  // before it reaches a message the user (or a log, or the history) sees.
  std::string detail =
      redact(is_anthropic(config) ? anthropic_error_message(body) : openai_error_message(body));
  const bool cloud = config.info.name == "cloud";
  const std::string provider = provider_label(config);
  std::string suffix =
      " (HTTP " + std::to_string(status) + (detail.empty() ? "" : ": " + detail) + ")";
  if (cloud && status == 401) {
    return make_error(ErrorKind::kAuth, provider + " rejected the token" + suffix +
                                            "; sign in again with `joey login URL`");
  }
  if (cloud && (status == 402 || status == 403)) {
    // The organization's policy: its allow-list (403) or its monthly budget (402).
    return make_error(ErrorKind::kPermissionDenied, provider + " refused the request" + suffix);
  }
  if (status == 401 || status == 403) {
    std::string fix = config.info.key_variable.empty()
                          ? "check the server's own authentication settings"
                          : "check the key in " + config.info.key_variable;
    return make_error(ErrorKind::kAuth, provider + " rejected the API key" + suffix + "; " + fix);
  }
  if (mentions_context_overflow(detail) || status == 413) {
    return make_error(ErrorKind::kContextOverflow,
                      "the conversation no longer fits in " + config.model + "'s context window" +
                          suffix +
                          "; start a new task with a narrower request or choose a model with a "
                          "larger context");
  }
  if (status == 404) {
    std::string text = ascii_lower(detail);
    if (text.find("model") != std::string::npos || detail.empty()) {
      return make_error(ErrorKind::kUnknownModel,
                        provider + " does not know the model '" + config.model + "'" + suffix +
                            "; list the models it offers with: joey models --provider " +
                            config.info.name +
                            (cloud ? std::string() : " --base-url " + config.base_url));
    }
    return make_error(
        ErrorKind::kNotFound,
        provider + " has no endpoint " + chat_endpoint(config) + suffix +
            (cloud ? "; is this joeyd too old for its model proxy?" : "; check --base-url"));
  }
  if (status == 429)
    return make_error(ErrorKind::kRateLimited, provider + " is rate limiting" + suffix);
  if (cloud && status == 503) {
    // The proxy's own refusal (no key for the provider, or shutting down): it is up and
    // answering, and its message says what to do.
    return make_error(ErrorKind::kServer, provider + " cannot serve this request" + suffix);
  }
  if (status >= 500) return make_error(ErrorKind::kServer, provider + " failed" + suffix);
  if (status == 400 && ascii_lower(detail).find("model") != std::string::npos &&
      (ascii_lower(detail).find("not found") != std::string::npos ||
       ascii_lower(detail).find("does not exist") != std::string::npos ||
       ascii_lower(detail).find("invalid model") != std::string::npos)) {
    return make_error(ErrorKind::kUnknownModel,
                      provider + " does not know the model '" + config.model + "'" + suffix +
                          "; list the models it offers with: joey models --provider " +
                          config.info.name);
  }
  return make_error(ErrorKind::kInvalidArgument, provider + " refused the request" + suffix);
}

std::chrono::milliseconds retry_delay(const RetryPolicy& policy, int retry,
                                      const std::string& retry_after_header) {
  using std::chrono::milliseconds;
  if (!retry_after_header.empty()) {
    bool all_digits = std::all_of(retry_after_header.begin(), retry_after_header.end(),
                                  [](unsigned char c) { return std::isdigit(c); });
    if (all_digits && retry_after_header.size() < 7) {
      return milliseconds(std::stol(retry_after_header) * 1000);
    }
    std::tm parsed{};  // HTTP-date, e.g. "Wed, 21 Oct 2015 07:28:00 GMT"
    if (strptime(retry_after_header.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &parsed)) {
      auto seconds = static_cast<long>(timegm(&parsed) - std::time(nullptr));
      return milliseconds(std::max(0L, seconds) * 1000);
    }
  }
  static thread_local std::mt19937_64 random(std::random_device{}());
  double ceiling = static_cast<double>(policy.base_delay.count()) * std::pow(2.0, retry - 1);
  ceiling = std::min(ceiling, static_cast<double>(policy.max_delay.count()));
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return milliseconds(static_cast<long>(ceiling * jitter(random)));
}

std::unique_ptr<ModelClient> make_model_client(ProviderConfig config, HttpTransport& transport,
                                               ModelClientOptions options) {
  return std::make_unique<HttpModelClient>(std::move(config), transport, std::move(options));
}

Result<std::vector<std::string>> list_models(const ProviderConfig& config, HttpTransport& transport,
                                             const HttpTimeouts& timeouts) {
  HttpRequest http;
  http.method = "GET";
  http.purpose = "model";
  http.url = models_endpoint(config);
  http.headers = provider_headers(config);
  std::string body;
  HttpCallbacks callbacks;
  callbacks.on_body = [&](std::string_view chunk) -> Status {
    if (body.size() + chunk.size() > (32u << 20)) {
      return make_error(ErrorKind::kProtocol, "the models listing is larger than 32 MiB");
    }
    body.append(chunk);
    return ok_status();
  };
  Result<HttpResponseHead> performed = transport.perform(http, timeouts, callbacks);
  if (!performed.ok()) {
    return performed.error().with_context("listing models at " + http.url);
  }
  HttpResponseHead head = std::move(performed).value();
  if (head.status < 200 || head.status >= 300) {
    Error error = provider_http_error(config, head.status, body);
    if (error.kind == ErrorKind::kUnknownModel) {
      return make_error(ErrorKind::kNotFound, config.info.name + " has no model listing at " +
                                                  http.url + " (HTTP " +
                                                  std::to_string(head.status) + ")");
    }
    return error;
  }
  nlohmann::json document = parse_json(body);
  if (document.is_discarded() || !document.is_object()) {
    return make_error(ErrorKind::kProtocol, "the models listing at " + http.url + " is not JSON");
  }
  std::vector<std::string> ids;
  const nlohmann::json& list = document.contains("data") ? document["data"] : document["models"];
  if (list.is_array()) {
    for (const nlohmann::json& model : list) {
      if (model.is_object() && model.contains("id") && model["id"].is_string()) {
        ids.push_back(model["id"].get<std::string>());
      }
    }
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace joey::llm
