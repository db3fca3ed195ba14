#include "cloud/key_ring.h"

#include <chrono>
#include <utility>

#include "base/log.h"
#include "crypto/sealed_value.h"

namespace joey::cloud {
namespace {

bool is_org(const Tenant& tenant) { return tenant.kind == Tenant::Kind::kOrg; }

// The data_keys column that names the tenant, compared with its scope marker.
const char* tenant_predicate(const Tenant& tenant) {
  return is_org(tenant) ? "org_id = :org" : "user_id = :user";
}

const char* tenant_noun(const Tenant& tenant) { return is_org(tenant) ? "organization" : "user"; }

}  // namespace

std::string Tenant::context() const { return (kind == Kind::kOrg ? "org:" : "user:") + id; }

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

Status KeyRing::check_scope(const store::Transaction& tx, const Tenant& tenant) const {
  const std::string& scoped = is_org(tenant) ? tx.scope().org_id : tx.scope().user_id;
  if (tenant.id.empty() || scoped != tenant.id) {
    return make_error(ErrorKind::kInternal, std::string("a data key was requested outside its ") +
                                                tenant_noun(tenant) + "'s transaction");
  }
  return ok_status();
}

Result<crypto::DataKey> KeyRing::unwrap_row(const Tenant& tenant, const std::string& key_id,
                                            const std::string& wrapped, const std::string& kek_id) {
  const std::string owner = tenant.context();
  {
    std::lock_guard lock(mutex_);
    auto cached = cache_.find(key_id);
    if (cached != cache_.end() && cached->second.tenant == owner &&
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
  cache_.insert_or_assign(key_id, CachedKey{owner, wrapped, *key});
  return key;
}

Result<std::optional<crypto::DataKey>> KeyRing::current_key(store::Transaction& tx,
                                                            const Tenant& tenant) {
  TRY(check_scope(tx, tenant));
  store::Rows rows =
      TRY(tx.query(std::string("SELECT key_id, wrapped, kek_id FROM data_keys "
                               "WHERE ") +
                   tenant_predicate(tenant) + " ORDER BY created_at DESC, key_id DESC LIMIT 1"));
  if (rows.empty()) return std::optional<crypto::DataKey>();
  return std::optional(TRY(unwrap_row(tenant, TRY(rows[0].text("key_id")),
                                      TRY(rows[0].blob("wrapped")), TRY(rows[0].text("kek_id")))));
}

Result<crypto::DataKey> KeyRing::key_for(store::Transaction& tx, const Tenant& tenant) {
  if (std::optional<crypto::DataKey> current = TRY(current_key(tx, tenant))) return *current;
  crypto::DataKey key = crypto::DataKey::generate();
  crypto::WrappedKey wrapped = TRY(kek_.wrap(key));
  const std::string insert =
      is_org(tenant) ? "INSERT INTO data_keys (key_id, org_id, wrapped, kek_id, created_at) "
                       "VALUES (?, :org, ?, ?, ?)"
                     : "INSERT INTO data_keys (key_id, user_id, wrapped, kek_id, created_at) "
                       "VALUES (?, :user, ?, ?, ?)";
  TRY(tx.execute(insert, {wrapped.key_id, store::Blob{wrapped.bytes}, wrapped.kek_id, now()}));
  std::lock_guard lock(mutex_);
  if (cache_.size() >= options_.max_cached_keys) cache_.clear();
  cache_.insert_or_assign(key.id(), CachedKey{tenant.context(), wrapped.bytes, key});
  return key;
}

Result<crypto::DataKey> KeyRing::key_by_id(store::Transaction& tx, const Tenant& tenant,
                                           const std::string& key_id) {
  TRY(check_scope(tx, tenant));
  store::Rows rows = TRY(tx.query(std::string("SELECT wrapped, kek_id FROM data_keys "
                                              "WHERE key_id = ? AND ") +
                                      tenant_predicate(tenant),
                                  {key_id}));
  if (rows.empty()) {
    std::lock_guard lock(mutex_);
    cache_.erase(key_id);
    return make_error(ErrorKind::kNotFound,
                      std::string("the ") + tenant_noun(tenant) + " has no data key " + key_id);
  }
  return unwrap_row(tenant, key_id, TRY(rows[0].blob("wrapped")), TRY(rows[0].text("kek_id")));
}

Status KeyRing::destroy_keys(store::Transaction& tx, const Tenant& tenant) {
  TRY(check_scope(tx, tenant));
  TRY(tx.execute(std::string("DELETE FROM data_keys WHERE ") + tenant_predicate(tenant)));
  const std::string owner = tenant.context();
  std::lock_guard lock(mutex_);
  for (auto it = cache_.begin(); it != cache_.end();) {
    it = it->second.tenant == owner ? cache_.erase(it) : std::next(it);
  }
  return ok_status();
}

Result<std::string> KeyRing::seal(store::Transaction& tx, const Tenant& tenant,
                                  std::string_view table, std::string_view column,
                                  std::string_view row, std::string_view plaintext) {
  crypto::DataKey key = TRY(key_for(tx, tenant));
  return crypto::seal(key, plaintext,
                      crypto::ValueContext{tenant.context(), std::string(table),
                                           std::string(column), std::string(row)});
}

Result<std::string> KeyRing::open(store::Transaction& tx, const Tenant& tenant,
                                  std::string_view table, std::string_view column,
                                  std::string_view row, std::string_view sealed) {
  const std::string where = std::string(table) + "." + std::string(column);
  Result<std::string> key_id = crypto::sealed_key_id(sealed);
  if (!key_id.ok()) {
    return make_error(ErrorKind::kInternal, "a sealed value in " + where + " is malformed");
  }
  Result<crypto::DataKey> key = key_by_id(tx, tenant, *key_id);
  if (!key.ok()) {
    if (key.error().kind != ErrorKind::kNotFound) return key.error();
    return make_error(ErrorKind::kInternal, "a sealed value in " + where +
                                                " names a data key the " + tenant_noun(tenant) +
                                                " does not have (destroyed, or copied from "
                                                "elsewhere)");
  }
  Result<std::string> plaintext =
      crypto::open(*key, sealed,
                   crypto::ValueContext{tenant.context(), std::string(table), std::string(column),
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
