// Sending a conversation to the configured model and streaming the answer back.
//
// ModelClient is the interface the task loop uses (tests may substitute their own);
// make_model_client() builds the real one: the provider's wire codec over an
// HttpTransport, with bounded retries (exponential backoff with jitter, honouring
// Retry-After) for rate limits, server errors, dropped connections and timeouts,
// and errors a user can act on for everything else.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/cancel.h"
#include "base/result.h"
#include "llm/conversation.h"
#include "llm/http_transport.h"
#include "llm/provider.h"

namespace joey::llm {

struct RetryPolicy {
  int max_attempts = 4;  // the first try and three retries
  std::chrono::milliseconds base_delay{1000};
  std::chrono::milliseconds max_delay{30'000};
  std::chrono::milliseconds max_retry_after{60'000};  // a longer Retry-After fails at once
};

// Told before each retry, e.g. to show "rate limited; retrying in 2.0 s (2/4)".
struct RetryNotice {
  int next_attempt = 0;
  int max_attempts = 0;
  std::chrono::milliseconds delay{0};
  std::string reason;
};

class ModelClient {
 public:
  virtual ~ModelClient() = default;
  virtual Result<ChatResponse> send(const ChatRequest& request, const StreamCallbacks& callbacks) = 0;
};

struct ModelClientOptions {
  HttpTimeouts timeouts;
  RetryPolicy retry;
  std::function<void(const RetryNotice&)> on_retry;
  const Cancellation* cancellation = nullptr;
};

std::unique_ptr<ModelClient> make_model_client(ProviderConfig config, HttpTransport& transport,
                                               ModelClientOptions options);

// Turns a provider's HTTP error into an Error a user can act on (401/403 → which key
// to set; 404 on a model → how to list models; context overflow; 429; 5xx).
Error provider_http_error(const ProviderConfig& config, long status, std::string_view body);

// The delay before retry number `retry` (1-based): Retry-After when the provider
// sent one, else base·2^(retry-1) with full jitter, capped.
std::chrono::milliseconds retry_delay(const RetryPolicy& policy, int retry,
                                      const std::string& retry_after_header);

// GET the provider's model listing; returns the model ids.
Result<std::vector<std::string>> list_models(const ProviderConfig& config, HttpTransport& transport,
                                             const HttpTimeouts& timeouts);

}  // namespace joey::llm
