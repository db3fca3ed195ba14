#include "llm/sse.h"

#include <string>
#include <utility>

namespace joey::llm {
namespace {

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

}  // namespace

SseParser::SseParser(size_t max_event_bytes) : max_event_bytes_(max_event_bytes) {}

bool SseParser::has_partial_event() const { return !line_.empty() || event_has_fields_; }

Status SseParser::feed(std::string_view bytes,
                       const std::function<Status(const SseEvent&)>& on_event) {
  size_t pos = 0;
  while (pos < bytes.size()) {
    if (skip_line_feed_) {
      skip_line_feed_ = false;
      if (bytes[pos] == '\n') {
        ++pos;
        continue;
      }
    }
    const size_t line_end = bytes.find_first_of("\r\n", pos);
    const size_t piece_end = line_end == std::string_view::npos ? bytes.size() : line_end;
    line_.append(bytes.substr(pos, piece_end - pos));
    if (line_.size() + data_.size() + event_type_.size() > max_event_bytes_) {
      return make_error(ErrorKind::kProtocol, "the server sent a stream event larger than " +
                                                  std::to_string(max_event_bytes_) + " bytes");
    }
    if (line_end == std::string_view::npos) break;
    skip_line_feed_ = bytes[line_end] == '\r';
    pos = line_end + 1;
    TRY(process_line(on_event));
  }
  return ok_status();
}

Status SseParser::process_line(const std::function<Status(const SseEvent&)>& on_event) {
  std::string line = std::move(line_);
  line_.clear();
  std::string_view view = line;
  if (at_stream_start_) {
    at_stream_start_ = false;
    if (view.starts_with(kByteOrderMark)) view.remove_prefix(kByteOrderMark.size());
  }
  if (view.empty()) return dispatch(on_event);
  if (view.front() == ':') return ok_status();

  std::string_view field = view;
  std::string_view value;
  if (const size_t colon = view.find(':'); colon != std::string_view::npos) {
    field = view.substr(0, colon);
    value = view.substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
  }
  if (field == "event") {
    event_type_.assign(value);
    event_has_fields_ = true;
  } else if (field == "data") {
    data_.append(value);
    data_.push_back('\n');
    event_has_fields_ = true;
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  }
  // "retry" and unknown fields are ignored: reconnection is the transport's business.
  return ok_status();
}

Status SseParser::dispatch(const std::function<Status(const SseEvent&)>& on_event) {
  event_has_fields_ = false;
  if (data_.empty()) {
    event_type_.clear();
    return ok_status();
  }
  SseEvent event;
  event.event = event_type_.empty() ? "message" : std::move(event_type_);
  data_.pop_back();
  event.data = std::move(data_);
  event.id = last_id_;
  data_.clear();
  event_type_.clear();
  return on_event(event);
}

}  // namespace joey::llm
