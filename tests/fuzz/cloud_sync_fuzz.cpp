// Reads arbitrary bytes as the files and answers the Cloud upload trusts least: an
// outbox file ($JOEY_HOME/cloud/outbox/*, which anything on the machine could have
// written), the agent settings cache, and the server's GET /api/agent/settings answer.
// Checks their promises: no crash, an accepted outbox entry has wire ids and a known
// kind and survives a write/read round trip, an accepted settings answer has a user id.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/json.h"
#include "client/cloud_outbox.h"
#include "client/cloud_settings.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace joey::client;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto entry = parse_outbox_entry(text);
  if (entry.ok()) {
    if (!is_wire_id(entry->task_id) || !is_wire_id(entry->id)) std::abort();
    if (entry->kind != "messages" && entry->kind != "usage") std::abort();
    if (!entry->body.is_object() || entry->server.empty() || entry->user_id.empty()) std::abort();
    auto again = parse_outbox_entry(serialize_outbox_entry(*entry));
    if (!again.ok() || again->task_id != entry->task_id || again->id != entry->id) std::abort();
  }

  auto cache = parse_settings_cache(text);
  if (cache.ok()) {
    if (cache->user_id.empty()) std::abort();
    auto again = parse_settings_cache(serialize_settings_cache(*cache));
    if (!again.ok() || again->collection_enabled != cache->collection_enabled) std::abort();
  }

  const nlohmann::json answer = joey::parse_json(text);
  if (!answer.is_discarded()) {
    auto settings = parse_agent_settings(answer);
    if (settings.ok() && settings->user_id.empty()) std::abort();
  }
  return 0;
}
