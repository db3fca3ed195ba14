#include "cloud/stream_route.h"  // first: Asio (cloud/asio.h)

#include "cloud/proxy_routes.h"

#include <stdexcept>
#include <variant>

#include "base/log.h"
#include "base/strings.h"
#include "cloud/upstream_client.h"

JOEY_COROUTINES_BEGIN
namespace joey::cloud {
namespace {

// Response headers worth passing on from the upstream: request ids (for support
// requests to the provider) and rate-limit advice. Nothing that names the upstream's
// account.
constexpr std::string_view kForwardedHeaders[] = {"retry-after", "x-request-id", "request-id"};

HttpResponse refusal_response(ProxyProtocol protocol, const ProxyRefusal& refusal) {
  HttpResponse response = HttpResponse::text(
      refusal.status, error_body(protocol, refusal.status, refusal.message), "application/json");
  if (refusal.retry_after_seconds) {
    response.headers.emplace_back("Retry-After", std::to_string(*refusal.retry_after_seconds));
  }
  if (!refusal.retry) response.headers.emplace_back("x-should-retry", "false");
  return response;
}

// Thrown to abandon a response that has begun: the transport then closes the connection,
// so the client sees a cut stream instead of a clean end.
struct StreamAbandoned : std::runtime_error {
  using std::runtime_error::runtime_error;
};

asio::awaitable<void> relay(ProxyService& proxy, UpstreamPool& pool, ProxyProtocol protocol,
                            ProxyCall call, HttpRequest& request, ResponseStream& response) {
  std::variant<ProxyTicket, ProxyRefusal> admitted = proxy.admit(request, protocol, call);
  if (const auto* refused = std::get_if<ProxyRefusal>(&admitted)) {
    HttpResponse refusal = refusal_response(protocol, *refused);
    (void)co_await response.respond(std::move(refusal));
    co_return;
  }
  ProxyTicket& ticket = std::get<ProxyTicket>(admitted);
  // The prepared body is what goes upstream; the client's copy is no longer needed.
  std::string().swap(request.body);

  // The URL, headers and body go to the upstream request; the ticket keeps what finish()
  // records.
  UpstreamRequest upstream{"POST", std::move(ticket.upstream_url),
                           std::move(ticket.upstream_headers), std::move(ticket.prepared.body)};
  Result<std::unique_ptr<UpstreamExchange>> sent = co_await pool.send(std::move(upstream));
  if (!sent.ok()) {
    const ErrorKind kind = sent.error().kind;
    const int status = kind == ErrorKind::kTimeout ? 504 : 502;
    log::warn("proxy_upstream_failed",
              {log::field("provider", upstream_provider_name(ticket.prepared.provider)),
               log::field("error", sent.error().message)});
    // The client learns which of the three went wrong, never the upstream's address.
    const char* what = kind == ErrorKind::kTimeout    ? "the model provider did not answer in time"
                       : kind == ErrorKind::kProtocol ? "the model provider sent an answer the "
                                                        "joey proxy could not read"
                                                      : "the joey proxy could not reach the "
                                                        "model provider";
    HttpResponse failure = refusal_response(
        protocol, ProxyRefusal{status,
                               std::string(what) + " (" +
                                   upstream_provider_name(ticket.prepared.provider) + ")",
                               std::nullopt});
    (void)co_await response.respond(std::move(failure));
    proxy.finish(ticket, status, MeteredUsage{});
    co_return;
  }
  std::unique_ptr<UpstreamExchange> exchange = std::move(*sent);
  UpstreamExchange* reading = exchange.get();
  response.on_client_gone([reading] { reading->cancel(); });

  const UpstreamHead& head = exchange->head();
  const std::string content_type = head.header("content-type");
  const bool event_stream = ascii_istarts_with(content_type, "text/event-stream");
  const bool strip = ticket.prepared.strip_usage_chunk && event_stream;
  StreamMeter meter(protocol, event_stream, strip);
  std::vector<std::pair<std::string, std::string>> headers;
  for (std::string_view name : kForwardedHeaders) {
    std::string value = head.header(name);
    if (!value.empty()) headers.emplace_back(std::string(name), std::move(value));
  }
  const int status = head.status;
  // Arguments of a co_await are named locals: g++ 12 may destroy a temporary made inside a
  // co_await expression twice.
  std::string answer_type = content_type.empty() ? "application/json" : content_type;
  const std::optional<uint64_t> answer_length = strip ? std::nullopt : head.content_length;
  // An event stream's head goes to the client at once. A JSON answer's head waits for its
  // first piece (usually the whole body, read with the head) and goes out with it in one
  // write.
  bool begun = false;
  if (event_stream) {
    Status started =
        co_await response.begin(status, std::move(answer_type), std::move(headers), answer_length);
    if (!started.ok()) {
      proxy.finish(ticket, 499, meter.usage());
      co_return;
    }
    begun = true;
  }
  std::string out;
  // Each round reads one piece (at most UpstreamExchange::kPieceBytes) and writes it; the
  // upstream's idle timeout and the client's write timeout bound every wait, and a body
  // ends or fails after finitely many pieces.
  for (;;) {
    Result<std::optional<std::string>> piece = co_await exchange->read_some();
    if (!piece.ok()) {
      const bool client_left = response.client_gone();
      if (!client_left) {
        log::warn("proxy_stream_cut",
                  {log::field("provider", upstream_provider_name(ticket.prepared.provider)),
                   log::field("error", piece.error().message)});
      }
      proxy.finish(ticket, client_left ? 499 : 502, meter.usage());
      if (client_left) co_return;
      if (!begun) {
        HttpResponse cut = refusal_response(
            protocol, ProxyRefusal{502,
                                   std::string("the model provider's answer was cut off (") +
                                       upstream_provider_name(ticket.prepared.provider) + ")",
                                   std::nullopt});
        (void)co_await response.respond(std::move(cut));
        co_return;
      }
      throw StreamAbandoned("the upstream stream was cut");
    }
    out.clear();
    const bool last = !*piece;
    Status fed = last ? meter.finish(out) : meter.feed(**piece, out);
    if (!fed.ok()) {
      log::warn("proxy_stream_malformed", {log::field("error", fed.error().message)});
      exchange->cancel();
      proxy.finish(ticket, 502, meter.usage());
      throw StreamAbandoned("the upstream stream was malformed");
    }
    Status written = ok_status();
    if (!begun) {
      begun = true;
      written = co_await response.begin(status, std::move(answer_type), std::move(headers),
                                        answer_length, out);
    } else if (!out.empty()) {
      written = co_await response.write(out);
    }
    if (written.ok() && last) written = co_await response.end();
    if (!written.ok() || last) {
      if (!written.ok()) exchange->cancel();
      proxy.finish(ticket, written.ok() ? status : 499, meter.usage());
      co_return;
    }
  }
}

std::shared_ptr<const StreamRoute> relay_route(ProxyService& proxy,
                                               std::shared_ptr<UpstreamPool> pool,
                                               ProxyProtocol protocol,
                                               ProxyCall call = ProxyCall::kAnswer) {
  return std::make_shared<StreamRoute>(
      [&proxy, pool = std::move(pool), protocol, call](
          HttpRequest& request, ResponseStream& response) -> asio::awaitable<void> {
        return relay(proxy, *pool, protocol, call, request, response);
      });
}

}  // namespace

Result<std::shared_ptr<UpstreamPool>> make_upstream_pool(const UpstreamSettings& settings) {
  UpstreamOptions options;
  options.extra_ca_file = settings.extra_ca_file;
  options.first_byte_timeout = settings.first_byte_timeout;
  options.idle_timeout = settings.idle_timeout;
  options.max_idle_per_host = settings.max_idle_per_host;
  return UpstreamPool::create(std::move(options));
}

void shut_down_upstream_pool(UpstreamPool& pool) { pool.shutdown(); }

namespace {

// Anthropic's SDKs send anthropic-version on every request; OpenAI's clients do not.
bool says_anthropic(const HeaderFields& headers) {
  return std::any_of(headers.begin(), headers.end(),
                     [](const auto& field) { return field.first == "anthropic-version"; });
}

// The shape of the model list and its refusals: Anthropic's for Anthropic's SDKs.
ProxyProtocol list_protocol(const HttpRequest& request) {
  return says_anthropic(request.headers) ? ProxyProtocol::kAnthropicMessages
                                         : ProxyProtocol::kOpenAIChat;
}

}  // namespace

HttpResponse proxy_error_dialect(std::string_view raw_path, const HeaderFields& headers, int status,
                                 std::string_view /*code*/, std::string_view message) {
  constexpr std::string_view kMessagesPath = "/proxy/v1/messages";
  const bool messages_path =
      raw_path.starts_with(kMessagesPath) &&
      (raw_path.size() == kMessagesPath.size() || raw_path[kMessagesPath.size()] == '/');
  const ProxyProtocol protocol = messages_path || says_anthropic(headers)
                                     ? ProxyProtocol::kAnthropicMessages
                                     : ProxyProtocol::kOpenAIChat;
  if (status == 404) {
    message =
        "no such endpoint: the joey proxy serves POST /proxy/v1/chat/completions, POST "
        "/proxy/v1/responses, POST /proxy/v1/messages, POST /proxy/v1/messages/count_tokens, GET "
        "/proxy/v1/models and GET /proxy/v1/models/{id}";
  }
  return HttpResponse::text(status, error_body(protocol, status, message), "application/json");
}

void register_proxy_routes(Router& router, ProxyService& proxy,
                           std::shared_ptr<UpstreamPool> pool) {
  router.set_error_dialect("/proxy/", proxy_error_dialect);
  const RouteOptions body{kMaxProxyBodyBytes, BodyKind::kJson};
  router.add_stream("POST", "/proxy/v1/chat/completions",
                    relay_route(proxy, pool, ProxyProtocol::kOpenAIChat), body);
  router.add_stream("POST", "/proxy/v1/responses",
                    relay_route(proxy, pool, ProxyProtocol::kOpenAIResponses), body);
  router.add_stream("POST", "/proxy/v1/messages",
                    relay_route(proxy, pool, ProxyProtocol::kAnthropicMessages), body);
  router.add_stream(
      "POST", "/proxy/v1/messages/count_tokens",
      relay_route(proxy, pool, ProxyProtocol::kAnthropicMessages, ProxyCall::kCountTokens), body);
  router.add("GET", "/proxy/v1/models",
             [&proxy](const HttpRequest& request) -> Result<HttpResponse> {
               const ProxyProtocol protocol = list_protocol(request);
               std::variant<nlohmann::json, ProxyRefusal> listed = proxy.models(request, protocol);
               if (const auto* refused = std::get_if<ProxyRefusal>(&listed)) {
                 return refusal_response(protocol, *refused);
               }
               return HttpResponse::json(200, std::get<nlohmann::json>(listed));
             });
  // One model of the list (the SDKs' models.retrieve), by its id with or without a
  // provider prefix; 404 in the client's shape for one the caller may not use here.
  router.add("GET", "/proxy/v1/models/{id}",
             [&proxy](const HttpRequest& request) -> Result<HttpResponse> {
               const ProxyProtocol protocol = list_protocol(request);
               std::variant<nlohmann::json, ProxyRefusal> listed = proxy.models(request, protocol);
               if (const auto* refused = std::get_if<ProxyRefusal>(&listed)) {
                 return refusal_response(protocol, *refused);
               }
               std::string_view id = request.path_param("id");
               for (std::string_view prefix : {"openai/", "anthropic/"}) {
                 if (id.starts_with(prefix)) id.remove_prefix(prefix.size());
               }
               for (const nlohmann::json& model : std::get<nlohmann::json>(listed)["data"]) {
                 if (model.value("id", "") == id) return HttpResponse::json(200, model);
               }
               return refusal_response(
                   protocol, ProxyRefusal{404,
                                          "the joey proxy offers no model '" +
                                              std::string(request.path_param("id")) +
                                              "' to you; GET /proxy/v1/models lists those it does",
                                          std::nullopt});
             });
}

}  // namespace joey::cloud
JOEY_COROUTINES_END
