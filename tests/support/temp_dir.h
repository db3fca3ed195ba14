// A new private directory for a test's (or a fuzz target's) files.
#pragma once

#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace joey::testing {

// A new directory under the system's temporary one, its name `prefix` and six random
// characters, as its canonical path (the tests compare paths the code canonicalises).
// Throws when it cannot be made. The caller removes it.
inline std::filesystem::path make_temp_dir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  }
  return std::filesystem::canonical(pattern);
}

}  // namespace joey::testing
