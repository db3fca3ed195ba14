// The key-encryption key: its file (created 0600 once, reused, JOEY_KEK_FILE, refused when
// shared or malformed) and wrapping data keys (round trip, wrong KEK, tampering, rotation).
#include "crypto/key_encryption_key.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "base/atomic_file.h"
#include "crypto/encoding.h"
#include "crypto/sealed_value.h"

namespace joey::crypto {
namespace {

namespace fs = std::filesystem;

class KekFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv(kKekFileEnvVar);
    std::string pattern = (fs::path(::testing::TempDir()) / "joey-kek-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  void TearDown() override {
    unsetenv(kKekFileEnvVar);
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }

  static unsigned mode_of(const fs::path& path) {
    struct stat status {};
    EXPECT_EQ(::stat(path.c_str(), &status), 0) << path;
    return status.st_mode & 07777;
  }

  fs::path write_kek_file(const std::string& name, const std::string& content, unsigned mode) {
    const fs::path file = root_ / name;
    EXPECT_TRUE(write_file_atomically(file, content, true, 0600).ok());
    EXPECT_EQ(::chmod(file.c_str(), mode), 0);
    return file;
  }

  fs::path root_;
};

TEST_F(KekFileTest, FirstStartCreatesA0600FileInA0700DirectoryAndTheSecondReusesIt) {
  const fs::path data_dir = root_ / "data";
  auto first = KeyEncryptionKey::load_or_create(data_dir);
  ASSERT_TRUE(first.ok()) << first.error().message;
  const fs::path file = data_dir / kKekFileName;
  ASSERT_TRUE(fs::exists(file));
  EXPECT_EQ(mode_of(file), 0600u);
  EXPECT_EQ(mode_of(data_dir), 0700u);

  auto second = KeyEncryptionKey::load_or_create(data_dir);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->id(), first->id());
  EXPECT_EQ(second->file_content(), first->file_content());
  // No temporary files are left beside the key.
  size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(data_dir)) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST_F(KekFileTest, FileHasTheDocumentedFormat) {
  auto kek = KeyEncryptionKey::load_or_create(root_);
  ASSERT_TRUE(kek.ok());
  const std::string content = read_file_to_string(root_ / kKekFileName).value();
  ASSERT_TRUE(content.starts_with("joey-kek-v1 ")) << "format";
  ASSERT_TRUE(content.ends_with("\n"));
  const std::string encoded = content.substr(12, content.size() - 13);
  EXPECT_EQ(base64url_decode(encoded).value().size(), kKekBytes);
}

TEST_F(KekFileTest, ConcurrentFirstStartsAgreeOnOneKey) {
  const fs::path data_dir = root_ / "shared";
  constexpr int kStarters = 4;
  std::vector<std::string> ids(kStarters);
  std::vector<std::thread> threads;
  for (int index = 0; index < kStarters; ++index) {
    threads.emplace_back([&, index] {
      auto kek = KeyEncryptionKey::load_or_create(data_dir);
      ids[index] = kek.ok() ? kek->id() : "error: " + kek.error().message;
    });
  }
  for (auto& thread : threads) thread.join();
  for (int index = 1; index < kStarters; ++index) EXPECT_EQ(ids[index], ids[0]);
  EXPECT_EQ(ids[0].size(), 16u) << ids[0];
}

TEST_F(KekFileTest, KekFileEnvironmentVariableIsHonoured) {
  const KeyEncryptionKey kek = KeyEncryptionKey::generate();
  const fs::path file = write_kek_file("operator.kek", kek.file_content(), 0600);
  ASSERT_EQ(setenv(kKekFileEnvVar, file.c_str(), 1), 0);
  const fs::path data_dir = root_ / "data";
  auto loaded = KeyEncryptionKey::load_or_create(data_dir);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->id(), kek.id());
  EXPECT_FALSE(fs::exists(data_dir / kKekFileName)) << "no key is generated beside it";
}

TEST_F(KekFileTest, MissingKekFileFromEnvironmentIsAnErrorNotANewKey) {
  const fs::path file = root_ / "missing.kek";
  ASSERT_EQ(setenv(kKekFileEnvVar, file.c_str(), 1), 0);
  auto loaded = KeyEncryptionKey::load_or_create(root_);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(loaded.error().message.find(file.string()), std::string::npos);
  EXPECT_NE(loaded.error().message.find(kKekFileEnvVar), std::string::npos);
  EXPECT_FALSE(fs::exists(file));
  EXPECT_FALSE(fs::exists(root_ / kKekFileName));
}

TEST_F(KekFileTest, FileReadableByOthersIsRefusedWithTheChmodThatFixesIt) {
  const KeyEncryptionKey kek = KeyEncryptionKey::generate();
  const fs::path file = write_kek_file("kek", kek.file_content(), 0644);
  auto loaded = KeyEncryptionKey::load_or_create(root_);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_NE(loaded.error().message.find("chmod 600 " + file.string()), std::string::npos)
      << loaded.error().message;
  EXPECT_NE(loaded.error().message.find("0644"), std::string::npos);
  // Group-only access is refused too; fixing the mode makes it load.
  ASSERT_EQ(::chmod(file.c_str(), 0640), 0);
  EXPECT_EQ(KeyEncryptionKey::load_file(file).error().kind, ErrorKind::kPermissionDenied);
  ASSERT_EQ(::chmod(file.c_str(), 0600), 0);
  auto fixed = KeyEncryptionKey::load_file(file);
  ASSERT_TRUE(fixed.ok()) << fixed.error().message;
  EXPECT_EQ(fixed->id(), kek.id());
}

TEST_F(KekFileTest, MalformedFileIsRefusedWithoutQuotingIt) {
  const std::string encoded_key = base64url_encode(std::string(32, '\x42'));
  const std::string bad_contents[] = {
      "",
      "some-other-secret-value\n",
      "joey-kek-v1\n",
      "joey-kek-v1 " + base64url_encode(std::string(31, '\x42')) + "\n",  // short key
      "joey-kek-v1 " + encoded_key + "=\n",                               // padding
      "joey-kek-v2 " + encoded_key + "\n",                                // unknown version
      "joey-kek-v1 " + encoded_key + "\nsecond line\n",
      " joey-kek-v1 " + encoded_key + "\n",
  };
  int index = 0;
  for (const std::string& content : bad_contents) {
    const fs::path file = write_kek_file("bad" + std::to_string(index++), content, 0600);
    auto loaded = KeyEncryptionKey::load_file(file);
    ASSERT_FALSE(loaded.ok()) << content;
    EXPECT_EQ(loaded.error().kind, ErrorKind::kInvalidArgument) << content;
    EXPECT_EQ(loaded.error().message.find("some-other-secret"), std::string::npos);
    EXPECT_EQ(loaded.error().message.find(encoded_key), std::string::npos);
    EXPECT_NE(loaded.error().message.find(file.string()), std::string::npos);
  }
}

TEST_F(KekFileTest, DirectoryAndOversizedFileAreRefused) {
  fs::create_directories(root_ / "dir.kek");
  ASSERT_EQ(::chmod((root_ / "dir.kek").c_str(), 0700), 0);
  EXPECT_EQ(KeyEncryptionKey::load_file(root_ / "dir.kek").error().kind,
            ErrorKind::kInvalidArgument);
  const fs::path big = write_kek_file("big.kek", std::string(1 << 20, 'a'), 0600);
  EXPECT_EQ(KeyEncryptionKey::load_file(big).error().kind, ErrorKind::kInvalidArgument);
}

TEST_F(KekFileTest, CreateFileNeverOverwritesAnExistingKey) {
  const fs::path file = root_ / "rotated.kek";
  auto created = KeyEncryptionKey::create_file(file);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(mode_of(file), 0600u);
  auto again = KeyEncryptionKey::create_file(file);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kAlreadyExists);
  EXPECT_EQ(KeyEncryptionKey::load_file(file).value().id(), created->id());
}

TEST(KeyEncryptionKey, ParsesWhatItWritesAndAcceptsCrlf) {
  const KeyEncryptionKey kek = KeyEncryptionKey::generate();
  EXPECT_EQ(KeyEncryptionKey::parse_file_content(kek.file_content()).value().id(), kek.id());
  std::string crlf = kek.file_content();
  crlf.insert(crlf.size() - 1, "\r");
  EXPECT_EQ(KeyEncryptionKey::parse_file_content(crlf).value().id(), kek.id());
  std::string no_newline = kek.file_content();
  no_newline.pop_back();
  EXPECT_EQ(KeyEncryptionKey::parse_file_content(no_newline).value().id(), kek.id());
}

TEST(KeyEncryptionKey, IdIsStableShortAndNotTheKey) {
  const std::string raw(32, '\x07');
  const KeyEncryptionKey kek = KeyEncryptionKey::from_bytes(raw).value();
  EXPECT_EQ(kek.id(), KeyEncryptionKey::from_bytes(raw).value().id());
  EXPECT_EQ(kek.id().size(), 16u);
  EXPECT_EQ(kek.id().find(hex_encode(raw).substr(0, 8)), std::string::npos);
  EXPECT_NE(kek.id(), KeyEncryptionKey::generate().id());
  EXPECT_EQ(KeyEncryptionKey::from_bytes(std::string(31, 'k')).error().kind,
            ErrorKind::kInvalidArgument);
}

TEST(KeyEncryptionKey, WrapThenUnwrapGivesTheSameDataKey) {
  const KeyEncryptionKey kek = KeyEncryptionKey::generate();
  const DataKey key = DataKey::generate();
  auto wrapped = kek.wrap(key);
  ASSERT_TRUE(wrapped.ok()) << wrapped.error().message;
  EXPECT_EQ(wrapped->key_id, key.id());
  EXPECT_EQ(wrapped->kek_id, kek.id());
  EXPECT_EQ(wrapped->bytes.find(std::string(key.secret())), std::string::npos);
  auto unwrapped = kek.unwrap(*wrapped);
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.error().message;
  EXPECT_EQ(unwrapped->id(), key.id());
  EXPECT_EQ(unwrapped->secret(), key.secret());
}

TEST(KeyEncryptionKey, UnwrapWithAnotherKekNamesTheKekExpected) {
  const KeyEncryptionKey kek = KeyEncryptionKey::generate();
  const KeyEncryptionKey other = KeyEncryptionKey::generate();
  const WrappedKey wrapped = kek.wrap(DataKey::generate()).value();
  auto unwrapped = other.unwrap(wrapped);
  ASSERT_FALSE(unwrapped.ok());
  EXPECT_EQ(unwrapped.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(unwrapped.error().message.find(kek.id()), std::string::npos);
  EXPECT_NE(unwrapped.error().message.find(other.id()), std::string::npos);
  // Relabelling the wrapped key with the other KEK's id does not get past the tag.
  WrappedKey relabelled = wrapped;
  relabelled.kek_id = other.id();
  EXPECT_EQ(other.unwrap(relabelled).error().kind, ErrorKind::kProtocol);
}

TEST(KeyEncryptionKey, TamperedOrMislabelledWrappedKeysFail) {
  const KeyEncryptionKey kek = KeyEncryptionKey::generate();
  const WrappedKey wrapped = kek.wrap(DataKey::generate()).value();
  for (size_t index = 0; index < wrapped.bytes.size(); ++index) {
    WrappedKey altered = wrapped;
    altered.bytes[index] = static_cast<char>(altered.bytes[index] ^ (1 << (index % 8)));
    EXPECT_EQ(kek.unwrap(altered).error().kind, ErrorKind::kProtocol) << index;
  }
  WrappedKey other_id = wrapped;
  other_id.key_id = DataKey::generate().id();
  EXPECT_EQ(kek.unwrap(other_id).error().kind, ErrorKind::kProtocol);
  WrappedKey truncated = wrapped;
  truncated.bytes.pop_back();
  EXPECT_EQ(kek.unwrap(truncated).error().kind, ErrorKind::kProtocol);
  WrappedKey bad_ids = wrapped;
  bad_ids.key_id = "not hex";
  EXPECT_EQ(kek.unwrap(bad_ids).error().kind, ErrorKind::kProtocol);
  EXPECT_EQ(kek.unwrap(WrappedKey{}).error().kind, ErrorKind::kProtocol);
}

TEST(KeyEncryptionKey, RewrapMovesADataKeyToANewKekAndOldValuesStillOpen) {
  const KeyEncryptionKey old_kek = KeyEncryptionKey::generate();
  const KeyEncryptionKey new_kek = KeyEncryptionKey::generate();
  const DataKey key = DataKey::generate();
  const WrappedKey wrapped = old_kek.wrap(key).value();
  const ValueContext context{"user:1", "tasks", "title", "t1"};
  const std::string sealed = seal(key, "sealed before rotation", context).value();

  auto rewrapped = rewrap(wrapped, old_kek, new_kek);
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.error().message;
  EXPECT_EQ(rewrapped->key_id, key.id());
  EXPECT_EQ(rewrapped->kek_id, new_kek.id());

  auto unwrapped = new_kek.unwrap(*rewrapped);
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.error().message;
  EXPECT_EQ(unwrapped->secret(), key.secret());
  EXPECT_EQ(open(*unwrapped, sealed, context).value(), "sealed before rotation");
  EXPECT_EQ(old_kek.unwrap(*rewrapped).error().kind, ErrorKind::kNotFound);
  // Rewrapping with the wrong old KEK fails and changes nothing.
  EXPECT_FALSE(rewrap(wrapped, new_kek, old_kek).ok());
}

}  // namespace
}  // namespace joey::crypto
