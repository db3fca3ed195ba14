// Feeds arbitrary bytes to the model proxy's StreamMeter with a protocol, mode and
// piece sizes chosen by the input's first bytes, and checks that the split never
// changes the forwarded bytes, the usage or the outcome, and that without stripping
// the forwarded bytes are exactly the input. The same bytes as a request body go
// through prepare_request, whose output must parse to the input's JSON with only
// "model" and "stream_options" changed, and whose model and stream flag must be the
// parsed input's. An OpenAI stream must meter the same with stripping (every chunk
// checked as JSON) and without (chunks that change nothing skipped unchecked).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "cloud/proxy_stream.h"

namespace {

using joey::cloud::ProxyProtocol;
using joey::cloud::StreamMeter;

struct Outcome {
  std::string out;
  joey::cloud::MeteredUsage usage;
  bool ok = true;
  bool saw_error = false;
  bool saw_end = false;
};

Outcome relay(ProxyProtocol protocol, bool streaming, bool strip, std::string_view stream,
              const std::vector<size_t>& piece_sizes) {
  StreamMeter meter(protocol, streaming, strip, /*max_event_bytes=*/512, /*max_json_bytes=*/1024);
  Outcome outcome;
  size_t pos = 0;
  for (size_t i = 0; pos < stream.size() && outcome.ok; ++i) {
    const size_t size = piece_sizes.empty() ? stream.size() : piece_sizes[i % piece_sizes.size()];
    outcome.ok = meter.feed(stream.substr(pos, size), outcome.out).ok();
    pos += size;
  }
  if (outcome.ok) outcome.ok = meter.finish(outcome.out).ok();
  outcome.usage = meter.usage();
  outcome.saw_error = meter.saw_error_event();
  outcome.saw_end = meter.saw_end();
  return outcome;
}

bool same_usage(const joey::cloud::MeteredUsage& a, const joey::cloud::MeteredUsage& b) {
  return a.seen == b.seen && a.input_tokens == b.input_tokens &&
         a.output_tokens == b.output_tokens && a.cache_read_tokens == b.cache_read_tokens &&
         a.cache_write_tokens == b.cache_write_tokens && a.model == b.model;
}

void check_prepare(ProxyProtocol protocol, std::string_view body) {
  const auto prepared = joey::cloud::prepare_request(protocol, body);
  if (!prepared.ok()) return;
  nlohmann::json before = joey::parse_json(body);
  nlohmann::json after = joey::parse_json(prepared->body);
  if (!before.is_object() || !after.is_object()) std::abort();
  if (!after["model"].is_string() || after["model"] != prepared->upstream_model) std::abort();
  // The model and stream flag read where they lie are what a parser reads.
  if (!before["model"].is_string() || before["model"] != prepared->model) std::abort();
  const bool streams =
      before.contains("stream") && before["stream"].is_boolean() && before["stream"].get<bool>();
  if (prepared->stream != streams) std::abort();
  if (prepared->strip_usage_chunk && after["stream_options"]["include_usage"] != true) {
    std::abort();
  }
  if (prepared->upstream_model == prepared->model && !prepared->strip_usage_chunk &&
      prepared->body != body) {
    std::abort();
  }
  for (const char* key : {"model", "stream_options"}) {
    before.erase(key);
    after.erase(key);
  }
  if (before != after) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  // Byte 0: protocol (bit 0 Anthropic, else bit 3 Responses, else chat), streaming,
  // strip. Byte 1: how many piece sizes follow (1..8).
  const ProxyProtocol protocol = (data[0] & 1) != 0   ? ProxyProtocol::kAnthropicMessages
                                 : (data[0] & 8) != 0 ? ProxyProtocol::kOpenAIResponses
                                                      : ProxyProtocol::kOpenAIChat;
  const bool streaming = (data[0] & 2) == 0;
  const bool strip = (data[0] & 4) != 0;
  const size_t size_bytes = data[1] % 8 + 1;
  if (size < 2 + size_bytes) return 0;
  std::vector<size_t> piece_sizes;
  for (size_t i = 0; i < size_bytes; ++i) piece_sizes.push_back(data[2 + i] % 32 + 1);
  const std::string_view input(reinterpret_cast<const char*>(data) + 2 + size_bytes,
                               size - 2 - size_bytes);

  const Outcome whole = relay(protocol, streaming, strip, input, {});
  const Outcome split = relay(protocol, streaming, strip, input, piece_sizes);
  const Outcome bytewise = relay(protocol, streaming, strip, input, {1});
  for (const Outcome* other : {&split, &bytewise}) {
    if (other->ok != whole.ok) std::abort();
    if (!whole.ok) continue;
    if (other->out != whole.out || !same_usage(other->usage, whole.usage) ||
        other->saw_error != whole.saw_error || other->saw_end != whole.saw_end) {
      std::abort();
    }
  }
  const bool strips = streaming && strip && protocol == ProxyProtocol::kOpenAIChat;
  if (whole.ok && !strips && whole.out != input) std::abort();
  if (whole.ok && strips && whole.out.size() > input.size()) std::abort();
  // Stripping checks every chunk as JSON; without it, chunks that would change nothing
  // are skipped unchecked. Both must meter alike (the events held for stripping are not
  // limited differently: max_event_bytes applies to both).
  if (streaming && protocol == ProxyProtocol::kOpenAIChat) {
    const Outcome unstripped = strip ? relay(protocol, streaming, false, input, {}) : whole;
    const Outcome stripped = strip ? whole : relay(protocol, streaming, true, input, {});
    if (unstripped.ok && stripped.ok &&
        (!same_usage(unstripped.usage, stripped.usage) ||
         unstripped.saw_error != stripped.saw_error)) {
      std::abort();
    }
  }

  check_prepare(protocol, input);
  return 0;
}
