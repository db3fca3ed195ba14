// Feeds arbitrary bytes as the raw query string of GET /api/orgs/{id}/usage and
// GET /api/me/usage (parse_usage_query). Checks that nothing crashes, that every
// refusal is kInvalidArgument, and that whatever is accepted is a range the service
// may run: from <= to, at most kMaxUsageRangeDays wide, member grouping only where allowed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cloud/usage_service.h"

namespace {

using namespace joey;
using namespace joey::cloud;

constexpr int64_t kNow = 1'800'000'000'000;

void require(bool condition) {
  if (!condition) std::abort();
}

void check(std::string_view query, bool allow_member) {
  const Result<UsageQuery> parsed = parse_usage_query(query, kNow, allow_member);
  if (!parsed.ok()) {
    require(parsed.error().kind == ErrorKind::kInvalidArgument);
    return;
  }
  require(parsed->from_ms >= 0 && parsed->from_ms <= parsed->to_ms);
  require(parsed->to_ms - parsed->from_ms <= kMaxUsageRangeDays * kMillisPerDay);
  require(allow_member || parsed->group_by != UsageGrouping::kMember);
  require(utc_date(parsed->to_ms / kMillisPerDay).size() == 10);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view query(reinterpret_cast<const char*>(data), size);
  check(query, true);
  check(query, false);
  return 0;
}
