// `joeyd keys rotate-kek`: re-wraps every data key under a new key-encryption key.
// The data itself is never touched (each value stays sealed under its data key); only the
// wrapped data keys change, in one transaction.
//
// Crash safety: the new KEK is written first, beside the current one, as "<kek>.new";
// then one transaction re-wraps every data key; then "<kek>.new" replaces the KEK file.
// Interrupted anywhere, running rotate_kek() again finishes the job (keys already under
// the new KEK are skipped), and joeyd refuses to start while a "<kek>.new" exists, so it
// never runs with a KEK that no longer matches the database.
//
// Run it with joeyd stopped on every replica: a running server would wrap new data keys
// with the old KEK meanwhile (rotate_kek then fails naming the unknown KEK id rather than
// leaving a key nobody can unwrap).
#pragma once

#include <filesystem>
#include <string>

#include "base/result.h"
#include "store/database.h"

namespace joey::cloud {

struct KekRotation {
  size_t rewrapped = 0;  // data keys moved to the new KEK this run
  std::string old_kek_id;
  std::string new_kek_id;
};

// The pending file of an interrupted rotation of `kek_file` (the file joeyd uses is
// crypto::KeyEncryptionKey::file_path(data_dir)).
std::filesystem::path pending_kek_path(const std::filesystem::path& kek_file);

Result<KekRotation> rotate_kek(store::Database& database, const std::filesystem::path& kek_file);

}  // namespace joey::cloud
