// `joeyd keys rotate-kek` (cloud/kek_rotation.h) on both backends: data keys move to the
// new key-encryption key, the organization's sealed settings still open with it and no
// longer with the old one, an interrupted rotation finishes when run again, and joeyd
// refuses to start in between.
#include "cloud/kek_rotation.h"

#include <gtest/gtest.h>

#include <fstream>

#include "cloud/cloud_app.h"
#include "cloud/key_ring.h"
#include "cloud/org_service.h"
#include "crypto/key_encryption_key.h"
#include "support/test_database.h"

namespace joey::cloud {
namespace {

namespace fs = std::filesystem;

class KekRotationTest : public joey::testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (stopped()) return;
    std::string pattern = (fs::temp_directory_path() / "joey-kek-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    kek_file_ = dir_ / "kek";
    ASSERT_TRUE(crypto::KeyEncryptionKey::create_file(kek_file_).ok());
    IdentityOptions identity_options;
    identity_options.password_cost = crypto::PasswordCost::kTesting;
    identity_ = std::make_unique<IdentityService>(*store_, identity_options);
    Result<NewSession> session =
        identity_->signup("ada@example.com", "correct horse battery", "Ada");
    ASSERT_TRUE(session.ok()) << session.error().message;
    user_ = session->user;
  }
  void TearDown() override {
    identity_.reset();
    store_.reset();
    database_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // Creates an organization whose sealed settings hold `rules`, under the KEK on disk.
  std::string make_org(const std::string& rules) {
    auto kek = crypto::KeyEncryptionKey::load_file(kek_file_);
    EXPECT_TRUE(kek.ok());
    KeyRing ring(*store_, *kek);
    OrgService orgs(*store_, ring);
    Result<OrgInfo> org = orgs.create_org(user_, "Acme " + rules);
    EXPECT_TRUE(org.ok()) << org.error().message;
    Result<nlohmann::json> updated =
        orgs.update_settings(user_, org->id, {{"version", 1}, {"rules", rules}});
    EXPECT_TRUE(updated.ok()) << updated.error().message;
    return org->id;
  }

  // The org's rules read with a fresh key ring over `kek`, or the error message.
  std::string rules_with(const crypto::KeyEncryptionKey& kek, const std::string& org_id) {
    KeyRing ring(*store_, kek);
    OrgService orgs(*store_, ring);
    Result<nlohmann::json> settings = orgs.get_settings(user_, org_id);
    if (!settings.ok()) return "error: " + settings.error().message;
    return settings->value("rules", "");
  }

  std::unique_ptr<IdentityService> identity_;
  User user_;
  fs::path dir_;
  fs::path kek_file_;
};

TEST_P(KekRotationTest, DataKeysMoveToTheNewKekAndTheDataStillOpens) {
  const std::string first = make_org("first rules");
  const std::string second = make_org("second rules");
  const crypto::KeyEncryptionKey old_kek = *crypto::KeyEncryptionKey::load_file(kek_file_);

  Result<KekRotation> rotation = rotate_kek(*store_, kek_file_);
  ASSERT_TRUE(rotation.ok()) << rotation.error().message;
  EXPECT_EQ(rotation->rewrapped, 2u);
  EXPECT_EQ(rotation->old_kek_id, old_kek.id());
  EXPECT_FALSE(fs::exists(pending_kek_path(kek_file_)));
  const crypto::KeyEncryptionKey new_kek = *crypto::KeyEncryptionKey::load_file(kek_file_);
  EXPECT_EQ(new_kek.id(), rotation->new_kek_id);
  EXPECT_NE(new_kek.id(), old_kek.id());

  EXPECT_EQ(rules_with(new_kek, first), "first rules");
  EXPECT_EQ(rules_with(new_kek, second), "second rules");
  EXPECT_NE(rules_with(old_kek, first), "first rules");
}

TEST_P(KekRotationTest, AnInterruptedRotationBlocksStartAndFinishesWhenRunAgain) {
  const std::string org = make_org("kept rules");
  const crypto::KeyEncryptionKey old_kek = *crypto::KeyEncryptionKey::load_file(kek_file_);
  // Interrupted after the new key was written and the keys re-wrapped, before the rename:
  // simulate by rotating, then putting the old KEK back and the new one as pending.
  ASSERT_TRUE(rotate_kek(*store_, kek_file_).ok());
  ASSERT_TRUE(fs::copy_file(kek_file_, pending_kek_path(kek_file_)));
  fs::remove(kek_file_);
  ASSERT_TRUE(crypto::KeyEncryptionKey::create_file(kek_file_).ok());
  {
    std::ofstream restore(kek_file_, std::ios::trunc);
    restore << old_kek.file_content();
  }

  if (!database_->postgres()) {
    Result<std::unique_ptr<CloudApp>> app = CloudApp::open([&] {
      CloudAppOptions options;
      options.data_dir = dir_;
      options.database_url = database_->location();
      return options;
    }());
    ASSERT_FALSE(app.ok());
    EXPECT_NE(app.error().message.find("rotate-kek"), std::string::npos) << app.error().message;
  }
  Result<KekRotation> again = rotate_kek(*store_, kek_file_);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->rewrapped, 0u);  // every key had already moved
  EXPECT_EQ(rules_with(*crypto::KeyEncryptionKey::load_file(kek_file_), org), "kept rules");
  EXPECT_FALSE(fs::exists(pending_kek_path(kek_file_)));
}

TEST_P(KekRotationTest, AKeyUnderAnUnknownKekStopsTheRotationAndChangesNothing) {
  make_org("a");
  {
    KeyRing stranger(*store_, crypto::KeyEncryptionKey::generate());
    OrgService orgs(*store_, stranger);
    ASSERT_TRUE(orgs.create_org(user_, "Made by a joeyd with another KEK").ok());
  }
  Result<KekRotation> rotation = rotate_kek(*store_, kek_file_);
  ASSERT_FALSE(rotation.ok());
  EXPECT_NE(rotation.error().message.find("neither the current one"), std::string::npos)
      << rotation.error().message;
  Result<crypto::KeyEncryptionKey> still = crypto::KeyEncryptionKey::load_file(kek_file_);
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(rules_with(*still, make_org("b")), "b");
}

INSTANTIATE_TEST_SUITE_P(Backends, KekRotationTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace joey::cloud
