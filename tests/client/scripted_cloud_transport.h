// A scripted joey Cloud for the agent's unit tests: a transport that answers each
// request with what a test's handler decides, records every request, and may be used
// from the upload's sender thread.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"
#include "llm/http_transport.h"

namespace joey::client::testing {

struct CloudAnswer {
  long status = 200;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  bool network_error = false;
};

struct ScriptedCloud {
  std::function<CloudAnswer(const llm::HttpRequest&)> handler;

  std::vector<llm::HttpRequest> requests() {
    std::lock_guard lock(mutex);
    return recorded;
  }
  // The recorded requests whose URL contains `part` (and, when given, of that method).
  std::vector<llm::HttpRequest> requests_to(const std::string& part,
                                            const std::string& method = "") {
    std::vector<llm::HttpRequest> found;
    for (const llm::HttpRequest& request : requests()) {
      if (request.url.find(part) != std::string::npos &&
          (method.empty() || request.method == method)) {
        found.push_back(request);
      }
    }
    return found;
  }

  std::mutex mutex;
  std::vector<llm::HttpRequest> recorded;
};

class ScriptedCloudTransport final : public llm::HttpTransport {
 public:
  explicit ScriptedCloudTransport(ScriptedCloud* cloud) : cloud_(cloud) {}
  Result<llm::HttpResponseHead> perform(const llm::HttpRequest& request, const llm::HttpTimeouts&,
                                        const llm::HttpCallbacks& callbacks) override {
    CloudAnswer answer;
    {
      std::lock_guard lock(cloud_->mutex);
      cloud_->recorded.push_back(request);
    }
    answer = cloud_->handler ? cloud_->handler(request) : CloudAnswer{};
    if (answer.network_error) return make_error(ErrorKind::kNetwork, "connection refused");
    llm::HttpResponseHead head;
    head.status = answer.status;
    head.headers = answer.headers;
    if (callbacks.on_head) callbacks.on_head(head);
    if (!answer.body.empty() && callbacks.on_body) TRY(callbacks.on_body(answer.body));
    return head;
  }

 private:
  ScriptedCloud* cloud_;
};

// The header `name` of `request`, or "" when absent.
inline std::string header_of(const llm::HttpRequest& request, const std::string& name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return "";
}

inline std::string agent_settings_body(bool enabled, const std::string& user_id = "u1") {
  return std::string(R"({"organization":null,"user":{"id":")") + user_id +
         R"(","settings":{"task_sync_enabled":)" + (enabled ? "true" : "false") +
         R"(}},"policy":{"version":1,"url":"x"},"collection":{"enabled":)" +
         (enabled ? "true" : "false") + R"(,"source":"user"}})";
}

}  // namespace joey::client::testing
