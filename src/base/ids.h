// Random identifiers. Task ids sort by creation time, so a directory listing or an
// ORDER BY on the id is chronological (to the second).
//
// Thread-safety: all functions are safe to call from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace joey {

// 2 * `bytes` lowercase hex characters from the kernel's CSPRNG (getrandom(2)).
std::string random_hex(size_t bytes);

// A new task id: UTC time plus 8 random hex characters, e.g. "20261125T154419-1a2b3c4d".
std::string new_task_id();

// True when `id` has exactly the shape new_task_id() produces. Ids that pass are safe
// to use as file names (no '/', no '.', no spaces).
bool is_task_id(std::string_view id);

}  // namespace joey
