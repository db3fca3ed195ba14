// The model proxy's routes (issue 8 §1, §2): POST /proxy/v1/chat/completions (OpenAI
// Chat Completions), POST /proxy/v1/responses (OpenAI's Responses API, OpenAI and
// OpenRouter models), POST /proxy/v1/messages (Anthropic Messages), POST
// /proxy/v1/messages/count_tokens (Anthropic's token count, admitted and recorded like a
// message but metering nothing), GET /proxy/v1/models and GET /proxy/v1/models/{id}. ProxyService
// (cloud/proxy_service.h) decides and records; these routes relay the bytes: the request goes
// upstream through the pooled client (cloud/upstream_client.h) and the answer comes back piece by
// piece as it arrives, SSE events unchanged (cloud/proxy_stream.h meters them), never buffered
// whole. A client that disconnects cancels the upstream request at once; an upstream that cannot be
// reached, times out or cuts its stream is answered in the client protocol's error shape (502,
// 504), or — once streaming began — by closing the connection, so the client sees a truncated
// stream rather than a clean end.
//
// Errors are answered in the client's protocol: OpenAI's {"error": {...}} on the chat
// and responses routes, Anthropic's {"type": "error", ...} on the messages routes — the router's
// own refusals under /proxy/ too (Router::set_error_dialect).
//
// Thread-safety: `proxy` and `pool` must outlive the router; handlers run on many
// connections at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "cloud/http_server.h"
#include "cloud/proxy_service.h"
#include "cloud/router.h"

namespace joey::cloud {

class UpstreamPool;

// The error shape of the proxy's refusals that come before a route runs (unknown path,
// wrong method, too large, not JSON), for Router::set_error_dialect: the Messages API's
// for its paths and for clients that say they speak it (Anthropic's SDKs send
// anthropic-version on every request), else Chat Completions'. The SDKs read
// `error.type` and `error.message` from it.
HttpResponse proxy_error_dialect(std::string_view raw_path, const HeaderFields& headers, int status,
                                 std::string_view code, std::string_view message);

// The largest request body the proxy accepts (long conversations with images).
inline constexpr size_t kMaxProxyBodyBytes = 32 * 1024 * 1024;

// How the proxy talks to its upstreams (the subset of UpstreamOptions joeyd's flags set).
struct UpstreamSettings {
  std::string extra_ca_file;  // PEM trusted besides the system store; empty: none
  std::chrono::milliseconds first_byte_timeout{300'000};  // request sent -> response head
  std::chrono::milliseconds idle_timeout{120'000};        // longest gap between body bytes
  // Idle connections kept per upstream. A client connection holds at most one upstream
  // connection at a time, so as many as the server accepts means a steady load never
  // reconnects; a pool smaller than the concurrency closes connections only to open them
  // again (a TLS handshake each).
  size_t max_idle_per_host = kDefaultMaxConnections;
};

// The proxy's pooled upstream client (cloud/upstream_client.h). Here so that callers
// need not include Asio.
Result<std::shared_ptr<UpstreamPool>> make_upstream_pool(const UpstreamSettings& settings);
// UpstreamPool::shutdown(): closes its idle connections and stops pooling.
void shut_down_upstream_pool(UpstreamPool& pool);

void register_proxy_routes(Router& router, ProxyService& proxy, std::shared_ptr<UpstreamPool> pool);

}  // namespace joey::cloud
