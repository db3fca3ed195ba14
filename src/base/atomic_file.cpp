// Implementation notes:
// - The temporary file is "<dir>/.<name>.joey-tmp-<random>", created with O_EXCL so a
//   concurrent writer or a leftover from a crash never gets reused.
// - A new file is created with `new_file_mode` directly, so the kernel applies the
//   umask; when replacing, the old file's mode (and, when permitted, owner) is copied.
// - A symlink target is followed: the file it points to is replaced, the link stays.
// - The directory fsync after rename is best effort: the new content is already in
//   place, and some file systems refuse fsync on a directory.
#include "base/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "base/ids.h"

namespace joey {
namespace {

constexpr int kTempNameAttempts = 8;

Error io_error(const std::string& what, const std::filesystem::path& path, int error_number) {
  const ErrorKind kind = error_number == ENOENT ? ErrorKind::kNotFound : ErrorKind::kIo;
  return make_error(kind, what + " " + path.string() + ": " + std::strerror(error_number));
}

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

  int get() const { return fd_; }
  // Closes now and reports the result, since close() can report a deferred write error.
  int close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

Status write_all(int fd, std::string_view content, const std::filesystem::path& path) {
  while (!content.empty()) {
    const ssize_t written = ::write(fd, content.data(), content.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return io_error("writing", path, errno);
    }
    content.remove_prefix(static_cast<size_t>(written));
  }
  return ok_status();
}

// The path to replace: `path` itself, or the file a symlink at `path` points to.
std::filesystem::path resolve_target(const std::filesystem::path& path) {
  std::error_code error;
  if (std::filesystem::is_symlink(path, error)) {
    std::filesystem::path resolved = std::filesystem::weakly_canonical(path, error);
    if (!error) return resolved;
  }
  return path;
}

Status write_and_replace(int fd, const std::filesystem::path& temp_path,
                         const std::filesystem::path& target, std::string_view content,
                         const struct stat* existing) {
  TRY(write_all(fd, content, temp_path));
  if (existing) {
    if (fchmod(fd, existing->st_mode & 07777) != 0) {
      return io_error("setting the mode of", temp_path, errno);
    }
    // Keeps the owner when joey runs as root on someone else's file; otherwise fails
    // harmlessly with EPERM.
    if (existing->st_uid != geteuid() || existing->st_gid != getegid()) {
      [[maybe_unused]] const int ignored = fchown(fd, existing->st_uid, existing->st_gid);
    }
  }
  if (fsync(fd) != 0) return io_error("syncing", temp_path, errno);
  if (rename(temp_path.c_str(), target.c_str()) != 0) {
    return io_error("replacing", target, errno);
  }
  return ok_status();
}

void sync_directory(const std::filesystem::path& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  fsync(fd);
  close(fd);
}

}  // namespace

Status write_file_atomically(const std::filesystem::path& path, std::string_view content,
                             bool create_directories, unsigned new_file_mode) {
  if (path.empty() || !path.has_filename()) {
    return make_error(ErrorKind::kInvalidArgument,
                      "cannot write '" + path.string() + "': not a file path");
  }
  const std::filesystem::path target = resolve_target(path);
  std::filesystem::path dir = target.parent_path();
  if (dir.empty()) dir = ".";

  if (create_directories) {
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (error) {
      return make_error(ErrorKind::kIo,
                        "creating directory " + dir.string() + ": " + error.message());
    }
  }

  struct stat existing {};
  const bool target_exists = stat(target.c_str(), &existing) == 0;
  if (target_exists && S_ISDIR(existing.st_mode)) {
    return make_error(ErrorKind::kInvalidArgument,
                      "cannot write " + target.string() + ": it is a directory");
  }

  const mode_t create_mode = static_cast<mode_t>(new_file_mode & 07777);
  std::filesystem::path temp_path;
  int fd = -1;
  for (int attempt = 0; attempt < kTempNameAttempts && fd < 0; ++attempt) {
    temp_path = dir / ("." + target.filename().string() + ".joey-tmp-" + random_hex(6));
    fd = open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, create_mode);
    if (fd < 0 && errno != EEXIST) return io_error("creating a temporary file in", dir, errno);
  }
  if (fd < 0) return io_error("creating a temporary file in", dir, EEXIST);

  FdCloser file(fd);
  Status written = write_and_replace(file.get(), temp_path, target, content,
                                     target_exists ? &existing : nullptr);
  if (!written.ok()) {
    file.close();
    unlink(temp_path.c_str());
    return written;
  }
  // The rename already happened and the data was fsynced; a close error now cannot
  // mean lost data, so it is not reported.
  file.close();
  sync_directory(dir);
  return ok_status();
}

Result<std::string> read_file_to_string(const std::filesystem::path& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("reading", path, errno);
  FdCloser file(fd);
  std::string content;
  struct stat info {};
  if (fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_size > 0) {
    content.reserve(static_cast<size_t>(info.st_size));
  }
  char buffer[65536];
  while (true) {
    const ssize_t got = read(fd, buffer, sizeof(buffer));
    if (got < 0) {
      if (errno == EINTR) continue;
      return io_error("reading", path, errno);
    }
    if (got == 0) break;
    content.append(buffer, static_cast<size_t>(got));
  }
  return content;
}

}  // namespace joey
