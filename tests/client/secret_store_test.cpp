// Tests of the secret store (P2): the file's permissions, atomic replacement, refusal
// of loose or foreign files with the fix in the message, malformed files reported
// without their contents, and the keyring adapter — through fake secret-tool scripts
// (missing, hung, failing, working) and, when dbus-daemon and gnome-keyring-daemon are
// installed, a real Secret Service on a private session bus.
#include "client/secret_store.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/paths.h"
#include "base/subprocess.h"
#include "support/scoped_env.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;
using Backend = SecretStore::Backend;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kAnthropicKey = "sk-ant-test-0123456789abcdefWXYZ";
constexpr const char* kOpenAiKey = "sk-test-abcdefghijklmnop4321";

using joey::testing::ScopedEnv;

unsigned mode_of(const fs::path& path) {
  struct stat info {};
  EXPECT_EQ(stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

std::string read_text(const fs::path& path) {
  Result<std::string> text = read_file_to_string(path);
  return text.ok() ? *text : "";
}

void write_script(const fs::path& path, const std::string& body) {
  std::ofstream(path) << "#!/bin/sh\n" << body;
  fs::permissions(path, fs::perms::owner_all);
}

class SecretStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/joey-secret-store-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    root_ = pattern;
    home_ = root_ / "joey-home";
  }
  void TearDown() override {
    std::error_code error;
    fs::permissions(root_, fs::perms::owner_all, error);
    fs::remove_all(root_, error);
  }

  SecretStore file_store() {
    Result<SecretStore> store = SecretStore::open(home_, Backend::kFile);
    EXPECT_TRUE(store.ok());
    return std::move(store).value();
  }

  fs::path root_;
  fs::path home_;
};

TEST_F(SecretStoreTest, SetCreatesFile0600InDirectory0700) {
  SecretStore store = file_store();
  ASSERT_TRUE(store.set("anthropic", kAnthropicKey).ok());
  EXPECT_EQ(mode_of(home_), 0700u);
  EXPECT_EQ(mode_of(home_ / "secrets.json"), 0600u);
  EXPECT_EQ(store.file_path(), home_ / "secrets.json");
  Result<std::optional<std::string>> key = store.get("anthropic");
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->value_or(""), kAnthropicKey);
}

TEST_F(SecretStoreTest, FileIsVersionOneJsonWithKeysByProvider) {
  SecretStore store = file_store();
  ASSERT_TRUE(store.set("anthropic", kAnthropicKey).ok());
  const nlohmann::json document = nlohmann::json::parse(read_text(home_ / "secrets.json"));
  EXPECT_EQ(document["version"], 1);
  EXPECT_EQ(document["keys"]["anthropic"], kAnthropicKey);
}

TEST_F(SecretStoreTest, SetUnderStrictUmaskStillLeavesOwnerReadWrite) {
  const mode_t previous = umask(0277);
  SecretStore store = file_store();
  Status stored = store.set("anthropic", kAnthropicKey);
  umask(previous);
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  EXPECT_EQ(mode_of(home_ / "secrets.json"), 0600u);
}

TEST_F(SecretStoreTest, ReplacingOneKeyKeepsTheOthers) {
  SecretStore store = file_store();
  ASSERT_TRUE(store.set("anthropic", "sk-ant-old-key-0000000000").ok());
  ASSERT_TRUE(store.set("openai", kOpenAiKey).ok());
  ASSERT_TRUE(store.set("anthropic", kAnthropicKey).ok());
  EXPECT_EQ(store.get("anthropic")->value_or(""), kAnthropicKey);
  EXPECT_EQ(store.get("openai")->value_or(""), kOpenAiKey);
  EXPECT_EQ(mode_of(home_ / "secrets.json"), 0600u);
  // No temporary file is left beside it.
  for (const auto& entry : fs::directory_iterator(home_)) {
    EXPECT_THAT(entry.path().filename().string(), Not(HasSubstr("joey-tmp")));
  }
}

TEST_F(SecretStoreTest, GetWithoutFileIsEmptyAndCreatesNothing) {
  SecretStore store = file_store();
  Result<std::optional<std::string>> key = store.get("anthropic");
  ASSERT_TRUE(key.ok());
  EXPECT_FALSE(key->has_value());
  EXPECT_FALSE(fs::exists(home_));
}

TEST_F(SecretStoreTest, FileReadableByOthersIsRefusedWithTheChmodThatFixesIt) {
  SecretStore store = file_store();
  ASSERT_TRUE(store.set("anthropic", kAnthropicKey).ok());
  const fs::path file = home_ / "secrets.json";
  ASSERT_EQ(chmod(file.c_str(), 0644), 0);

  Result<std::optional<std::string>> key = store.get("anthropic");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_THAT(key.error().message, HasSubstr("chmod 600 " + file.string()));
  EXPECT_THAT(key.error().message, Not(HasSubstr(kAnthropicKey)));

  Result<std::vector<StoredKey>> listed = store.list();
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().kind, ErrorKind::kPermissionDenied);
  // Writing does not quietly rewrite (and so "fix") a file others could already read.
  EXPECT_FALSE(store.set("openai", kOpenAiKey).ok());
  EXPECT_EQ(mode_of(file), 0644u);

  ASSERT_EQ(chmod(file.c_str(), 0600), 0);
  EXPECT_EQ(store.get("anthropic")->value_or(""), kAnthropicKey);
}

TEST_F(SecretStoreTest, DirectoryOpenToOthersIsRefusedWithTheChmodThatFixesIt) {
  SecretStore store = file_store();
  ASSERT_TRUE(store.set("anthropic", kAnthropicKey).ok());
  ASSERT_EQ(chmod(home_.c_str(), 0755), 0);
  Result<std::optional<std::string>> key = store.get("anthropic");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_THAT(key.error().message, HasSubstr("chmod 700 " + home_.string()));
  EXPECT_FALSE(store.set("openai", kOpenAiKey).ok());
}

TEST_F(SecretStoreTest, FileOwnedByAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "changing a file's owner needs root";
  SecretStore store = file_store();
  ASSERT_TRUE(store.set("anthropic", kAnthropicKey).ok());
  const fs::path file = home_ / "secrets.json";
  ASSERT_EQ(chown(file.c_str(), 65534, 65534), 0);
  Result<std::optional<std::string>> key = store.get("anthropic");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_THAT(key.error().message, HasSubstr("belongs to another user"));
}

TEST_F(SecretStoreTest, MalformedFileIsAnErrorNamingTheFileWithoutItsContents) {
  ASSERT_TRUE(ensure_private_dir(home_).ok());
  const fs::path file = home_ / "secrets.json";
  ASSERT_TRUE(write_file_atomically(
                  file, std::string("{\"version\": 1, \"keys\": {\"anthropic\": ") + kAnthropicKey,
                  false, 0600)
                  .ok());
  SecretStore store = file_store();
  Result<std::optional<std::string>> key = store.get("anthropic");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_THAT(key.error().message, HasSubstr(file.string()));
  EXPECT_THAT(key.error().message, Not(HasSubstr(kAnthropicKey)));
  EXPECT_THAT(key.error().message, Not(HasSubstr("sk-ant")));
}

TEST(SecretsFileParser, RejectsEveryMalformedShapeWithoutEchoingIt) {
  const std::string canary = "sk-canary-9f8e7d6c5b4a";
  const std::vector<std::string> bad = {
      "",
      "not json " + canary,
      "[\"" + canary + "\"]",
      "{\"keys\": {\"anthropic\": \"" + canary + "\"}}",
      "{\"version\": 2, \"keys\": {}}",
      "{\"version\": \"1\", \"keys\": {}}",
      "{\"version\": 1}",
      "{\"version\": 1, \"keys\": [\"" + canary + "\"]}",
      "{\"version\": 1, \"keys\": {\"anthropic\": 42}}",
      "{\"version\": 1, \"keys\": {\"Anthropic Key\": \"" + canary + "\"}}",
      "{\"version\": 1, \"keys\": {\"" + std::string(100, 'a') + "\": \"" + canary + "\"}}",
      "{\"version\": 1, \"keys\": {\"anthropic\": \"two words " + canary + "\"}}",
      "{\"version\": 1, \"keys\": {\"anthropic\": \"\"}}",
      std::string(300, '[') + std::string(300, ']'),
  };
  for (const std::string& text : bad) {
    Result<std::map<std::string, std::string>> parsed = parse_secrets_file(text, "/x/secrets.json");
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().kind, ErrorKind::kInvalidArgument);
    EXPECT_THAT(parsed.error().message, HasSubstr("/x/secrets.json"));
    EXPECT_THAT(parsed.error().message, Not(HasSubstr(canary)));
  }
}

TEST(SecretsFileParser, ReadsBackWhatItWrites) {
  const std::map<std::string, std::string> keys = {{"anthropic", kAnthropicKey},
                                                   {"openai", kOpenAiKey}};
  Result<std::map<std::string, std::string>> parsed =
      parse_secrets_file(serialize_secrets_file(keys), "secrets.json");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, keys);
  EXPECT_TRUE(parse_secrets_file("{\"version\":1,\"keys\":{}}", "f").ok());
}

TEST_F(SecretStoreTest, RemoveDeletesOnlyThatKeyAndReportsWhetherOneExisted) {
  SecretStore store = file_store();
  ASSERT_TRUE(store.set("anthropic", kAnthropicKey).ok());
  ASSERT_TRUE(store.set("openai", kOpenAiKey).ok());
  Result<bool> removed = store.remove("anthropic");
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(*removed);
  EXPECT_FALSE(store.get("anthropic")->has_value());
  EXPECT_EQ(store.get("openai")->value_or(""), kOpenAiKey);
  EXPECT_THAT(read_text(home_ / "secrets.json"), Not(HasSubstr(kAnthropicKey)));
  removed = store.remove("anthropic");
  ASSERT_TRUE(removed.ok());
  EXPECT_FALSE(*removed);
  EXPECT_EQ(mode_of(home_ / "secrets.json"), 0600u);
}

TEST_F(SecretStoreTest, ListShowsOnlyTheLastFourCharacters) {
  SecretStore store = file_store();
  ASSERT_TRUE(store.set("anthropic", kAnthropicKey).ok());
  ASSERT_TRUE(store.set("openai", kOpenAiKey).ok());
  Result<std::vector<StoredKey>> listed = store.list();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].provider, "anthropic");
  EXPECT_EQ((*listed)[0].last4, "WXYZ");
  EXPECT_EQ((*listed)[0].backend, Backend::kFile);
  EXPECT_EQ((*listed)[1].provider, "openai");
  EXPECT_EQ((*listed)[1].last4, "4321");
}

TEST(KeyLast4, HidesEverythingOfAShortKey) {
  EXPECT_EQ(key_last4("sk-0123456789abcd"), "abcd");
  EXPECT_EQ(key_last4("short-key"), "");
}

TEST_F(SecretStoreTest, MalformedKeysAndProviderNamesAreRefused) {
  SecretStore store = file_store();
  for (const std::string key : {"", "two words", "line\nbreak", "caf\xc3\xa9-key-1234"}) {
    Status stored = store.set("anthropic", key);
    ASSERT_FALSE(stored.ok());
    EXPECT_EQ(stored.error().kind, ErrorKind::kInvalidArgument);
    if (!key.empty()) {
      EXPECT_THAT(stored.error().message, Not(HasSubstr(key)));
    }
  }
  EXPECT_FALSE(store.set("../evil", kAnthropicKey).ok());
  EXPECT_FALSE(fs::exists(home_ / "secrets.json"));
}

TEST_F(SecretStoreTest, StoredKeyReadsTheFileWhenNoKeyringAnswers) {
  ScopedEnv bus("DBUS_SESSION_BUS_ADDRESS", std::nullopt);
  ASSERT_TRUE(file_store().set("anthropic", kAnthropicKey).ok());
  Result<std::optional<std::string>> key = stored_key(home_, "anthropic");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->value_or(""), kAnthropicKey);
  EXPECT_FALSE(stored_key(home_, "openai")->has_value());
}

// --- keyring adapter ---

class KeyringFallbackTest : public SecretStoreTest {
 protected:
  void SetUp() override {
    SecretStoreTest::SetUp();
    bin_ = root_ / "bin";
    fs::create_directory(bin_);
    // A PATH of only our directory and the shell's: each test's PATH differs, so the
    // once-per-process probe runs again for it.
    path_.emplace("PATH", bin_.string() + ":/usr/bin:/bin");
    bus_.emplace("DBUS_SESSION_BUS_ADDRESS", "unix:path=" + (root_ / "no-bus").string());
  }
  void TearDown() override {
    bus_.reset();
    path_.reset();
    SecretStoreTest::TearDown();
  }

  void expect_file_backend() {
    Result<SecretStore> store = SecretStore::open(home_);
    ASSERT_TRUE(store.ok()) << store.error().message;
    EXPECT_EQ(store->backend(), Backend::kFile);
    ASSERT_TRUE(store->set("anthropic", kAnthropicKey).ok());
    EXPECT_EQ(mode_of(home_ / "secrets.json"), 0600u);
    EXPECT_EQ(store->get("anthropic")->value_or(""), kAnthropicKey);
  }

  fs::path bin_;
  std::optional<ScopedEnv> path_;
  std::optional<ScopedEnv> bus_;
};

TEST_F(KeyringFallbackTest, NoSessionBusUsesTheFile) {
  bus_.reset();
  ScopedEnv no_bus("DBUS_SESSION_BUS_ADDRESS", std::nullopt);
  expect_file_backend();
  Result<SecretStore> keyring = SecretStore::open(home_, Backend::kKeyring);
  ASSERT_FALSE(keyring.ok());
  EXPECT_THAT(keyring.error().message, HasSubstr("DBUS_SESSION_BUS_ADDRESS"));
}

TEST_F(KeyringFallbackTest, MissingSecretToolUsesTheFile) {
  if (fs::exists("/usr/bin/secret-tool") || fs::exists("/bin/secret-tool")) {
    // Hide the real one: a PATH without the system directories (the shell is not needed).
    path_.emplace("PATH", bin_.string());
  }
  expect_file_backend();
  Result<SecretStore> keyring = SecretStore::open(home_, Backend::kKeyring);
  ASSERT_FALSE(keyring.ok());
  EXPECT_THAT(keyring.error().message, HasSubstr("libsecret-tools"));
}

TEST_F(KeyringFallbackTest, HungSecretToolIsKilledAndTheFileUsed) {
  write_script(bin_ / "secret-tool", "exec sleep 60\n");
  expect_file_backend();
  Result<SecretStore> keyring = SecretStore::open(home_, Backend::kKeyring);
  ASSERT_FALSE(keyring.ok());
  EXPECT_THAT(keyring.error().message, HasSubstr("did not answer"));
}

TEST_F(KeyringFallbackTest, FailingSecretToolUsesTheFile) {
  write_script(bin_ / "secret-tool", "echo 'secret-tool: Cannot autolaunch D-Bus' >&2\nexit 1\n");
  expect_file_backend();
  Result<SecretStore> keyring = SecretStore::open(home_, Backend::kKeyring);
  ASSERT_FALSE(keyring.ok());
  EXPECT_THAT(keyring.error().message, HasSubstr("Cannot autolaunch"));
}

// A stand-in for secret-tool that keeps items as files and logs its argv, to check
// the adapter's protocol: the key goes on stdin, never on the command line.
constexpr const char* kFakeSecretTool = R"(dir="$FAKE_KEYRING_DIR"
echo "$@" >> "$dir/argv.log"
command=$1; shift
provider=""; previous=""
for argument in "$@"; do
  if [ "$previous" = provider ]; then provider=$argument; fi
  previous=$argument
done
case $command in
  store) cat > "$dir/item-$provider" ;;
  lookup) [ -f "$dir/item-$provider" ] || exit 1; cat "$dir/item-$provider" ;;
  clear) rm -f "$dir/item-$provider" ;;
  *) exit 2 ;;
esac
)";

TEST_F(KeyringFallbackTest, WorkingKeyringGetsTheKeyOnStdinNeverInArgv) {
  const fs::path items = root_ / "items";
  fs::create_directory(items);
  ScopedEnv items_env("FAKE_KEYRING_DIR", items.string());
  write_script(bin_ / "secret-tool", kFakeSecretTool);

  Result<SecretStore> store = SecretStore::open(home_);
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ(store->backend(), Backend::kKeyring);
  ASSERT_TRUE(store->set("anthropic", kAnthropicKey).ok());
  EXPECT_EQ(read_text(items / "item-anthropic"), kAnthropicKey);
  EXPECT_FALSE(fs::exists(home_ / "secrets.json"));
  EXPECT_EQ(store->get("anthropic")->value_or(""), kAnthropicKey);

  Result<std::vector<StoredKey>> listed = store->list();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].backend, Backend::kKeyring);
  EXPECT_EQ((*listed)[0].last4, "WXYZ");

  EXPECT_TRUE(*store->remove("anthropic"));
  EXPECT_FALSE(fs::exists(items / "item-anthropic"));
  EXPECT_FALSE(*store->remove("anthropic"));

  const std::string argv_log = read_text(items / "argv.log");
  EXPECT_THAT(argv_log, HasSubstr("store --label"));
  EXPECT_THAT(argv_log, HasSubstr("service joey provider anthropic"));
  EXPECT_THAT(argv_log, Not(HasSubstr(kAnthropicKey)));
}

TEST_F(KeyringFallbackTest, KeyringThatRefusesToStoreFallsBackToTheFile) {
  // Lookups answer "not found", stores fail: a keyring with no unlocked collection.
  write_script(bin_ / "secret-tool",
               "[ \"$1\" = lookup ] && exit 1\necho 'secret-tool: no collection' >&2\nexit 1\n");
  Result<SecretStore> store = SecretStore::open(home_);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(store->backend(), Backend::kKeyring);
  ASSERT_TRUE(store->set("anthropic", kAnthropicKey).ok());
  EXPECT_EQ(store->backend(), Backend::kFile);
  EXPECT_EQ(mode_of(home_ / "secrets.json"), 0600u);
  EXPECT_EQ(store->get("anthropic")->value_or(""), kAnthropicKey);
}

// --- a real Secret Service: gnome-keyring-daemon on a private dbus-daemon ---

class RealKeyringTest : public SecretStoreTest {
 protected:
  void SetUp() override {
    SecretStoreTest::SetUp();
    for (const char* tool : {"dbus-daemon", "gnome-keyring-daemon", "secret-tool"}) {
      if (!fs::exists(fs::path("/usr/bin") / tool)) {
        GTEST_SKIP() << tool << " is not installed (Debian packages dbus, gnome-keyring, "
                     << "libsecret-tools)";
      }
    }
    ProcessOptions bus;
    bus.argv = {"dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"};
    bus.timeout = std::chrono::seconds(10);
    Result<ProcessResult> started = run_process(bus);
    ASSERT_TRUE(started.ok()) << started.error().message;
    std::istringstream lines(started->stdout_text);
    std::string pid;
    std::getline(lines, address_);
    std::getline(lines, pid);
    ASSERT_FALSE(address_.empty()) << started->stderr_text;
    bus_pid_ = std::atoi(pid.c_str());
    ASSERT_GT(bus_pid_, 0);

    const fs::path keyring_home = root_ / "keyring";
    fs::create_directory(keyring_home);
    ProcessOptions keyring;
    keyring.argv = {"gnome-keyring-daemon", "--unlock", "--components=secrets", "--daemonize"};
    keyring.env = {{"DBUS_SESSION_BUS_ADDRESS", address_},
                   {"HOME", keyring_home.string()},
                   {"XDG_RUNTIME_DIR", keyring_home.string()},
                   {"XDG_DATA_HOME", keyring_home.string()}};
    keyring.stdin_data = "joey-test-keyring-password";  // unlocks a new login collection
    keyring.timeout = std::chrono::seconds(10);
    Result<ProcessResult> unlocked = run_process(keyring);
    ASSERT_TRUE(unlocked.ok()) << unlocked.error().message;
    ASSERT_EQ(unlocked->exit_code, 0) << unlocked->stderr_text;
    bus_env_.emplace("DBUS_SESSION_BUS_ADDRESS", address_);
  }
  void TearDown() override {
    bus_env_.reset();
    // The keyring daemon exits when its bus goes away.
    if (bus_pid_ > 0) kill(bus_pid_, SIGTERM);
    SecretStoreTest::TearDown();
  }

  std::string address_;
  pid_t bus_pid_ = 0;
  std::optional<ScopedEnv> bus_env_;
};

TEST_F(RealKeyringTest, KeysGoToTheSecretServiceAndNotToTheFile) {
  Result<SecretStore> store = SecretStore::open(home_, Backend::kKeyring);
  ASSERT_TRUE(store.ok()) << store.error().message;
  ASSERT_TRUE(store->set("anthropic", kAnthropicKey).ok());
  EXPECT_EQ(store->backend(), Backend::kKeyring);
  EXPECT_FALSE(fs::exists(home_ / "secrets.json"));
  EXPECT_EQ(store->get("anthropic")->value_or(""), kAnthropicKey);
  EXPECT_EQ(stored_key(home_, "anthropic")->value_or(""), kAnthropicKey);
  Result<std::vector<StoredKey>> listed = store->list();
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].last4, "WXYZ");
  EXPECT_TRUE(*store->remove("anthropic"));
  EXPECT_FALSE(store->get("anthropic")->has_value());
}

}  // namespace
}  // namespace joey::client
