// Writing files so that a crash or a failed write never leaves a half-written file:
// write a temporary file beside the target, fsync it, rename it over the target,
// fsync the directory. An existing file's permission bits are kept.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "base/result.h"

namespace joey {

// Replaces (or creates) `path` with `content` atomically. Creates missing parent
// directories when `create_directories` is true. When the file is new, it gets
// `new_file_mode` (subject to the umask). On error the target is untouched and the
// temporary file is removed.
Status write_file_atomically(const std::filesystem::path& path, std::string_view content,
                             bool create_directories = true, unsigned new_file_mode = 0644);

// Reads a whole file. kNotFound when it does not exist, kIo on other failures.
Result<std::string> read_file_to_string(const std::filesystem::path& path);

}  // namespace joey
