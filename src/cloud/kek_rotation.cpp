#include "cloud/kek_rotation.h"

#include <system_error>

#include "crypto/data_key.h"
#include "crypto/key_encryption_key.h"

namespace joey::cloud {

std::filesystem::path pending_kek_path(const std::filesystem::path& kek_file) {
  return kek_file.string() + ".new";
}

Result<KekRotation> rotate_kek(store::Database& database, const std::filesystem::path& kek_file) {
  const crypto::KeyEncryptionKey current = TRY(crypto::KeyEncryptionKey::load_file(kek_file));
  const std::filesystem::path pending = pending_kek_path(kek_file);
  std::error_code error;
  Result<crypto::KeyEncryptionKey> next = std::filesystem::exists(pending, error)
                                              ? crypto::KeyEncryptionKey::load_file(pending)
                                              : crypto::KeyEncryptionKey::create_file(pending);
  if (!next.ok()) return next.error().with_context("the new key-encryption key");

  KekRotation rotation{0, current.id(), next->id()};
  store::Transaction tx = TRY(database.begin_all_tenants());
  store::Rows rows = TRY(tx.query("SELECT key_id, wrapped, kek_id FROM data_keys"));
  for (const store::Row& row : rows) {
    crypto::WrappedKey wrapped{TRY(row.text("key_id")), TRY(row.text("kek_id")),
                               TRY(row.blob("wrapped"))};
    if (wrapped.kek_id == next->id()) continue;  // done by an interrupted run
    if (wrapped.kek_id != current.id()) {
      return make_error(ErrorKind::kInvalidArgument,
                        "data key " + wrapped.key_id + " is wrapped by key-encryption key " +
                            wrapped.kek_id + ", which is neither the current one (" + current.id() +
                            ") nor the new one; was joeyd running meanwhile?");
    }
    crypto::WrappedKey moved = TRY(crypto::rewrap(wrapped, current, *next));
    TRY(tx.execute("UPDATE data_keys SET wrapped = ?, kek_id = ? WHERE key_id = ?",
                   {store::Blob{moved.bytes}, moved.kek_id, moved.key_id}));
    ++rotation.rewrapped;
  }
  TRY(tx.commit());
  std::filesystem::rename(pending, kek_file, error);
  if (error) {
    return make_error(ErrorKind::kIo, "the data keys are re-wrapped, but " + pending.string() +
                                          " could not replace " + kek_file.string() + ": " +
                                          error.message() + "; run rotate-kek again");
  }
  return rotation;
}

}  // namespace joey::cloud
