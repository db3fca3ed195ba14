// Small file helpers shared by joey's on-disk queues in $JOEY_HOME (the telemetry queue,
// the Cloud outbox): private files written atomically, quiet removal, and the
// "claimed by process PID" convention that lets two joeys share one queue directory
// without sending the same entry twice (a claim is an atomic rename; a claim whose
// process is gone may be taken over).
//
// Thread-safety: every function may be called from any thread.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "base/result.h"

namespace joey::client {

inline constexpr unsigned kPrivateFileMode = 0600;

// write_file_atomically with mode 0600, also applied to a file that already existed.
Status write_private_file(const std::filesystem::path& path, std::string_view content);

// Removes `path` when it exists; errors are ignored (the caller has nothing to do about them).
void remove_quietly(const std::filesystem::path& path);

// True when a process with this id exists (also when it belongs to another user).
bool process_alive(pid_t pid);

// The pid in `name` = prefix + digits [+ anything not a digit] + suffix, or 0 when `name`
// has not that shape (or the number is out of range).
pid_t claim_owner(std::string_view name, std::string_view prefix, std::string_view suffix);

}  // namespace joey::client
