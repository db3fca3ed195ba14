#include "cloud/proxy_stream.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "cloud/http_types.h"
#include "crypto/wipe.h"
#include "llm/openai_protocol.h"

namespace joey::cloud {
namespace {

using nlohmann::json;

// --- Reading the layout of a JSON text already checked by parse_json ---------------

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t skip_space(std::string_view text, size_t pos) {
  while (pos < text.size() && is_json_space(text[pos])) ++pos;
  return pos;
}

// Where the value of a JSON text begins: past a byte order mark (which the parser skips
// too) and whitespace.
size_t value_start(std::string_view text) {
  return skip_space(text, text.starts_with("\xEF\xBB\xBF") ? 3 : 0);
}

// Where the "{" of the object that is the whole of `text` (is_json accepted it) lies;
// nullopt when that value is not an object.
std::optional<size_t> object_open(std::string_view text) {
  const size_t open = value_start(text);
  if (open >= text.size() || text[open] != '{') return std::nullopt;
  return open;
}

// One past the closing quote of the string that starts at text[pos].
size_t skip_string(std::string_view text, size_t pos) {
  ++pos;
  while ((pos = skip_plain_string_bytes(text, pos)) < text.size()) {
    if (text[pos] == '\\') {
      pos += 2;
    } else if (text[pos] == '"') {
      return pos + 1;
    } else {
      ++pos;  // a UTF-8 byte (the text is valid JSON: no control bytes)
    }
  }
  return text.size();
}

// One past the end of the value that starts at text[pos].
size_t skip_value(std::string_view text, size_t pos) {
  if (pos >= text.size()) return text.size();
  if (text[pos] == '"') return skip_string(text, pos);
  if (text[pos] == '{' || text[pos] == '[') {
    size_t depth = 0;
    while (pos < text.size()) {
      const char c = text[pos];
      if (c == '"') {
        pos = skip_string(text, pos);
        continue;
      }
      if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return pos + 1;
      }
      ++pos;
    }
    return text.size();
  }
  while (pos < text.size() && !is_json_space(text[pos]) && text[pos] != ',' && text[pos] != '}' &&
         text[pos] != ']') {
    ++pos;
  }
  return pos;
}

// A key as JSON decodes it ("mod\u0065l" is "model").
std::string decode_key(std::string_view quoted) {
  if (quoted.find('\\') == std::string_view::npos) {
    return std::string(quoted.substr(1, quoted.size() >= 2 ? quoted.size() - 2 : 0));
  }
  const json key = json::parse(quoted, nullptr, /*allow_exceptions=*/false);
  return key.is_string() ? key.get<std::string>() : std::string();
}

// A member of an object as it lies in the text: its key is compared in place, and decoded
// only when it holds an escape (a request body's keys cost no allocation).
struct Member {
  std::string_view quoted_key;  // quotes included
  bool escaped = false;         // the key holds a backslash
  size_t value_begin = 0;
  size_t value_end = 0;

  bool is(std::string_view key) const {
    if (escaped) return decode_key(quoted_key) == key;
    return quoted_key.size() == key.size() + 2 && quoted_key.substr(1, key.size()) == key;
  }
  std::string key() const { return decode_key(quoted_key); }
};

Member member_at(std::string_view text, size_t key_begin, size_t key_end, size_t value_begin,
                 size_t value_end) {
  const std::string_view quoted = text.substr(key_begin, key_end - key_begin);
  return {quoted, quoted.find('\\') != std::string_view::npos, value_begin, value_end};
}

struct ObjectLayout {
  size_t open = 0;  // position of "{"
  std::vector<Member> members;
};

// Where the members of the object starting at text[open] lie. nullopt if the text does
// not follow JSON's grammar there. On text is_json accepted the layout is exact; on other
// text it is safe to compute but means nothing (changes_nothing relies on both).
std::optional<ObjectLayout> scan_object(std::string_view text, size_t open) {
  if (open >= text.size() || text[open] != '{') return std::nullopt;
  ObjectLayout layout;
  layout.open = open;
  layout.members.reserve(8);
  size_t pos = skip_space(text, open + 1);
  if (pos < text.size() && text[pos] == '}') return layout;
  while (pos < text.size() && text[pos] == '"') {
    const size_t key_begin = pos;
    const size_t key_end = skip_string(text, pos);
    pos = skip_space(text, key_end);
    if (pos >= text.size() || text[pos] != ':') return std::nullopt;
    const size_t value_begin = skip_space(text, pos + 1);
    const size_t value_end = skip_value(text, value_begin);
    pos = skip_space(text, value_end);
    layout.members.push_back(member_at(text, key_begin, key_end, value_begin, value_end));
    if (pos >= text.size()) return std::nullopt;
    if (text[pos] == '}') return layout;
    if (text[pos] != ',') return std::nullopt;
    pos = skip_space(text, pos + 1);
  }
  return std::nullopt;
}

// The layout of `text`'s object from the member spans is_json found; nullopt when its
// value is not an object.
std::optional<ObjectLayout> top_object_layout(std::string_view text,
                                              const std::vector<JsonMemberSpan>& spans) {
  const std::optional<size_t> open = object_open(text);
  if (!open) return std::nullopt;
  ObjectLayout layout;
  layout.open = *open;
  layout.members.reserve(spans.size());
  for (const JsonMemberSpan& span : spans) {
    layout.members.push_back(
        member_at(text, span.key_begin, span.key_end, span.value_begin, span.value_end));
  }
  return layout;
}

const Member* find_member(const ObjectLayout& layout, std::string_view key) {
  for (const Member& member : layout.members) {
    if (member.is(key)) return &member;
  }
  return nullptr;
}

// An integer as nlohmann reads one: unsigned when not negative, signed when negative;
// nullopt when `value` is not a plain integer or does not fit (the parser decides then).
std::optional<json> plain_integer(std::string_view value) {
  const bool negative = !value.empty() && value.front() == '-';
  const std::string_view digits = value.substr(negative ? 1 : 0);
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const auto read = [value]<typename Integer>(Integer number) -> std::optional<json> {
    const char* const last = value.data() + value.size();
    const auto [end, error] = std::from_chars(value.data(), last, number);
    if (error != std::errc() || end != last) return std::nullopt;
    return json(number);
  };
  return negative ? read(int64_t{0}) : read(uint64_t{0});
}

// The value lying at text[begin, end) of a text is_json accepted, as parse_json would
// build it. Objects are built member by member from their layout, and null, booleans,
// strings without escapes and integers directly: a small object costs a few allocations
// instead of a parser run. Arrays, floats and escaped strings go through the parser.
json value_at(std::string_view text, size_t begin, size_t end) {
  const std::string_view value = text.substr(begin, end - begin);
  if (value == "null") return nullptr;
  if (value == "true") return true;
  if (value == "false") return false;
  if (value.size() >= 2 && value.front() == '"' && value.find('\\') == std::string_view::npos) {
    return std::string(value.substr(1, value.size() - 2));
  }
  if (!value.empty() && value.front() == '{') {
    if (const std::optional<ObjectLayout> layout = scan_object(text, begin)) {
      json object = json::object();
      for (const Member& member : layout->members) {
        object[member.key()] = value_at(text, member.value_begin, member.value_end);
      }
      return object;
    }
  } else if (std::optional<json> integer = plain_integer(value)) {
    return std::move(*integer);
  }
  return parse_json(value);
}

json member_value(std::string_view text, const Member& member) {
  return value_at(text, member.value_begin, member.value_end);
}

struct Edit {
  size_t begin = 0;
  size_t end = 0;
  std::string replacement;
};

std::string apply_edits(std::string_view text, std::vector<Edit> edits) {
  std::sort(edits.begin(), edits.end(),
            [](const Edit& left, const Edit& right) { return left.begin < right.begin; });
  std::string result;
  result.reserve(text.size() + 64);
  size_t pos = 0;
  for (const Edit& edit : edits) {
    result.append(text.substr(pos, edit.begin - pos));
    result.append(edit.replacement);
    pos = edit.end;
  }
  result.append(text.substr(pos));
  return result;
}

Error invalid(std::string message) {
  return make_error(ErrorKind::kInvalidArgument, std::move(message));
}

struct ProviderPrefix {
  std::string_view prefix;
  UpstreamProvider provider;
};

constexpr ProviderPrefix kProviderPrefixes[] = {
    {"openai/", UpstreamProvider::kOpenAI},
    {"anthropic/", UpstreamProvider::kAnthropic},
    {"openrouter/", UpstreamProvider::kOpenRouter},
};

Status pick_provider(ProxyProtocol protocol, PreparedRequest& request) {
  request.provider = protocol == ProxyProtocol::kAnthropicMessages ? UpstreamProvider::kAnthropic
                                                                   : UpstreamProvider::kOpenAI;
  request.upstream_model = request.model;
  for (const ProviderPrefix& prefix : kProviderPrefixes) {
    if (request.model.starts_with(prefix.prefix)) {
      request.provider = prefix.provider;
      request.upstream_model = request.model.substr(prefix.prefix.size());
      break;
    }
  }
  if (request.upstream_model.empty()) {
    return invalid("\"model\" names a provider but no model; write it as \"" + request.model +
                   "MODEL\"");
  }
  if (protocol == ProxyProtocol::kAnthropicMessages &&
      request.provider != UpstreamProvider::kAnthropic) {
    return invalid(std::string("the model \"") + body_excerpt(request.model, 100) +
                   "\" is served through " + upstream_provider_name(request.provider) +
                   ", which does not speak the Anthropic Messages API; send it to "
                   "/proxy/v1/chat/completions instead");
  }
  if (protocol == ProxyProtocol::kOpenAIResponses &&
      request.provider == UpstreamProvider::kAnthropic) {
    return invalid(std::string("the model \"") + body_excerpt(request.model, 100) +
                   "\" is served through anthropic, which does not speak OpenAI's Responses "
                   "API; send it to /proxy/v1/messages or /proxy/v1/chat/completions instead");
  }
  return ok_status();
}

// Makes an OpenAI streaming request carry stream_options.include_usage = true.
// `options` is the parsed "stream_options" member (null when absent).
Status ask_for_usage_chunk(std::string_view body, const ObjectLayout& root_layout,
                           const json& options, std::vector<Edit>& edits) {
  const Member* member = find_member(root_layout, "stream_options");
  if (member == nullptr) {
    const size_t at =
        root_layout.members.empty() ? root_layout.open + 1 : root_layout.members.back().value_end;
    edits.push_back({at, at,
                     std::string(root_layout.members.empty() ? "" : ",") +
                         "\"stream_options\":{\"include_usage\":true}"});
    return ok_status();
  }
  if (options.is_null()) {
    edits.push_back({member->value_begin, member->value_end, "{\"include_usage\":true}"});
    return ok_status();
  }
  if (!options.is_object()) return invalid("\"stream_options\" must be an object");
  const std::optional<ObjectLayout> layout = scan_object(body, member->value_begin);
  if (!layout) return invalid("could not read \"stream_options\" in the request body");
  bool found = false;
  for (const Member& option : layout->members) {
    if (!option.is("include_usage")) continue;
    edits.push_back({option.value_begin, option.value_end, "true"});
    found = true;
  }
  if (!found) {
    const size_t at = layout->open + 1;
    edits.push_back(
        {at, at, std::string("\"include_usage\":true") + (layout->members.empty() ? "" : ",")});
  }
  return ok_status();
}

bool wants_usage_chunk(const json& options) {
  if (!options.is_object()) return false;
  const auto it = options.find("include_usage");
  return it != options.end() && it->is_boolean() && it->get<bool>();
}

std::string dump(const json& value) {
  return value.dump(-1, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

// --- Usage ------------------------------------------------------------------------

// Usage, model and error are read where they lie in a text is_json accepted, without
// building values: a JSON answer's usage object, or a stream event's, costs no
// allocation. Readings match those of the parsed document (llm::openai_usage and its
// count_field): the tests hold them to it (UsageBuiltFromItsLayoutCountsAsTheParsedObject,
// AnthropicJsonUsageCountsAsTheParsedObject).

std::string_view value_text(std::string_view text, const Member& member) {
  return text.substr(member.value_begin, member.value_end - member.value_begin);
}

// The last member called `key` (a parsed document keeps the last copy), or null.
const Member* last_member(const ObjectLayout& layout, std::string_view key) {
  const Member* found = nullptr;
  for (const Member& member : layout.members) {
    if (member.is(key)) found = &member;
  }
  return found;
}

// A token count, read from its text as llm's count_field reads the parsed value:
// integers as they are (negative ones 0, past int64 capped), other numbers (fractions,
// exponents, integers too long for 64 bits, which nlohmann reads as floats) truncated,
// anything else 0.
int64_t count_at(std::string_view value) {
  if (value.empty() || (value.front() != '-' && (value.front() < '0' || value.front() > '9'))) {
    return 0;
  }
  if (const std::optional<json> integer = plain_integer(value)) {
    if (!integer->is_number_unsigned()) return 0;
    return static_cast<int64_t>(std::min<uint64_t>(
        integer->get<uint64_t>(), static_cast<uint64_t>(std::numeric_limits<int64_t>::max())));
  }
  double number = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (error == std::errc::result_out_of_range) {
    return value.front() == '-' ? 0 : std::numeric_limits<int64_t>::max();
  }
  if (error != std::errc() || end != value.data() + value.size()) return 0;
  if (!(number > 0)) return 0;
  if (number >= 9.0e18) return std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(number);
}

int64_t count_in(std::string_view text, const ObjectLayout& object, std::string_view key) {
  const Member* member = last_member(object, key);
  return member != nullptr ? count_at(value_text(text, *member)) : 0;
}

// Whether a member is there and its value is an object.
bool holds_object(std::string_view text, const Member* member) {
  return member != nullptr && member->value_begin < text.size() && text[member->value_begin] == '{';
}

// The object a member holds, or nullopt when it holds something else.
std::optional<ObjectLayout> object_in(std::string_view text, const Member* member) {
  if (!holds_object(text, member)) return std::nullopt;
  return scan_object(text, member->value_begin);
}

// OpenAI's counts (both APIs): the input count includes the cached tokens, which are
// split off as cache reads; OpenAI reports no cache writes.
void set_openai_usage(int64_t input_with_cached, int64_t cached, int64_t output,
                      MeteredUsage& result) {
  cached = std::min(cached, input_with_cached);
  result.input_tokens = input_with_cached - cached;
  result.cache_read_tokens = cached;
  result.cache_write_tokens = 0;
  result.output_tokens = output;
  result.seen = true;
}

// llm::openai_usage, from the usage object's text.
void read_openai_usage_at(std::string_view text, const ObjectLayout& usage, MeteredUsage& result) {
  int64_t cached = 0;
  if (const std::optional<ObjectLayout> details =
          object_in(text, last_member(usage, "prompt_tokens_details"))) {
    cached = count_in(text, *details, "cached_tokens");
  } else {
    cached = count_in(text, usage, "prompt_cache_hit_tokens");  // DeepSeek's spelling
  }
  set_openai_usage(count_in(text, usage, "prompt_tokens"), cached,
                   count_in(text, usage, "completion_tokens"), result);
}

// A Responses API usage object: input_tokens counts the cached ones too
// (input_tokens_details.cached_tokens); reasoning tokens are part of output_tokens.
void read_responses_usage_at(std::string_view text, const ObjectLayout& usage,
                             MeteredUsage& result) {
  int64_t cached = 0;
  if (const std::optional<ObjectLayout> details =
          object_in(text, last_member(usage, "input_tokens_details"))) {
    cached = count_in(text, *details, "cached_tokens");
  }
  set_openai_usage(count_in(text, usage, "input_tokens"), cached,
                   count_in(text, usage, "output_tokens"), result);
}

// An Anthropic usage object: the counts present replace earlier ones (message_delta's
// are cumulative).
void read_anthropic_usage_at(std::string_view text, const ObjectLayout& usage,
                             MeteredUsage& result) {
  const auto update = [&](std::string_view key, int64_t& count) {
    if (const Member* member = last_member(usage, key)) count = count_at(value_text(text, *member));
  };
  update("input_tokens", result.input_tokens);
  update("output_tokens", result.output_tokens);
  update("cache_read_input_tokens", result.cache_read_tokens);
  update("cache_creation_input_tokens", result.cache_write_tokens);
  result.seen = true;
}

// A member's string, decoded; nullopt when it is absent or holds something else.
std::optional<std::string> string_at(std::string_view text, const Member* member) {
  if (member == nullptr || text[member->value_begin] != '"') return std::nullopt;
  json value = value_at(text, member->value_begin, member->value_end);
  if (!value.is_string()) return std::nullopt;
  return std::move(value.get_ref<std::string&>());
}

// A member's string as it lies, when it holds one without an escape; nullopt otherwise.
// In text is_json accepted, that is the decoded string (no control byte is allowed).
std::optional<std::string_view> plain_string_at(std::string_view text, const Member& member) {
  const std::string_view value = value_text(text, member);
  if (value.size() < 2 || value.front() != '"' || value.find('\\') != std::string_view::npos) {
    return std::nullopt;
  }
  return value.substr(1, value.size() - 2);
}

// A non-empty model string replaces the model; an unescaped one is copied in place.
void read_model_at(std::string_view text, const Member* member, MeteredUsage& result) {
  if (member == nullptr) return;
  if (const std::optional<std::string_view> plain = plain_string_at(text, *member)) {
    if (!plain->empty()) result.model.assign(*plain);
    return;
  }
  if (std::optional<std::string> model = string_at(text, member); model && !model->empty()) {
    result.model = std::move(*model);
  }
}

bool is_null_at(std::string_view text, const Member* member) {
  return member != nullptr && value_text(text, *member) == "null";
}

// Whether an object's last "error" member is there and not null.
bool holds_error(std::string_view text, const ObjectLayout& object) {
  const Member* error = last_member(object, "error");
  return error != nullptr && !is_null_at(text, error);
}

// The layout of the object that is the whole of `text`, or nullopt when `text` is not
// JSON or not an object.
std::optional<ObjectLayout> whole_object(std::string_view text) {
  std::vector<JsonMemberSpan> spans;
  if (!is_json(text, spans)) return std::nullopt;
  return top_object_layout(text, spans);
}

}  // namespace

const char* upstream_provider_name(UpstreamProvider provider) {
  switch (provider) {
    case UpstreamProvider::kOpenAI:
      return "openai";
    case UpstreamProvider::kAnthropic:
      return "anthropic";
    case UpstreamProvider::kOpenRouter:
      return "openrouter";
  }
  return "unknown";
}

std::string operator_key_variable(UpstreamProvider provider) {
  std::string name = upstream_provider_name(provider);
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return "JOEYD_" + name + "_API_KEY";
}

Result<PreparedRequest> prepare_request(ProxyProtocol protocol, std::string_view body) {
  // The body (often a long conversation) is checked without building it, in one pass
  // that also finds where its members lie; only the three members the proxy reads are
  // parsed. JSON's strings are strict UTF-8 and nothing else may hold a byte above 0x7F,
  // so only a text that fails, or whose value a NUL ends early, needs a UTF-8 pass.
  std::vector<JsonMemberSpan> spans;
  const bool valid_json = is_json(body, spans);
  if ((!valid_json || body.find('\0') != std::string_view::npos) && !is_valid_utf8(body)) {
    return invalid("the request body is not valid UTF-8");
  }
  if (!valid_json) return invalid("the request body is not valid JSON");
  const std::optional<ObjectLayout> top = top_object_layout(body, spans);
  if (!top) return invalid("the request body must be a JSON object");
  const ObjectLayout& layout = *top;
  for (const char* key : {"model", "stream", "stream_options"}) {
    const auto count = std::count_if(layout.members.begin(), layout.members.end(),
                                     [key](const Member& member) { return member.is(key); });
    if (count > 1) return invalid(std::string("the request body gives \"") + key + "\" twice");
  }

  // "model" and "stream" are read where they lie (is_json checked them); only a model
  // with an escape, and stream_options, are built as values.
  PreparedRequest request;
  const Member* model = find_member(layout, "model");
  if (model == nullptr) return invalid("the request body has no \"model\"");
  std::optional<std::string> model_name;
  if (const std::optional<std::string_view> plain = plain_string_at(body, *model)) {
    model_name.emplace(*plain);
  } else {
    model_name = string_at(body, model);
  }
  if (!model_name) return invalid("\"model\" must be a string");
  request.model = std::move(*model_name);
  if (request.model.empty()) return invalid("\"model\" must not be empty");
  TRY(pick_provider(protocol, request));

  if (const Member* stream = find_member(layout, "stream")) {
    const std::string_view text = value_text(body, *stream);
    if (text == "true" || text == "false") {
      request.stream = text == "true";
    } else if (text != "null") {
      return invalid("\"stream\" must be true or false");
    }
  }

  std::vector<Edit> edits;
  if (request.upstream_model != request.model) {
    edits.push_back({model->value_begin, model->value_end, dump(json(request.upstream_model))});
  }
  if (protocol == ProxyProtocol::kOpenAIChat && request.stream) {
    const Member* member = find_member(layout, "stream_options");
    const json options = member != nullptr ? member_value(body, *member) : json();
    if (!wants_usage_chunk(options)) {
      TRY(ask_for_usage_chunk(body, layout, options, edits));
      request.strip_usage_chunk = true;
    }
  }
  request.body = edits.empty() ? std::string(body) : apply_edits(body, std::move(edits));
  return request;
}

llm::Usage MeteredUsage::as_usage() const {
  llm::Usage usage;
  usage.input_tokens = input_tokens;
  usage.output_tokens = output_tokens;
  usage.cache_read_tokens = cache_read_tokens;
  usage.cache_write_tokens = cache_write_tokens;
  return usage;
}

// --- StreamMeter ------------------------------------------------------------------

StreamMeter::StreamMeter(ProxyProtocol protocol, bool streaming, bool strip_usage_chunk,
                         size_t max_event_bytes, size_t max_json_bytes)
    : protocol_(protocol),
      streaming_(streaming),
      strip_(streaming && strip_usage_chunk),
      max_event_bytes_(max_event_bytes),
      max_json_bytes_(max_json_bytes) {}

StreamMeter::~StreamMeter() {
  if (!wiped_) wipe_buffers();
}

void StreamMeter::wipe_buffers() {
  crypto::wipe(line_);
  crypto::wipe(held_);
  crypto::wipe(data_);
  crypto::wipe(event_type_);
  crypto::wipe(json_);
  wiped_ = true;
}

Status StreamMeter::feed(std::string_view bytes, std::string& out) {
  if (error_) return *error_;
  if (finished_) {
    return make_error(ErrorKind::kInternal, "the response meter was fed after finish()");
  }
  wiped_ = false;
  if (!streaming_) {
    out.append(bytes);
    if (json_too_long_) return ok_status();
    if (json_.size() + bytes.size() > max_json_bytes_) {
      json_too_long_ = true;
      crypto::wipe(json_);
    } else {
      json_.append(bytes);
    }
    return ok_status();
  }
  if (!strip_) out.append(bytes);
  Status status = feed_events(bytes, out);
  if (!status.ok()) {
    error_ = status.error();
    wipe_buffers();
  }
  return status;
}

Status StreamMeter::feed_events(std::string_view bytes, std::string& out) {
  size_t pos = 0;
  if (pending_cr_ && !bytes.empty()) {
    pending_cr_ = false;
    const bool crlf = bytes.front() == '\n';
    TRY(end_line(crlf ? "\r\n" : "\r", out));
    pos = crlf ? 1 : 0;
  }
  // Lines end at "\n" (nearly always), "\r\n" or "\r". find_first_of("\r\n") would
  // call memchr on its two-byte set once per byte; each terminator is searched with
  // memchr instead, and where the next "\r" lies is kept until a line passes it.
  size_t next_cr = bytes.find('\r', pos);
  while (pos < bytes.size()) {
    if (next_cr < pos) next_cr = bytes.find('\r', pos);
    const size_t line_end = std::min(bytes.find('\n', pos), next_cr);
    if (line_end == std::string_view::npos) return add_line_text(bytes.substr(pos));
    TRY(add_line_text(bytes.substr(pos, line_end - pos)));
    if (bytes[line_end] == '\n') {
      TRY(end_line("\n", out));
      pos = line_end + 1;
    } else if (line_end + 1 == bytes.size()) {
      pending_cr_ = true;  // the next feed tells "\r" from "\r\n"
      pos = bytes.size();
    } else {
      const bool crlf = bytes[line_end + 1] == '\n';
      TRY(end_line(crlf ? "\r\n" : "\r", out));
      pos = line_end + (crlf ? 2 : 1);
    }
  }
  return ok_status();
}

Status StreamMeter::add_line_text(std::string_view text) {
  if (text.empty()) return ok_status();
  event_bytes_ += text.size();
  if (event_bytes_ > max_event_bytes_) {
    return make_error(ErrorKind::kProtocol, "the model server sent a stream event longer than " +
                                                std::to_string(max_event_bytes_) + " bytes");
  }
  line_.append(text);
  if (strip_) held_.append(text);
  return ok_status();
}

Status StreamMeter::end_line(std::string_view terminator, std::string& out) {
  event_bytes_ += terminator.size();
  if (event_bytes_ > max_event_bytes_) {
    return make_error(ErrorKind::kProtocol, "the model server sent a stream event longer than " +
                                                std::to_string(max_event_bytes_) + " bytes");
  }
  if (strip_) held_.append(terminator);
  if (line_.empty()) {
    dispatch_event(out, /*at_finish=*/false);
  } else {
    process_field(line_);
    line_.clear();
  }
  first_line_ = false;
  return ok_status();
}

void StreamMeter::process_field(std::string_view line) {
  if (first_line_ && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
  if (line.empty() || line.front() == ':') return;  // a comment
  const size_t colon = line.find(':');
  const std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
  }
  if (field == "data") {
    data_.append(value);
    data_.push_back('\n');
    has_data_ = true;
  } else if (field == "event") {
    event_type_.assign(value);
  }
}

// With include_usage, OpenAI puts "usage": null on every chunk before the usage chunk. A
// client that did not ask for usage must not see it (it would not get it directly), so
// the top-level member is cut out of the event's raw bytes — the rest stays byte for
// byte. The scan tracks strings and nesting, so a "usage" inside a string or a nested
// object is left alone.
namespace {
void remove_null_usage(std::string& event) {
  static constexpr std::string_view kPatterns[] = {",\"usage\":null", ", \"usage\": null",
                                                   "\"usage\":null,", "\"usage\": null, "};
  int depth = 0;
  size_t at = 0;
  // Every pattern has the "u" of usage within its first four bytes; most members do not.
  const auto u_at = [&event](size_t pos) { return pos < event.size() && event[pos] == 'u'; };
  while (at < event.size()) {
    const char c = event[at];
    if (depth == 1 && (c == ',' || c == '"') && (u_at(at + 1) || u_at(at + 2) || u_at(at + 3))) {
      const std::string_view rest = std::string_view(event).substr(at);
      for (std::string_view pattern : kPatterns) {
        if (rest.starts_with(pattern)) {
          event.erase(at, pattern.size());
          return;
        }
      }
    }
    if (c == '"') {
      at = skip_string(event, at);
    } else if ((c == '{' || c == '[') && depth == 1) {
      at = skip_value(event, at);  // a nested value: its members are not the chunk's
    } else {
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') --depth;
      ++at;
    }
  }
}
}  // namespace

// Ends the current event. At finish the event is cut short: it is metered but never
// dropped, since a client must see whatever the upstream sent last.
void StreamMeter::dispatch_event(std::string& out, bool at_finish) {
  bool drop = false;
  if (has_data_) {
    const std::string_view data(data_.data(), data_.size() - 1);  // without the last "\n"
    drop = meter_event(event_type_, data) && !at_finish;
  }
  if (strip_) {
    if (!drop) {
      if (null_usage_) remove_null_usage(held_);
      out.append(held_);
    }
    held_.clear();
  }
  null_usage_ = false;
  data_.clear();
  event_type_.clear();
  has_data_ = false;
  event_bytes_ = 0;
}

bool StreamMeter::meter_event(std::string_view type, std::string_view data) {
  if (type == "error") saw_error_ = true;
  if (protocol_ == ProxyProtocol::kOpenAIChat) return meter_openai_chunk(type, data);
  if (protocol_ == ProxyProtocol::kOpenAIResponses) {
    meter_responses_event(type, data);
    return false;
  }
  meter_anthropic_event(type, data);
  return false;
}

namespace {

// Whether metering the OpenAI chunk `data` could change nothing that `usage` records, read
// without checking it is JSON: the last "error" is absent or null, the last "usage" is
// absent or not an object, and the last "model" is absent, empty or `model` unescaped.
// A chunk that is not JSON changes nothing either, so true is right for any text whose
// scan says so; false sends the chunk down the checked path.
bool changes_nothing(std::string_view data, const MeteredUsage& usage) {
  const std::optional<size_t> open = object_open(data);
  if (!open) return false;
  const std::optional<ObjectLayout> chunk = scan_object(data, *open);
  if (!chunk) return false;
  if (holds_error(data, *chunk) || holds_object(data, last_member(*chunk, "usage"))) return false;
  const Member* model = last_member(*chunk, "model");
  if (model == nullptr) return true;
  const std::optional<std::string_view> plain = plain_string_at(data, *model);
  return plain && (plain->empty() || *plain == usage.model);
}

}  // namespace

bool StreamMeter::meter_openai_chunk(std::string_view /*type*/, std::string_view data) {
  if (data == "[DONE]") {
    saw_end_ = true;
    return false;
  }
  // Without stripping, a chunk matters only for what it would change: most chunks of a
  // stream (a delta, "usage": null, the same model) are not checked as JSON at all.
  if (!strip_ && changes_nothing(data, usage_)) return false;
  // Read where the members lie; a delta's choices (the text) are never built.
  const std::optional<ObjectLayout> chunk = whole_object(data);
  if (!chunk) return false;
  if (holds_error(data, *chunk)) saw_error_ = true;
  read_model_at(data, last_member(*chunk, "model"), usage_);
  const Member* usage_member = last_member(*chunk, "usage");
  null_usage_ = is_null_at(data, usage_member);
  const std::optional<ObjectLayout> usage = object_in(data, usage_member);
  if (!usage) return false;
  read_openai_usage_at(data, *usage, usage_);
  if (!strip_) return false;
  // The usage chunk a client did not ask for is the one without choices.
  const Member* choices = last_member(*chunk, "choices");
  if (choices == nullptr || is_null_at(data, choices)) return true;
  const std::string_view list = value_text(data, *choices);
  return list.front() == '[' && list.substr(1).find_first_not_of(" \t\r\n") == list.size() - 2;
}

void StreamMeter::meter_anthropic_event(std::string_view type, std::string_view data) {
  // Only message_start and message_delta carry usage; a content delta's text is never built.
  const std::optional<ObjectLayout> payload = whole_object(data);
  if (!payload) return;
  // The data's own type is authoritative; the SSE event name only backs it up.
  const std::optional<std::string> own_type = string_at(data, last_member(*payload, "type"));
  const std::string_view kind = own_type ? std::string_view(*own_type) : type;
  if (kind == "message_stop") saw_end_ = true;
  if (kind == "error") saw_error_ = true;
  if (kind == "message_start") {
    if (const std::optional<ObjectLayout> message =
            object_in(data, last_member(*payload, "message"))) {
      read_model_at(data, last_member(*message, "model"), usage_);
      if (const std::optional<ObjectLayout> usage =
              object_in(data, last_member(*message, "usage"))) {
        read_anthropic_usage_at(data, *usage, usage_);
      }
    }
  } else if (kind == "message_delta") {
    if (const std::optional<ObjectLayout> usage = object_in(data, last_member(*payload, "usage"))) {
      read_anthropic_usage_at(data, *usage, usage_);
    }
  }
}

void StreamMeter::meter_responses_event(std::string_view type, std::string_view data) {
  // The model and the usage come in the response object of response.created (no usage
  // yet) and of the last event: response.completed, .incomplete or .failed. A delta's
  // text is never built.
  const std::optional<ObjectLayout> payload = whole_object(data);
  if (!payload) return;
  const std::optional<std::string> own_type = string_at(data, last_member(*payload, "type"));
  const std::string_view kind = own_type ? std::string_view(*own_type) : type;
  const bool last =
      kind == "response.completed" || kind == "response.incomplete" || kind == "response.failed";
  if (last) saw_end_ = true;
  if (kind == "error" || kind == "response.failed") saw_error_ = true;
  if (!last && kind != "response.created") return;
  if (const std::optional<ObjectLayout> response =
          object_in(data, last_member(*payload, "response"))) {
    read_model_at(data, last_member(*response, "model"), usage_);
    if (const std::optional<ObjectLayout> usage =
            object_in(data, last_member(*response, "usage"))) {
      read_responses_usage_at(data, *usage, usage_);
    }
  }
}

void StreamMeter::meter_json_body() {
  if (json_too_long_) return;
  const std::string_view text(json_);
  const std::optional<ObjectLayout> body = whole_object(text);
  if (!body) return;
  saw_end_ = true;
  if (holds_error(text, *body)) saw_error_ = true;
  if (string_at(text, last_member(*body, "type")) == "error") saw_error_ = true;
  read_model_at(text, last_member(*body, "model"), usage_);
  if (const std::optional<ObjectLayout> usage = object_in(text, last_member(*body, "usage"))) {
    switch (protocol_) {
      case ProxyProtocol::kOpenAIChat:
        read_openai_usage_at(text, *usage, usage_);
        break;
      case ProxyProtocol::kOpenAIResponses:
        read_responses_usage_at(text, *usage, usage_);
        break;
      case ProxyProtocol::kAnthropicMessages:
        read_anthropic_usage_at(text, *usage, usage_);
        break;
    }
  }
}

Status StreamMeter::finish(std::string& out) {
  if (error_) return *error_;
  if (finished_) return ok_status();
  finished_ = true;
  if (!streaming_) {
    meter_json_body();
    wipe_buffers();
    return ok_status();
  }
  if (pending_cr_) {
    pending_cr_ = false;
    Status status = end_line("\r", out);
    if (!status.ok()) {
      error_ = status.error();
      wipe_buffers();
      return status;
    }
  }
  if (!line_.empty()) {
    process_field(line_);
    line_.clear();
  }
  if (has_data_ || !held_.empty()) dispatch_event(out, /*at_finish=*/true);
  wipe_buffers();
  return ok_status();
}

// --- Error bodies and cost --------------------------------------------------------

const char* error_type_for_status(ProxyProtocol protocol, int status) {
  switch (status) {
    case 413:
      return protocol == ProxyProtocol::kAnthropicMessages ? "request_too_large"
                                                           : "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 408:
    case 504:
      return "timeout_error";
    case 429:
      return "rate_limit_error";
    case 529:  // joeyd's own 503 (no key for a provider) is no overload: api_error
      return "overloaded_error";
    default:
      return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

std::string error_body(ProxyProtocol protocol, int status, std::string_view message) {
  const char* type = error_type_for_status(protocol, status);
  // The message is never parsed from outside, so invalid UTF-8 only needs replacing.
  const json text = std::string(message);
  json body;
  if (speaks_openai_errors(protocol)) {
    body["error"] = {{"message", text}, {"type", type}, {"param", nullptr}, {"code", type}};
  } else {
    body = {{"type", "error"}, {"error", {{"type", type}, {"message", text}}}};
  }
  return dump(body);
}

std::optional<double> request_cost(const MeteredUsage& usage, const llm::PriceTable& prices,
                                   const std::string& model) {
  if (!usage.seen) return std::nullopt;
  const std::optional<llm::ModelPrice> price = prices.find(model);
  if (!price) return std::nullopt;
  return llm::cost_usd(usage.as_usage(), *price);
}

}  // namespace joey::cloud
