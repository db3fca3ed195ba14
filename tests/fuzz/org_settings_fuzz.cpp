// Merges an arbitrary JSON body into the default organization settings, as
// PATCH /api/orgs/{id}/settings does, then merges the result into itself. Checks that
// a merge either fails with kInvalidArgument or yields an object that re-merging keeps
// unchanged (the merged document is itself a valid patch).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "base/json.h"
#include "cloud/org_service.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const nlohmann::json patch = joey::parse_json(text);
  if (patch.is_discarded()) return 0;
  const nlohmann::json defaults = joey::cloud::default_org_settings();
  joey::Result<nlohmann::json> merged = joey::cloud::merge_org_settings(defaults, patch);
  if (!merged.ok()) {
    if (merged.error().kind != joey::ErrorKind::kInvalidArgument) std::abort();
    return 0;
  }
  if (!merged->is_object()) std::abort();
  joey::Result<nlohmann::json> again = joey::cloud::merge_org_settings(*merged, *merged);
  if (!again.ok() || *again != *merged) std::abort();
  (void)merged->dump();
  return 0;
}
