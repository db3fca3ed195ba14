// Per-tenant data keys (P8) and the sealing of tenant values with them. A tenant is an
// organization or a user: an organization's data (settings, provider keys, its tasks)
// is sealed under its keys, a user's own data (tasks outside any organization) under
// the user's.
//
// Each tenant has data keys in `data_keys`, wrapped by the key-encryption key; the
// newest is its current key, created on first use. Values are sealed with crypto::seal
// under ValueContext{"org:<id>" or "user:<id>", table, column, row}, so a value copied
// to another row, column, table or tenant fails to open. destroy_keys() deletes a
// tenant's wrapped keys (crypto-shredding, P9): every value they sealed, in the
// database, its backups or free pages, becomes unreadable.
//
// Every call takes a transaction in the tenant's scope (Scope::for_org(org_id, ...) for
// an organization; a scope whose user_id is the user for a user); the key rows are read
// through it, so a key row is always checked against the database — a key another
// replica destroyed is never used — and unwrapped keys are cached only to save the
// unwrap. A transaction for another tenant is refused (kInternal: a programming error,
// never input).
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
#include <optional>
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

// Whose key: an organization's or a user's.
struct Tenant {
  enum class Kind { kOrg, kUser };
  Kind kind = Kind::kOrg;
  std::string id;

  static Tenant org(std::string org_id) { return Tenant{Kind::kOrg, std::move(org_id)}; }
  static Tenant user(std::string user_id) { return Tenant{Kind::kUser, std::move(user_id)}; }
  // "org:<id>" or "user:<id>": the tenant field of every sealed value's context.
  std::string context() const;
};

class KeyRing {
 public:
  // `database` must outlive the KeyRing.
  KeyRing(store::Database& database, crypto::KeyEncryptionKey kek, KeyRingOptions options = {});

  // The tenant's current data key, generated, wrapped and stored on first use.
  Result<crypto::DataKey> key_for(store::Transaction& tx, const Tenant& tenant);
  // The tenant's current data key if it has one; never creates one (for read-only
  // transactions).
  Result<std::optional<crypto::DataKey>> current_key(store::Transaction& tx, const Tenant& tenant);
  // The tenant's key called `key_id` (from crypto::sealed_key_id). kNotFound when the
  // tenant has no such key (never had it, or destroyed it).
  Result<crypto::DataKey> key_by_id(store::Transaction& tx, const Tenant& tenant,
                                    const std::string& key_id);
  // Deletes every data key of the tenant and drops them from the cache.
  Status destroy_keys(store::Transaction& tx, const Tenant& tenant);

  // Seals `plaintext` under the tenant's current key for {table, column, row}.
  Result<std::string> seal(store::Transaction& tx, const Tenant& tenant, std::string_view table,
                           std::string_view column, std::string_view row,
                           std::string_view plaintext);
  // Opens a value seal() made for the same tenant, table, column and row. kInternal
  // when it does not open (see above).
  Result<std::string> open(store::Transaction& tx, const Tenant& tenant, std::string_view table,
                           std::string_view column, std::string_view row, std::string_view sealed);

  store::Database& database() const { return database_; }
  const std::string& kek_id() const { return kek_.id(); }
  size_t cached_keys_for_testing() const;

 private:
  struct CachedKey {
    std::string tenant;   // Tenant::context()
    std::string wrapped;  // the bytes it was unwrapped from: a rewrapped row re-unwraps
    crypto::DataKey key;
  };

  Status check_scope(const store::Transaction& tx, const Tenant& tenant) const;
  Result<crypto::DataKey> unwrap_row(const Tenant& tenant, const std::string& key_id,
                                     const std::string& wrapped, const std::string& kek_id);
  int64_t now() const;

  store::Database& database_;
  const crypto::KeyEncryptionKey kek_;
  KeyRingOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, CachedKey> cache_;  // by key id; GUARDED_BY(mutex_)
};

}  // namespace joey::cloud
