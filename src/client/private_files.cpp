#include "client/private_files.h"

#include <signal.h>

#include <cerrno>
#include <system_error>

#include "base/atomic_file.h"

namespace joey::client {

Status write_private_file(const std::filesystem::path& path, std::string_view content) {
  TRY(write_file_atomically(path, content, true, kPrivateFileMode));
  std::error_code ignored;
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ignored);
  return ok_status();
}

void remove_quietly(const std::filesystem::path& path) {
  std::error_code ignored;
  std::filesystem::remove(path, ignored);
}

bool process_alive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

pid_t claim_owner(std::string_view name, std::string_view prefix, std::string_view suffix) {
  if (name.size() < prefix.size() + suffix.size() || !name.starts_with(prefix) ||
      !name.ends_with(suffix)) {
    return 0;
  }
  const std::string_view digits = name.substr(prefix.size());
  long pid = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') break;
    pid = pid * 10 + (c - '0');
    if (pid > 1 << 30) return 0;
  }
  return static_cast<pid_t>(pid);
}

}  // namespace joey::client
