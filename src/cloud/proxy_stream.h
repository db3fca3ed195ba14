// The I/O-free core of joeyd's zero-retention model proxy (issue 8): what the proxy
// routes do to a client's request body before it goes upstream, and what they do to
// the upstream's answer on its way back — forward it unchanged while reading the token
// usage out of it — without keeping any of it (P6).
//
// Nothing here touches a socket, a file or a log; the routes own the I/O. No function
// logs, and no error message quotes a body (messages name the field that is wrong).
//
// Thread-safety: the free functions are reentrant; a StreamMeter belongs to one
// response and is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "llm/conversation.h"
#include "llm/pricing.h"

namespace joey::cloud {

// The API a client speaks to the proxy: POST /proxy/v1/chat/completions, POST
// /proxy/v1/messages or POST /proxy/v1/responses (OpenAI's Responses API).
enum class ProxyProtocol { kOpenAIChat, kAnthropicMessages, kOpenAIResponses };

// Whether `protocol`'s errors have OpenAI's shape ({"error": {...}}).
constexpr bool speaks_openai_errors(ProxyProtocol protocol) {
  return protocol != ProxyProtocol::kAnthropicMessages;
}

// Where a request goes.
enum class UpstreamProvider { kOpenAI, kAnthropic, kOpenRouter };

// "openai", "anthropic", "openrouter".
const char* upstream_provider_name(UpstreamProvider provider);

// The environment variable joeyd reads the server operator's key for `provider` from:
// JOEYD_OPENAI_API_KEY, JOEYD_ANTHROPIC_API_KEY, JOEYD_OPENROUTER_API_KEY.
std::string operator_key_variable(UpstreamProvider provider);

struct PreparedRequest {
  std::string body;            // what to send upstream: the client's body, changed only as below
  std::string model;           // the model as the client named it ("openai/gpt-4o", "gpt-4o")
  std::string upstream_model;  // the model sent upstream (provider prefix removed)
  UpstreamProvider provider = UpstreamProvider::kOpenAI;
  bool stream = false;             // the client asked for a stream ("stream": true)
  bool strip_usage_chunk = false;  // OpenAI: the proxy asked for the usage chunk; hide it
};

// Reads a client's request body and prepares the one to send upstream.
//
// Errors (kInvalidArgument, naming the field): the body is not UTF-8, not JSON, not an
// object; "model" missing, not a string, empty, or only a provider prefix; "stream" not a
// boolean; "stream_options" not an object or null (when the proxy must change it); a
// top-level "model", "stream" or "stream_options" given twice (a proxy and an upstream
// that disagree about which copy counts would let a request slip past the allow-list);
// an "openai/" or "openrouter/" model on the Messages API (those upstreams do not speak it).
//
// Provider: the prefix "openai/", "anthropic/" or "openrouter/" picks it and is removed
// from upstream_model and from the body's "model"; without a prefix the protocol's own
// provider serves it (chat → OpenAI, messages → Anthropic). "anthropic/…" on the chat API
// is allowed: Anthropic serves an OpenAI-compatible chat endpoint.
//
// Usage chunk: an OpenAI chat request with "stream": true whose stream_options do not
// already say "include_usage": true gets it (other stream_options are kept), and
// strip_usage_chunk is set so the StreamMeter hides the extra chunk from the client.
//
// Everything else is kept byte for byte: the changes are spliced into the original text
// (only the "model" value and the stream_options are rewritten), so big integers, floats,
// escapes and key order survive; a body that needs no change is forwarded exactly as is.
Result<PreparedRequest> prepare_request(ProxyProtocol protocol, std::string_view body);

// Token counts read from an upstream response, in llm::Usage's convention:
// input_tokens counts only uncached input, so the four counts add up to everything
// billed. OpenAI: input = usage.prompt_tokens − prompt_tokens_details.cached_tokens,
// cache_read = cached_tokens, output = completion_tokens (as joey's own client,
// llm/openai_protocol.cpp). Anthropic: input_tokens, cache_read_input_tokens,
// cache_creation_input_tokens (→ cache_write) and output_tokens, from
// message_start.message.usage, then message_delta.usage (cumulative: the last value of
// each field wins).
struct MeteredUsage {
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cache_read_tokens = 0;
  int64_t cache_write_tokens = 0;
  bool seen = false;  // a usage object was read; false means the usage is unknown
  std::string model;  // the model as the upstream reported it, empty when not reported

  llm::Usage as_usage() const;
};

// Meters one upstream response body while relaying it.
//
// Streaming (text/event-stream): the bytes are parsed as Server-Sent Events (WHATWG
// rules: "\n", "\r\n" or "\r" line ends, one optional space after "data:", comments).
// Without strip_usage_chunk, every byte is appended to `out` as soon as it is fed, and
// at most the current unfinished event is remembered for metering. With
// strip_usage_chunk, each event is held until its blank line and then forwarded — except
// the OpenAI usage-only chunk (a JSON object whose "usage" is an object and whose
// "choices" is empty, null or absent), whose event is dropped whole (its usage is read),
// and the `"usage":null` member OpenAI adds to every other chunk once usage is asked for,
// which is cut out of the event's bytes: the client sees what it would get directly.
// Bytes the meter does not understand are forwarded unchanged and meter nothing. Usage
// comes from OpenAI's usage chunk, Anthropic's message_start and message_delta, and the
// response object of the Responses API's last event (response.completed, .incomplete or
// .failed).
//
// Non-streaming (a JSON body, including upstream error bodies even for stream requests:
// choose by the response's content type): every byte is forwarded when fed; the first
// max_json_bytes are kept to read "usage" at finish(); a longer body is forwarded but
// its usage stays unknown.
//
// Bounds: at most one unfinished event (max_event_bytes, counting its raw bytes) or
// max_json_bytes is held. Privacy: the held text is wiped (overwritten, then freed) by
// finish() and by the destructor; nothing is logged.
class StreamMeter {
 public:
  StreamMeter(ProxyProtocol protocol, bool streaming, bool strip_usage_chunk,
              size_t max_event_bytes = 1 << 20, size_t max_json_bytes = 8 << 20);
  ~StreamMeter();
  StreamMeter(const StreamMeter&) = delete;
  StreamMeter& operator=(const StreamMeter&) = delete;

  // Appends to `out` the bytes to forward for `bytes` (possibly none yet, when an event
  // is held). kProtocol when one event grows past max_event_bytes: the response cannot
  // be metered, and the caller should end it; `out` may already hold part of this feed.
  // After an error, or after finish(), the meter must not be fed again (kInternal).
  Status feed(std::string_view bytes, std::string& out);

  // Call once at the end of the body, whether it ended normally or was cut. Forwards
  // anything held (a final event without its blank line is forwarded as is, and its
  // usage counted when its data parses), completes the usage and wipes the held text.
  // Returns the feed error again if there was one.
  Status finish(std::string& out);

  const MeteredUsage& usage() const { return usage_; }
  // An SSE `error` event, an OpenAI chunk or JSON body with an "error" member, or an
  // Anthropic {"type":"error"} payload passed through.
  bool saw_error_event() const { return saw_error_; }
  // The response reached its protocol's end: OpenAI's "data: [DONE]", Anthropic's
  // message_stop, or (non-streaming) a complete JSON body. False for a cut stream.
  bool saw_end() const { return saw_end_; }

 private:
  Status feed_events(std::string_view bytes, std::string& out);
  Status add_line_text(std::string_view text);
  Status end_line(std::string_view terminator, std::string& out);
  void process_field(std::string_view line);
  void dispatch_event(std::string& out, bool at_finish);
  bool meter_event(std::string_view type, std::string_view data);
  bool meter_openai_chunk(std::string_view type, std::string_view data);
  void meter_anthropic_event(std::string_view type, std::string_view data);
  void meter_responses_event(std::string_view type, std::string_view data);
  void meter_json_body();
  void wipe_buffers();

  ProxyProtocol protocol_;
  bool streaming_;
  bool strip_;
  size_t max_event_bytes_;
  size_t max_json_bytes_;

  MeteredUsage usage_;
  bool saw_error_ = false;
  bool null_usage_ = false;  // the event being dispatched has a top-level "usage": null
  bool saw_end_ = false;
  bool finished_ = false;
  std::optional<Error> error_;
  // No byte has entered the buffers since wipe_buffers() last ran: the destructor after
  // finish() need not wipe them again (each wipe is a call into OpenSSL per buffer).
  bool wiped_ = true;

  // Server-Sent Events state.
  std::string line_;         // the current line, without its end
  std::string held_;         // strip mode: raw bytes of the current event, not yet forwarded
  std::string data_;         // the current event's data lines, each followed by "\n"
  std::string event_type_;   // the current event's "event" field
  bool has_data_ = false;    // a data line was seen in the current event
  bool pending_cr_ = false;  // the last byte fed was "\r": "\r" or "\r\n", not known yet
  bool first_line_ = true;   // for the byte order mark
  size_t event_bytes_ = 0;   // raw bytes of the current event so far

  // JSON body state.
  std::string json_;
  bool json_too_long_ = false;
};

// The client-protocol error body for an error the proxy itself reports (auth, policy,
// upstream unreachable, …), its type chosen from the HTTP status: 400 (and other 4xx)
// invalid_request_error, 401 authentication_error, 403 permission_error, 404
// not_found_error, 408/504 timeout_error, 413 request_too_large (Anthropic; OpenAI's
// is invalid_request_error), 429 rate_limit_error, 529 overloaded_error, other 5xx
// (joeyd's 503 for a provider it has no key for included) api_error.
// OpenAI: {"error":{"message","type","param":null,"code"}} (code = type);
// Anthropic: {"type":"error","error":{"type","message"}}.
// Invalid UTF-8 in `message` is replaced, never thrown on.
std::string error_body(ProxyProtocol protocol, int status, std::string_view message);

// The error type error_body() uses for `status`.
const char* error_type_for_status(ProxyProtocol protocol, int status);

// The cost of `usage` at the price `prices` lists for `model` (pass
// PreparedRequest::upstream_model: without the provider prefix, and for OpenRouter the
// vendor-prefixed id its listing uses). nullopt when the usage is unknown or the model
// has no price: an unknown cost, never a guess.
std::optional<double> request_cost(const MeteredUsage& usage, const llm::PriceTable& prices,
                                   const std::string& model);

}  // namespace joey::cloud
