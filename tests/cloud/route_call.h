// Calls a joeyd Router the way the HTTP server would, without sockets: for tests of
// routes. Header-only.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "cloud/router.h"

namespace joey::cloud::testing {

struct Reply {
  int status = 0;
  nlohmann::json body;  // null for an empty or non-JSON body
  std::vector<std::pair<std::string, std::string>> headers;

  std::string header(const std::string& name) const {
    for (const auto& [key, value] : headers) {
      if (key == name) return value;
    }
    return "";
  }
  std::string message() const {
    return body.is_object() && body.contains("error") ? body["error"].value("message", "") : "";
  }
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// METHOD `path` (with an optional "?query") with `body` as JSON (unless null), from
// `address`, to a server reached at 127.0.0.1:8420.
inline Reply call_route(const Router& router, const std::string& method, const std::string& path,
                        const nlohmann::json& body = nullptr, Headers headers = {},
                        const std::string& address = "127.0.0.1") {
  HttpRequest request;
  request.method = method;
  request.headers = std::move(headers);
  request.headers.emplace_back("host", "127.0.0.1:8420");
  request.remote_address = address;
  if (!body.is_null()) {
    request.body = body.dump();
    request.headers.emplace_back("content-type", "application/json");
  }
  const size_t question = path.find('?');
  if (question != std::string::npos) request.query = path.substr(question + 1);
  HttpResponse response = router.handle(request, path.substr(0, question));
  Reply reply{response.status, parse_json(response.body), response.headers};
  if (response.body.empty() || reply.body.is_discarded()) reply.body = nullptr;
  return reply;
}

}  // namespace joey::cloud::testing
