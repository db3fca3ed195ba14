#include "cloud/key_ring.h"

#include <chrono>
#include <utility>

#include "base/log.h"
#include "crypto/sealed_value.h"

namespace joey::cloud {

std::string org_tenant(std::string_view org_id) { return "org:" + std::string(org_id); }

KeyRing::KeyRing(store::Database& database, crypto::KeyEncryptionKey kek, KeyRingOptions options)
    : database_(database), kek_(std::move(kek)), options_(std::move(options)) {
  if (options_.max_cached_keys == 0) options_.max_cached_keys = 1;
}

int64_t KeyRing::now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status KeyRing::check_scope(const store::Transaction& tx, const std::string& org_id) const {
  if (org_id.empty() || tx.scope().org_id != org_id) {
    return make_error(ErrorKind::kInternal,
                      "a data key was requested outside its organization's transaction");
  }
  return ok_status();
}

Result<crypto::DataKey> KeyRing::unwrap_row(const std::string& org_id, const std::string& key_id,
                                            const std::string& wrapped, const std::string& kek_id) {
  {
    std::lock_guard lock(mutex_);
    auto cached = cache_.find(key_id);
    if (cached != cache_.end() && cached->second.org_id == org_id &&
        cached->second.wrapped == wrapped) {
      return cached->second.key;
    }
  }
  Result<crypto::DataKey> key = kek_.unwrap(crypto::WrappedKey{key_id, kek_id, wrapped});
  if (!key.ok()) {
    log::error("data_key_unwrap_failed",
               {log::field("kek_id", kek_id), log::field("loaded_kek_id", kek_.id())});
    return make_error(ErrorKind::kInternal,
                      "a data key could not be unwrapped: " + key.error().message);
  }
  std::lock_guard lock(mutex_);
  if (cache_.size() >= options_.max_cached_keys) cache_.clear();
  cache_.insert_or_assign(key_id, CachedKey{org_id, wrapped, *key});
  return key;
}

Result<crypto::DataKey> KeyRing::key_for_org(store::Transaction& tx, const std::string& org_id) {
  TRY(check_scope(tx, org_id));
  store::Rows rows =
      TRY(tx.query("SELECT key_id, wrapped, kek_id FROM data_keys WHERE org_id = :org "
                   "ORDER BY created_at DESC, key_id DESC LIMIT 1"));
  if (!rows.empty()) {
    return unwrap_row(org_id, TRY(rows[0].text("key_id")), TRY(rows[0].blob("wrapped")),
                      TRY(rows[0].text("kek_id")));
  }
  crypto::DataKey key = crypto::DataKey::generate();
  crypto::WrappedKey wrapped = TRY(kek_.wrap(key));
  TRY(
      tx.execute("INSERT INTO data_keys (key_id, org_id, wrapped, kek_id, created_at) "
                 "VALUES (?, :org, ?, ?, ?)",
                 {wrapped.key_id, store::Blob{wrapped.bytes}, wrapped.kek_id, now()}));
  std::lock_guard lock(mutex_);
  if (cache_.size() >= options_.max_cached_keys) cache_.clear();
  cache_.insert_or_assign(key.id(), CachedKey{org_id, wrapped.bytes, key});
  return key;
}

Result<crypto::DataKey> KeyRing::key_by_id(store::Transaction& tx, const std::string& org_id,
                                           const std::string& key_id) {
  TRY(check_scope(tx, org_id));
  store::Rows rows = TRY(tx.query(
      "SELECT wrapped, kek_id FROM data_keys WHERE key_id = ? AND org_id = :org", {key_id}));
  if (rows.empty()) {
    std::lock_guard lock(mutex_);
    cache_.erase(key_id);
    return make_error(ErrorKind::kNotFound, "the organization has no data key " + key_id);
  }
  return unwrap_row(org_id, key_id, TRY(rows[0].blob("wrapped")), TRY(rows[0].text("kek_id")));
}

Status KeyRing::destroy_org_keys(store::Transaction& tx, const std::string& org_id) {
  TRY(check_scope(tx, org_id));
  TRY(tx.execute("DELETE FROM data_keys WHERE org_id = :org"));
  std::lock_guard lock(mutex_);
  for (auto it = cache_.begin(); it != cache_.end();) {
    it = it->second.org_id == org_id ? cache_.erase(it) : std::next(it);
  }
  return ok_status();
}

Result<std::string> KeyRing::seal_org_value(store::Transaction& tx, const std::string& org_id,
                                            std::string_view table, std::string_view column,
                                            std::string_view row, std::string_view plaintext) {
  crypto::DataKey key = TRY(key_for_org(tx, org_id));
  return crypto::seal(key, plaintext,
                      crypto::ValueContext{org_tenant(org_id), std::string(table),
                                           std::string(column), std::string(row)});
}

Result<std::string> KeyRing::open_org_value(store::Transaction& tx, const std::string& org_id,
                                            std::string_view table, std::string_view column,
                                            std::string_view row, std::string_view sealed) {
  const std::string where = std::string(table) + "." + std::string(column);
  Result<std::string> key_id = crypto::sealed_key_id(sealed);
  if (!key_id.ok()) {
    return make_error(ErrorKind::kInternal, "a sealed value in " + where + " is malformed");
  }
  Result<crypto::DataKey> key = key_by_id(tx, org_id, *key_id);
  if (!key.ok()) {
    if (key.error().kind != ErrorKind::kNotFound) return key.error();
    return make_error(ErrorKind::kInternal, "a sealed value in " + where +
                                                " names a data key the organization does not "
                                                "have (destroyed, or copied from elsewhere)");
  }
  Result<std::string> plaintext =
      crypto::open(*key, sealed,
                   crypto::ValueContext{org_tenant(org_id), std::string(table), std::string(column),
                                        std::string(row)});
  if (!plaintext.ok()) {
    return make_error(ErrorKind::kInternal, "a sealed value in " + where +
                                                " does not open: altered, or moved from "
                                                "another row");
  }
  return plaintext;
}

size_t KeyRing::cached_keys_for_testing() const {
  std::lock_guard lock(mutex_);
  return cache_.size();
}

}  // namespace joey::cloud
