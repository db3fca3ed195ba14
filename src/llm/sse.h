// Incremental Server-Sent Events parser, following the WHATWG event-stream rules:
// lines end in "\n", "\r\n" or "\r" (a "\r\n" split across two feeds counts once);
// "field: value" loses one optional space after the colon; several data lines join
// with "\n"; lines starting with ":" are comments; an event is dispatched at a blank
// line, with type "message" when no event field was given; an event with no data
// field is not dispatched; the id persists from event to event until changed.
// A leading UTF-8 byte order mark is skipped.
//
// A final event without its trailing blank line is NOT dispatched: the stream was
// cut, and the caller finds that out through has_partial_event().
//
// Pure and I/O-free; not thread-safe (one parser per response stream).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace joey::llm {

struct SseEvent {
  std::string event;
  std::string data;
  std::string id;
};

class SseParser {
 public:
  explicit SseParser(size_t max_event_bytes = 8 << 20);

  // Feeds the next bytes of the stream and calls on_event for each event they
  // complete, in order. Stops at the first callback that fails and returns its
  // error; kProtocol if one event (its fields plus the line being read) grows past
  // max_event_bytes. After an error the parser must not be fed again.
  Status feed(std::string_view bytes, const std::function<Status(const SseEvent&)>& on_event);

  // True when bytes of an unfinished event are buffered: a line without its end,
  // or fields not yet followed by a blank line.
  bool has_partial_event() const;

 private:
  Status process_line(const std::function<Status(const SseEvent&)>& on_event);
  Status dispatch(const std::function<Status(const SseEvent&)>& on_event);

  size_t max_event_bytes_;
  std::string line_;        // the current line, without its end
  std::string data_;        // data lines of the current event, each followed by "\n"
  std::string event_type_;  // the current event's type, empty for "message"
  std::string last_id_;
  bool event_has_fields_ = false;  // a data or event field was seen since the last blank line
  bool skip_line_feed_ =
      false;  // the last byte was "\r": a "\n" right after it is the same line end
  bool at_stream_start_ = true;  // no byte seen yet (for the byte order mark)
};

}  // namespace joey::llm
