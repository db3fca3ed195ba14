#include "base/ids.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <random>
#include <vector>

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

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

}  // namespace

std::string random_hex(size_t bytes) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  std::vector<unsigned char> raw(bytes);
  fill_random(raw.data(), raw.size());
  std::string hex;
  hex.reserve(bytes * 2);
  for (unsigned char byte : raw) {
    hex.push_back(kHexDigits[byte >> 4]);
    hex.push_back(kHexDigits[byte & 0x0F]);
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
