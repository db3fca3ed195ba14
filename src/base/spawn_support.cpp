#include "base/spawn_support.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

extern char** environ;

namespace joey {

std::vector<std::string> build_environment(const std::map<std::string, std::string>& overrides,
                                           const std::vector<std::string>& unset) {
  std::vector<std::string> entries;
  for (char** entry = environ; entry && *entry; ++entry) {
    const std::string_view text(*entry);
    const std::string name(text.substr(0, text.find('=')));
    if (overrides.contains(name)) continue;
    if (std::find(unset.begin(), unset.end(), name) != unset.end()) continue;
    entries.emplace_back(text);
  }
  for (const auto& [name, value] : overrides) entries.push_back(name + "=" + value);
  return entries;
}

std::vector<char*> to_pointer_array(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (std::string& text : strings) pointers.push_back(text.data());
  pointers.push_back(nullptr);
  return pointers;
}

std::string find_on_path(const std::string& program, std::string_view path_value) {
  size_t start = 0;
  while (start <= path_value.size()) {
    size_t end = path_value.find(':', start);
    if (end == std::string_view::npos) end = path_value.size();
    // Built by appending: g++ 12 warns (-Wrestrict, wrongly) when a string assigned "."
    // here is then concatenated.
    std::string candidate(path_value.substr(start, end - start));
    if (candidate.empty()) candidate.push_back('.');
    candidate.append("/").append(program);
    struct stat info {};
    if (stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return "";
}

}  // namespace joey
