// What several fuzz targets need around the code they fuzz.
#pragma once

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace joey::fuzz {

// A new private directory under the system's temporary one, its name starting with
// `prefix`, for the whole run of one fuzz target (libFuzzer ends the process; nothing
// removes it). Aborts when it cannot be made.
inline std::filesystem::path temporary_directory(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("fuzz: cannot create a temporary directory");
    abort();
  }
  return pattern;
}

}  // namespace joey::fuzz
