#include "base/paths.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

namespace joey {
namespace {

constexpr mode_t kPrivateDirMode = 0700;

std::string errno_text(int error_number) { return std::strerror(error_number); }

std::string home_from_password_database() {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (getpwuid_r(getuid(), &entry, buffer.data(), buffer.size(), &found) != 0 || !found ||
      !found->pw_dir) {
    return "";
  }
  return found->pw_dir;
}

// mkdir one level. Tolerates a concurrent creator; forces 0700 on what it created
// because the umask may have removed bits but never adds them.
Status make_private_dir_level(const std::filesystem::path& dir) {
  if (mkdir(dir.c_str(), kPrivateDirMode) == 0) {
    if (chmod(dir.c_str(), kPrivateDirMode) != 0) {
      return make_error(ErrorKind::kIo,
                        "setting mode 0700 on " + dir.string() + ": " + errno_text(errno));
    }
    return ok_status();
  }
  const int mkdir_errno = errno;
  struct stat info {};
  if (mkdir_errno == EEXIST && stat(dir.c_str(), &info) == 0) {
    if (S_ISDIR(info.st_mode)) return ok_status();
    return make_error(ErrorKind::kAlreadyExists, dir.string() + " exists and is not a directory");
  }
  if (mkdir_errno == ENOTDIR) {
    return make_error(ErrorKind::kAlreadyExists,
                      "cannot create " + dir.string() + ": a parent is not a directory");
  }
  return make_error(ErrorKind::kIo,
                    "creating directory " + dir.string() + ": " + errno_text(mkdir_errno));
}

}  // namespace

Result<std::filesystem::path> ensure_private_dir(const std::filesystem::path& path) {
  if (path.empty()) {
    return make_error(ErrorKind::kInvalidArgument, "empty directory path");
  }
  struct stat info {};
  if (stat(path.c_str(), &info) == 0) {
    if (S_ISDIR(info.st_mode)) return path;
    return make_error(ErrorKind::kAlreadyExists, path.string() + " exists and is not a directory");
  }
  // Collect the missing levels from the deepest up, then create them top-down.
  std::vector<std::filesystem::path> missing;
  std::filesystem::path level = path.lexically_normal();
  if (!level.has_filename()) level = level.parent_path();  // "a/b/" -> "a/b"
  while (!level.empty() && lstat(level.c_str(), &info) != 0 &&
         (errno == ENOENT || errno == ENOTDIR)) {
    missing.push_back(level);
    const std::filesystem::path parent = level.parent_path();
    if (parent == level) break;
    level = parent;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    TRY(make_private_dir_level(*it));
  }
  if (stat(path.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    return make_error(ErrorKind::kIo, "could not create directory " + path.string());
  }
  return path;
}

Result<std::filesystem::path> joey_home() {
  std::filesystem::path home;
  const char* joey_home_env = std::getenv("JOEY_HOME");
  if (joey_home_env && *joey_home_env) {
    std::error_code error;
    home = std::filesystem::absolute(joey_home_env, error);
    if (error) {
      return make_error(ErrorKind::kIo, std::string("resolving JOEY_HOME=") + joey_home_env + ": " +
                                            error.message());
    }
  } else {
    const char* home_env = std::getenv("HOME");
    std::string user_home = (home_env && *home_env) ? home_env : home_from_password_database();
    if (user_home.empty()) {
      return make_error(ErrorKind::kNotFound,
                        "cannot find a home directory for joey's state: set HOME or JOEY_HOME");
    }
    home = std::filesystem::path(user_home) / ".joey";
  }
  auto created = ensure_private_dir(home);
  if (!created.ok()) return created.error().with_context("preparing joey's state directory");
  return created;
}

}  // namespace joey
