// Per-organization data keys (P8) and the sealing of organization values with them.
//
// Each organization has data keys in `data_keys`, wrapped by the key-encryption key;
// the newest is its current key, created on first use. Values are sealed with
// crypto::seal under ValueContext{"org:<id>", table, column, row}, so a value copied to
// another row, column, table or organization fails to open. destroy_org_keys() deletes
// an organization's wrapped keys (crypto-shredding, P9): every value they sealed, in
// the database, its backups or free pages, becomes unreadable.
//
// Every call takes a transaction in the organization's scope (Scope::for_org(org_id,
// ...)); the key rows are read through it, so a key row is always checked against the
// database — a key another replica destroyed is never used — and unwrapped keys are
// cached only to save the unwrap. A transaction for another organization is refused
// (kInternal: a programming error, never input).
//
// Errors: a value that does not open (altered, moved, or its key destroyed) and a key
// wrapped by another KEK are kInternal with a message that names neither plaintext nor
// key material; database errors pass through.
//
// Thread-safety: every method may be called from many threads at once (the cache is
// guarded by a mutex); a Transaction itself belongs to one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "base/result.h"
#include "crypto/data_key.h"
#include "crypto/key_encryption_key.h"
#include "store/database.h"

namespace joey::cloud {

struct KeyRingOptions {
  // Unwrapped keys kept in memory; beyond this the cache is emptied and refilled.
  size_t max_cached_keys = 1024;
  // Unix seconds now, for created_at; empty means the system clock.
  std::function<int64_t()> clock;
};

class KeyRing {
 public:
  // `database` must outlive the KeyRing.
  KeyRing(store::Database& database, crypto::KeyEncryptionKey kek, KeyRingOptions options = {});

  // The organization's current data key, generated, wrapped and stored on first use.
  Result<crypto::DataKey> key_for_org(store::Transaction& tx, const std::string& org_id);
  // The organization's key called `key_id` (from crypto::sealed_key_id). kNotFound when
  // the organization has no such key (never had it, or destroyed it).
  Result<crypto::DataKey> key_by_id(store::Transaction& tx, const std::string& org_id,
                                    const std::string& key_id);
  // Deletes every data key of the organization and drops them from the cache.
  Status destroy_org_keys(store::Transaction& tx, const std::string& org_id);

  // Seals `plaintext` under the organization's current key for {table, column, row}.
  Result<std::string> seal_org_value(store::Transaction& tx, const std::string& org_id,
                                     std::string_view table, std::string_view column,
                                     std::string_view row, std::string_view plaintext);
  // Opens a value seal_org_value made for the same organization, table, column and row.
  // kInternal when it does not open (see above).
  Result<std::string> open_org_value(store::Transaction& tx, const std::string& org_id,
                                     std::string_view table, std::string_view column,
                                     std::string_view row, std::string_view sealed);

  store::Database& database() const { return database_; }
  const std::string& kek_id() const { return kek_.id(); }
  size_t cached_keys_for_testing() const;

 private:
  struct CachedKey {
    std::string org_id;
    std::string wrapped;  // the bytes it was unwrapped from: a rewrapped row re-unwraps
    crypto::DataKey key;
  };

  Status check_scope(const store::Transaction& tx, const std::string& org_id) const;
  Result<crypto::DataKey> unwrap_row(const std::string& org_id, const std::string& key_id,
                                     const std::string& wrapped, const std::string& kek_id);
  int64_t now() const;

  store::Database& database_;
  const crypto::KeyEncryptionKey kek_;
  KeyRingOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, CachedKey> cache_;  // by key id; GUARDED_BY(mutex_)
};

// "org:<id>": the tenant field of every organization value's context.
std::string org_tenant(std::string_view org_id);

}  // namespace joey::cloud
