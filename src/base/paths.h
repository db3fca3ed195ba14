// Where joey keeps its local state ($JOEY_HOME, default ~/.joey: config, secrets,
// task history, egress log) and how private directories are made. Directories joey
// creates are 0700 so that other local users cannot read task history or keys.
//
// Thread-safety: safe to call from any thread, as long as no thread changes the
// environment at the same time.
#pragma once

#include <filesystem>

#include "base/result.h"

namespace joey {

// $JOEY_HOME when set and non-empty (made absolute), else $HOME/.joey (HOME falls
// back to the password database). Creates the directory with mode 0700 when it is
// missing; an existing directory keeps its mode. kNotFound when no home directory
// can be determined, kIo when it cannot be created.
Result<std::filesystem::path> joey_home();

// Creates `path` and any missing parents with mode 0700 (directories that already
// exist are left as they are) and returns `path`. kAlreadyExists when `path` or a
// parent exists but is not a directory, kIo on other failures.
Result<std::filesystem::path> ensure_private_dir(const std::filesystem::path& path);

}  // namespace joey
