#include "base/ids.h"

#include <gtest/gtest.h>

#include <ctime>
#include <regex>
#include <set>

namespace joey {
namespace {

std::string utc_stamp_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  return std::string(stamp, std::strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &utc));
}

TEST(RandomHex, HasTwoLowercaseHexDigitsPerByte) {
  EXPECT_EQ(random_hex(0), "");
  const std::string hex = random_hex(16);
  EXPECT_TRUE(std::regex_match(hex, std::regex("[0-9a-f]{32}"))) << hex;
}

TEST(RandomHex, DiffersBetweenCalls) { EXPECT_NE(random_hex(16), random_hex(16)); }

TEST(TaskId, HasTimeAndRandomSuffix) {
  const std::string id = new_task_id();
  EXPECT_TRUE(std::regex_match(id, std::regex("[0-9]{8}T[0-9]{6}-[0-9a-f]{8}"))) << id;
  EXPECT_TRUE(is_task_id(id));
}

TEST(TaskId, StartsWithTheCurrentUtcTime) {
  const std::string before = utc_stamp_now();
  const std::string id = new_task_id();
  const std::string after = utc_stamp_now();
  const std::string stamp = id.substr(0, 15);
  EXPECT_LE(before, stamp);
  EXPECT_LE(stamp, after);
}

TEST(TaskId, ThousandIdsAreUnique) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(new_task_id());
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(TaskId, ValidatorRejectsOtherShapes) {
  EXPECT_TRUE(is_task_id("20261125T154419-1a2b3c4d"));
  EXPECT_FALSE(is_task_id(""));
  EXPECT_FALSE(is_task_id("../../etc/passwd"));
  EXPECT_FALSE(is_task_id("20261125T154419-1A2B3C4D"));
  EXPECT_FALSE(is_task_id("20261125x154419-1a2b3c4d"));
  EXPECT_FALSE(is_task_id("20261125T154419_1a2b3c4d"));
  EXPECT_FALSE(is_task_id("20261125T154419-1a2b3c4"));
  EXPECT_FALSE(is_task_id("20261125T154419-1a2b3c4d0"));
  EXPECT_FALSE(is_task_id("2026112aT154419-1a2b3c4d"));
}

}  // namespace
}  // namespace joey
