#include "base/ids.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>
#include <random>

namespace joey {
namespace {

constexpr size_t kTaskIdRandomBytes = 4;
constexpr std::string_view kTaskIdTimeFormat = "YYYYMMDDTHHMMSS";

bool fill_from_getrandom(unsigned char* buffer, size_t size) {
  size_t filled = 0;
  while (filled < size) {
    const ssize_t got = getrandom(buffer + filled, size - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    filled += static_cast<size_t>(got);
  }
  return true;
}

bool fill_from_urandom(unsigned char* buffer, size_t size) {
  const int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  size_t filled = 0;
  while (filled < size) {
    const ssize_t got = read(fd, buffer + filled, size - filled);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    filled += static_cast<size_t>(got);
  }
  close(fd);
  return filled == size;
}

// getrandom(2) exists on every kernel joey supports; the fallbacks keep ids unique on
// a sandbox that filters the syscall.
void fill_random(unsigned char* buffer, size_t size) {
  if (fill_from_getrandom(buffer, size)) return;
  if (fill_from_urandom(buffer, size)) return;
  std::random_device device;
  for (size_t i = 0; i < size; ++i) buffer[i] = static_cast<unsigned char>(device());
}

// Ids are drawn from a per-thread pool of kernel random bytes, refilled 256 bytes at a
// time: one getrandom(2) call served a call per proxied request, now one per ~20. A
// forked child empties its copy of the pool (the forking thread's is the only one it
// has), so parent and child never hand out the same bytes.
struct RandomPool {
  static constexpr size_t kSize = 256;
  static constexpr size_t kMaxTake = kSize / 4;  // the most one take_random call asks for
  unsigned char bytes[kSize];
  size_t used = kSize;
};
thread_local RandomPool t_pool;

void empty_pool_in_child() { t_pool.used = RandomPool::kSize; }

// `size` is at most RandomPool::kMaxTake.
void take_random(unsigned char* buffer, size_t size) {
  static std::once_flag registered;
  std::call_once(registered, [] { pthread_atfork(nullptr, nullptr, &empty_pool_in_child); });
  RandomPool& pool = t_pool;
  if (RandomPool::kSize - pool.used < size) {
    fill_random(pool.bytes, RandomPool::kSize);
    pool.used = 0;
  }
  std::memcpy(buffer, pool.bytes + pool.used, size);
  pool.used += size;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

}  // namespace

std::string random_hex(size_t bytes) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  std::string hex(bytes * 2, '\0');
  unsigned char raw[RandomPool::kMaxTake];
  for (size_t done = 0; done < bytes;) {
    const size_t chunk = std::min(bytes - done, sizeof raw);
    take_random(raw, chunk);
    for (size_t i = 0; i < chunk; ++i) {
      hex[2 * (done + i)] = kHexDigits[raw[i] >> 4];
      hex[2 * (done + i) + 1] = kHexDigits[raw[i] & 0x0F];
    }
    done += chunk;
  }
  return hex;
}

std::string new_task_id() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  const size_t length = std::strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &utc);
  return std::string(stamp, length) + "-" + random_hex(kTaskIdRandomBytes);
}

bool is_task_id(std::string_view id) {
  const size_t time_length = kTaskIdTimeFormat.size();
  if (id.size() != time_length + 1 + kTaskIdRandomBytes * 2) return false;
  for (size_t i = 0; i < time_length; ++i) {
    if (kTaskIdTimeFormat[i] == 'T' ? id[i] != 'T' : !is_digit(id[i])) return false;
  }
  if (id[time_length] != '-') return false;
  for (size_t i = time_length + 1; i < id.size(); ++i) {
    if (!is_lower_hex(id[i])) return false;
  }
  return true;
}

}  // namespace joey
