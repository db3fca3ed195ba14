// Reads arbitrary bytes as the telemetry queue file ($JOEY_HOME/telemetry_queue.jsonl,
// which anything on the machine could have written). Checks the reader's promises:
// every event it keeps is valid and allow-listed, at most kMaxQueuedEvents survive,
// and writing them back and reading again yields the same events.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "client/telemetry.h"
#include "client/telemetry_events.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace joey::client;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string machine_id = "11111111-2222-4333-8444-555555555555";
  const auto events = parse_telemetry_queue(text, machine_id);
  if (events.size() > kMaxQueuedEvents) std::abort();
  for (const auto& event : events) {
    if (!event.is_object() || !is_telemetry_event(event.value("event", ""))) std::abort();
    if (event.value("distinct_id", "") != machine_id) std::abort();
    if (!is_uuid(event.value("uuid", "")) || !is_iso8601_utc(event.value("timestamp", ""))) {
      std::abort();
    }
    const auto& allowed = telemetry_event_properties(event["event"].get<std::string>());
    for (const auto& [key, value] : event["properties"].items()) {
      if (key.starts_with("$")) continue;
      bool found = false;
      for (const auto& name : allowed) found = found || name == key;
      if (!found) std::abort();
      // A model id may carry one "vendor/" prefix (OpenRouter's ids); every other text is
      // a plain scrubbed value.
      const bool safe = !value.is_string() ||
                        (key == "model" ? telemetry_model_is_safe(value.get<std::string>())
                                        : telemetry_value_is_safe(value.get<std::string>()));
      if (!safe) std::abort();
    }
  }
  const std::string written = serialize_telemetry_queue(events);
  if (written.size() > kMaxQueueBytes) std::abort();
  const auto again = parse_telemetry_queue(written, machine_id);
  if (again != events) std::abort();
  return 0;
}
