#include "base/ids.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ctime>
#include <regex>
#include <set>
#include <thread>
#include <vector>

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

TEST(RandomHex, LongAndShortRequestsAreAllHex) {
  for (size_t bytes : {1u, 3u, 63u, 64u, 65u, 100u, 300u}) {
    const std::string hex = random_hex(bytes);
    ASSERT_EQ(hex.size(), 2 * bytes);
    EXPECT_TRUE(std::regex_match(hex, std::regex("[0-9a-f]*"))) << hex;
  }
}

TEST(RandomHex, ManyIdsFromOneThreadAreUnique) {
  std::set<std::string> ids;
  for (int i = 0; i < 5000; ++i) ids.insert(random_hex(10));
  EXPECT_EQ(ids.size(), 5000u);
}

TEST(RandomHex, ThreadsDrawDifferentIds) {
  std::vector<std::string> first(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < first.size(); ++i) {
    threads.emplace_back([&first, i] { first[i] = random_hex(10); });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(std::set<std::string>(first.begin(), first.end()).size(), first.size());
}

// Ids come from a per-thread pool of random bytes: a forked child must not hand out the
// bytes its parent hands out next.
TEST(RandomHex, AForkedChildDoesNotRepeatItsParent) {
  (void)random_hex(4);  // the pool holds bytes now
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string id = random_hex(8);
    const bool written = write(fds[1], id.data(), id.size()) == static_cast<ssize_t>(id.size());
    _exit(written ? 0 : 1);
  }
  close(fds[1]);
  const std::string parent_id = random_hex(8);
  char buffer[16];
  ssize_t got = 0;
  while (got < 16) {
    const ssize_t n = read(fds[0], buffer + got, sizeof buffer - static_cast<size_t>(got));
    if (n <= 0) break;
    got += n;
  }
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(got, 16);
  EXPECT_NE(std::string(buffer, 16), parent_id);
}

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
