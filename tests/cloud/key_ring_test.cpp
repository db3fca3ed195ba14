// The key ring on SQLite and PostgreSQL: one current data key per organization and per
// user, created on first use and stored only wrapped; sealed values open only in their
// own tenant, table, column and row; destroying a tenant's keys (crypto-shredding)
// makes its values unreadable; a key wrapped by another KEK is refused.
#include "cloud/key_ring.h"

#include <gtest/gtest.h>

#include "crypto/sealed_value.h"
#include "support/test_database.h"

namespace joey::cloud {
namespace {

constexpr char kOrgA[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr char kOrgB[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

class KeyRingTest : public joey::testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (stopped()) return;
    for (const char* org : {kOrgA, kOrgB}) {
      store::Transaction tx = begin(org);
      ASSERT_TRUE(tx.execute("INSERT INTO organizations (id, name, created_at) VALUES (:org, ?, 1)",
                             {std::string("org ") + org[0]})
                      .ok());
      ASSERT_TRUE(tx.commit().ok());
    }
  }
  store::Transaction begin(const std::string& org) {
    Result<store::Transaction> tx = store_->begin(store::Scope::for_org(org));
    EXPECT_TRUE(tx.ok()) << tx.error().message;
    return std::move(tx).value();
  }

  std::string seal(KeyRing& ring, const std::string& org, const std::string& row,
                   const std::string& plaintext) {
    store::Transaction tx = begin(org);
    Result<std::string> sealed =
        ring.seal(tx, Tenant::org(org), "org_settings", "sealed", row, plaintext);
    EXPECT_TRUE(sealed.ok()) << sealed.error().message;
    EXPECT_TRUE(tx.commit().ok());
    return sealed.value_or("");
  }

  Result<std::string> open(KeyRing& ring, const std::string& org, const std::string& row,
                           const std::string& sealed) {
    store::Transaction tx = begin(org);
    return ring.open(tx, Tenant::org(org), "org_settings", "sealed", row, sealed);
  }

  int64_t key_rows(const std::string& org) {
    store::Transaction tx = begin(org);
    auto rows = tx.query("SELECT COUNT(*) AS n FROM data_keys WHERE org_id = :org");
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? (*rows)[0].integer("n").value_or(-1) : -1;
  }

  crypto::KeyEncryptionKey kek_ = crypto::KeyEncryptionKey::generate();
};

TEST_P(KeyRingTest, AnOrganizationGetsOneWrappedKeyOnFirstUseAndKeepsIt) {
  KeyRing ring(*store_, kek_);
  std::string first_id;
  {
    store::Transaction tx = begin(kOrgA);
    Result<crypto::DataKey> key = ring.key_for(tx, Tenant::org(kOrgA));
    ASSERT_TRUE(key.ok()) << key.error().message;
    first_id = key->id();
    Result<crypto::DataKey> again = ring.key_for(tx, Tenant::org(kOrgA));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->id(), first_id);
    ASSERT_TRUE(tx.commit().ok());
  }
  EXPECT_EQ(key_rows(kOrgA), 1);
  EXPECT_EQ(key_rows(kOrgB), 0);
  {
    // The row holds the key wrapped, never its secret.
    store::Transaction tx = begin(kOrgA);
    auto rows = tx.query("SELECT wrapped, kek_id FROM data_keys WHERE org_id = :org");
    ASSERT_TRUE(rows.ok());
    EXPECT_EQ((*rows)[0].text("kek_id").value_or(""), kek_.id());
    auto key = ring.key_for(tx, Tenant::org(kOrgA));
    ASSERT_TRUE(key.ok());
    EXPECT_EQ((*rows)[0].blob("wrapped").value_or("").find(std::string(key->secret())),
              std::string::npos);
  }
  // A fresh ring (an empty cache, another replica) finds the same key.
  KeyRing other(*store_, kek_);
  store::Transaction tx = begin(kOrgA);
  Result<crypto::DataKey> key = other.key_for(tx, Tenant::org(kOrgA));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->id(), first_id);
}

TEST_P(KeyRingTest, ASealedValueOpensOnlyInItsOwnOrganizationAndRow) {
  KeyRing ring(*store_, kek_);
  const std::string sealed = seal(ring, kOrgA, kOrgA, "rules: canary-7f3a");
  EXPECT_EQ(sealed.find("canary"), std::string::npos);
  Result<std::string> opened = open(ring, kOrgA, kOrgA, sealed);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(*opened, "rules: canary-7f3a");

  Result<std::string> other_row = open(ring, kOrgA, "another-row", sealed);
  ASSERT_FALSE(other_row.ok());
  EXPECT_EQ(other_row.error().kind, ErrorKind::kInternal);
  EXPECT_EQ(other_row.error().message.find("canary"), std::string::npos);
  // Org B does not hold A's key: the value names a key B does not have.
  Result<std::string> other_org = open(ring, kOrgB, kOrgA, sealed);
  ASSERT_FALSE(other_org.ok());
  EXPECT_EQ(other_org.error().kind, ErrorKind::kInternal);
  EXPECT_FALSE(open(ring, kOrgA, kOrgA, "short").ok());
}

TEST_P(KeyRingTest, DestroyingAnOrganizationsKeysMakesItsValuesUnreadable) {
  KeyRing ring(*store_, kek_);
  const std::string sealed_a = seal(ring, kOrgA, kOrgA, "secret of A");
  const std::string sealed_b = seal(ring, kOrgB, kOrgB, "secret of B");
  ASSERT_TRUE(open(ring, kOrgA, kOrgA, sealed_a).ok());
  {
    store::Transaction tx = begin(kOrgA);
    ASSERT_TRUE(ring.destroy_keys(tx, Tenant::org(kOrgA)).ok());
    ASSERT_TRUE(tx.commit().ok());
  }
  EXPECT_EQ(key_rows(kOrgA), 0);
  EXPECT_FALSE(open(ring, kOrgA, kOrgA, sealed_a).ok());
  KeyRing fresh(*store_, kek_);
  EXPECT_FALSE(open(fresh, kOrgA, kOrgA, sealed_a).ok());
  // Other organizations are untouched, and A gets a new, different key on next use.
  ASSERT_TRUE(open(ring, kOrgB, kOrgB, sealed_b).ok());
  const std::string resealed = seal(ring, kOrgA, kOrgA, "new secret");
  EXPECT_NE(crypto::sealed_key_id(resealed).value_or(""),
            crypto::sealed_key_id(sealed_a).value_or(""));
  EXPECT_FALSE(open(ring, kOrgA, kOrgA, sealed_a).ok());
}

TEST_P(KeyRingTest, AKeyDestroyedOnAnotherReplicaIsNotServedFromTheCache) {
  KeyRing ring(*store_, kek_);
  KeyRing replica(*store_, kek_);
  const std::string sealed = seal(ring, kOrgA, kOrgA, "cached");
  ASSERT_TRUE(open(ring, kOrgA, kOrgA, sealed).ok());
  {
    store::Transaction tx = begin(kOrgA);
    ASSERT_TRUE(replica.destroy_keys(tx, Tenant::org(kOrgA)).ok());
    ASSERT_TRUE(tx.commit().ok());
  }
  EXPECT_FALSE(open(ring, kOrgA, kOrgA, sealed).ok());
}

TEST_P(KeyRingTest, KeysWrappedByAnotherKekAreRefused) {
  KeyRing ring(*store_, kek_);
  const std::string sealed = seal(ring, kOrgA, kOrgA, "value");
  KeyRing wrong(*store_, crypto::KeyEncryptionKey::generate());
  Result<std::string> opened = open(wrong, kOrgA, kOrgA, sealed);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().kind, ErrorKind::kInternal);
}

TEST_P(KeyRingTest, AKeyIsNeverHandedOutInAnotherOrganizationsTransaction) {
  KeyRing ring(*store_, kek_);
  store::Transaction tx = begin(kOrgB);
  Result<crypto::DataKey> key = ring.key_for(tx, Tenant::org(kOrgA));
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().kind, ErrorKind::kInternal);
}

TEST_P(KeyRingTest, TheCacheOfUnwrappedKeysIsBounded) {
  KeyRingOptions options;
  options.max_cached_keys = 1;
  KeyRing ring(*store_, kek_, options);
  const std::string sealed_a = seal(ring, kOrgA, kOrgA, "a");
  const std::string sealed_b = seal(ring, kOrgB, kOrgB, "b");
  EXPECT_LE(ring.cached_keys_for_testing(), 1u);
  EXPECT_TRUE(open(ring, kOrgA, kOrgA, sealed_a).ok());
  EXPECT_TRUE(open(ring, kOrgB, kOrgB, sealed_b).ok());
  EXPECT_LE(ring.cached_keys_for_testing(), 1u);
}

TEST_P(KeyRingTest, AUserHasKeysOfItsOwnApartFromItsOrganizations) {
  constexpr char kUser[] = "cccccccccccccccccccccccc";
  constexpr char kOtherUser[] = "dddddddddddddddddddddddd";
  for (const char* user : {kUser, kOtherUser}) {
    Result<store::Transaction> tx = store_->begin_unscoped();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(tx->execute("INSERT INTO users (id, email, name, password_hash, created_at) "
                            "VALUES (?, ?, 'u', 'x', 1)",
                            {std::string(user), std::string(user) + "@example.com"})
                    .ok());
    ASSERT_TRUE(tx->commit().ok());
  }
  KeyRing ring(*store_, kek_);
  auto user_tx = [&](const char* user) {
    Result<store::Transaction> tx = store_->begin(store::Scope::for_user(user));
    EXPECT_TRUE(tx.ok());
    return std::move(tx).value();
  };
  std::string sealed;
  std::string user_key_id;
  {
    store::Transaction tx = user_tx(kUser);
    Result<std::string> value = ring.seal(tx, Tenant::user(kUser), "tasks", "title", "t1", "mine");
    ASSERT_TRUE(value.ok()) << value.error().message;
    sealed = *value;
    user_key_id = crypto::sealed_key_id(sealed).value_or("");
    ASSERT_TRUE(tx.commit().ok());
  }
  {
    // The organization's key is another key; the user's value does not open as the
    // organization's, nor as another user's.
    store::Transaction org_tx = begin(kOrgA);
    Result<crypto::DataKey> org_key = ring.key_for(org_tx, Tenant::org(kOrgA));
    ASSERT_TRUE(org_key.ok());
    EXPECT_NE(org_key->id(), user_key_id);
    EXPECT_FALSE(ring.open(org_tx, Tenant::org(kOrgA), "tasks", "title", "t1", sealed).ok());
    ASSERT_TRUE(org_tx.commit().ok());
    store::Transaction other = user_tx(kOtherUser);
    EXPECT_FALSE(ring.open(other, Tenant::user(kOtherUser), "tasks", "title", "t1", sealed).ok());
    // And a user's key is never handed out in another user's transaction.
    Result<crypto::DataKey> refused = ring.key_for(other, Tenant::user(kUser));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().kind, ErrorKind::kInternal);
  }
  {
    store::Transaction tx = user_tx(kUser);
    Result<std::string> opened = ring.open(tx, Tenant::user(kUser), "tasks", "title", "t1", sealed);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    EXPECT_EQ(*opened, "mine");
    ASSERT_TRUE(ring.destroy_keys(tx, Tenant::user(kUser)).ok());
    ASSERT_TRUE(tx.commit().ok());
  }
  {
    store::Transaction tx = user_tx(kUser);
    EXPECT_FALSE(ring.open(tx, Tenant::user(kUser), "tasks", "title", "t1", sealed).ok());
  }
  EXPECT_EQ(key_rows(kOrgA), 1);  // the organization's key is untouched
}

INSTANTIATE_TEST_SUITE_P(Backends, KeyRingTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace joey::cloud
