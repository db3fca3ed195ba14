// Implementation notes:
// - The secrets file is opened first and then checked with fstat on the open
//   descriptor, so the checks and the read concern the same file.
// - Writers take an exclusive flock on "$JOEY_HOME/.secrets.json.lock" (empty, 0600)
//   around read-modify-write; readers need no lock because the file is only ever
//   replaced by rename.
// - write_file_atomically creates its temporary file with the mode we pass (0600, less
//   the umask) and copies an existing file's mode, which was checked to grant nothing
//   to group or other before the write; the final chmod 0600 only restores owner bits
//   a strict umask removed. So there is never a moment with wider permissions.
// - secret-tool prints a looked-up secret on stdout without a newline unless stdout is
//   a terminal; it exits 1 with nothing on stderr when no item matches.
#include "client/secret_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/json.h"
#include "base/paths.h"
#include "base/strings.h"
#include "base/subprocess.h"
#include "llm/provider.h"

namespace joey::client {
namespace {

constexpr const char* kSecretsFileName = "secrets.json";
constexpr const char* kLockFileName = ".secrets.json.lock";
constexpr const char* kSecretTool = "secret-tool";
constexpr const char* kProbeProvider = "joey-keyring-probe";
constexpr std::chrono::milliseconds kKeyringTimeout{1000};
constexpr size_t kMaxSecretsFileBytes = 1 << 20;
constexpr size_t kMaxKeyBytes = 8192;
constexpr size_t kMaxProviderNameBytes = 64;
constexpr int kFileVersion = 1;

std::string errno_text(int error_number) { return std::strerror(error_number); }

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof(text), "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

bool valid_provider_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxProviderNameBytes) return false;
  for (const char c : name) {
    const bool allowed =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!allowed) return false;
  }
  return true;
}

Status check_provider_name(const std::string& provider) {
  if (valid_provider_name(provider)) return ok_status();
  return make_error(ErrorKind::kInvalidArgument,
                    "invalid provider name (expected lower-case letters, digits, '-', '_', '.')");
}

// Never names the key's bytes: the message must be safe to print.
Status check_key(std::string_view key) {
  if (key.empty()) return make_error(ErrorKind::kInvalidArgument, "the key is empty");
  if (key.size() > kMaxKeyBytes) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the key is longer than " + std::to_string(kMaxKeyBytes) + " bytes");
  }
  for (const char c : key) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f) {
      return make_error(ErrorKind::kInvalidArgument,
                        "the key contains spaces, control characters or non-ASCII bytes");
    }
  }
  return ok_status();
}

// Refuses what another local user could read, change or own (P2).
Status check_private(const struct stat& info, const std::filesystem::path& path, bool directory) {
  if (info.st_uid != geteuid()) {
    return make_error(ErrorKind::kPermissionDenied,
                      path.string() + " belongs to another user (uid " +
                          std::to_string(info.st_uid) + "); joey only uses " +
                          (directory ? "a secrets directory" : "a secrets file") +
                          " that belongs to you");
  }
  if ((info.st_mode & 077) != 0) {
    const char* wanted = directory ? "700" : "600";
    return make_error(ErrorKind::kPermissionDenied,
                      path.string() + " has mode " + octal_mode(info.st_mode) +
                          ", which lets other users on this machine reach your API keys; joey "
                          "refuses to use it. Fix it with: chmod " +
                          wanted + " " + path.string());
  }
  return ok_status();
}

Status check_private_dir(const std::filesystem::path& dir) {
  struct stat info {};
  if (stat(dir.c_str(), &info) != 0) {
    return make_error(ErrorKind::kIo, "checking " + dir.string() + ": " + errno_text(errno));
  }
  return check_private(info, dir, true);
}

class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  Descriptor(Descriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  Descriptor& operator=(Descriptor&&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

using SecretsMap = std::map<std::string, std::string>;

// The keys in the file, or nullopt when there is no file.
Result<std::optional<SecretsMap>> read_secrets(const std::filesystem::path& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<SecretsMap>();
    if (errno == EACCES) {
      return make_error(ErrorKind::kPermissionDenied,
                        "cannot read " + path.string() + ": " + errno_text(errno));
    }
    return make_error(ErrorKind::kIo, "reading " + path.string() + ": " + errno_text(errno));
  }
  Descriptor file(fd);
  struct stat info {};
  if (fstat(fd, &info) != 0) {
    return make_error(ErrorKind::kIo, "checking " + path.string() + ": " + errno_text(errno));
  }
  if (!S_ISREG(info.st_mode)) {
    return make_error(ErrorKind::kInvalidArgument, path.string() + " is not a regular file");
  }
  TRY(check_private(info, path, false));
  TRY(check_private_dir(path.parent_path()));
  if (static_cast<size_t>(info.st_size) > kMaxSecretsFileBytes) {
    return make_error(ErrorKind::kInvalidArgument,
                      path.string() + " is larger than a secrets file can be");
  }
  std::string text;
  char buffer[16384];
  while (text.size() <= kMaxSecretsFileBytes) {
    const ssize_t got = read(fd, buffer, sizeof(buffer));
    if (got < 0) {
      if (errno == EINTR) continue;
      return make_error(ErrorKind::kIo, "reading " + path.string() + ": " + errno_text(errno));
    }
    if (got == 0) break;
    text.append(buffer, static_cast<size_t>(got));
  }
  SecretsMap keys = TRY(parse_secrets_file(text, path.string()));
  return std::optional<SecretsMap>(std::move(keys));
}

Status write_secrets(const std::filesystem::path& path, const SecretsMap& keys) {
  TRY(write_file_atomically(path, serialize_secrets_file(keys), false, 0600));
  if (chmod(path.c_str(), 0600) != 0) {
    return make_error(ErrorKind::kIo,
                      "setting mode 0600 on " + path.string() + ": " + errno_text(errno));
  }
  return ok_status();
}

// An exclusive lock on the secrets file's lock file, held while the object lives.
Result<Descriptor> lock_secrets(const std::filesystem::path& dir) {
  const std::filesystem::path lock_path = dir / kLockFileName;
  const int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return make_error(ErrorKind::kIo, "opening " + lock_path.string() + ": " + errno_text(errno));
  }
  Descriptor lock(fd);
  while (flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      return make_error(ErrorKind::kIo, "locking " + lock_path.string() + ": " + errno_text(errno));
    }
  }
  return lock;
}

// Makes $JOEY_HOME (0700 when joey creates it) and refuses one others can reach.
Status prepare_private_dir(const std::filesystem::path& dir) {
  TRY(ensure_private_dir(dir));
  return check_private_dir(dir);
}

// --- keyring through secret-tool ---

Result<ProcessResult> run_secret_tool(std::vector<std::string> arguments,
                                      std::optional<std::string> input = std::nullopt) {
  ProcessOptions options;
  options.argv.push_back(kSecretTool);
  for (std::string& argument : arguments) options.argv.push_back(std::move(argument));
  options.stdin_data = std::move(input);
  options.timeout = kKeyringTimeout;
  options.output_cap_bytes = 64 * 1024;
  Result<ProcessResult> result = run_process(options);
  if (!result.ok()) {
    return result.error().with_context("running secret-tool (Debian package libsecret-tools)");
  }
  if (result->timed_out) {
    return make_error(ErrorKind::kTimeout, "the system keyring did not answer within 1 s");
  }
  return result;
}

Error keyring_failure(const char* action, const ProcessResult& result) {
  std::string reason = std::string(trim(result.stderr_text));
  reason = reason.empty() ? "exit status " + std::to_string(result.exit_code)
                          : body_excerpt(reason, 200);
  return make_error(ErrorKind::kIo,
                    std::string("the system keyring could not ") + action + " the key: " + reason);
}

bool not_found(const ProcessResult& result) {
  return !result.signaled && result.exit_code == 1 && trim(result.stderr_text).empty();
}

Result<std::optional<std::string>> keyring_lookup(const std::string& provider) {
  ProcessResult result = TRY(run_secret_tool({"lookup", "service", "joey", "provider", provider}));
  if (!result.signaled && result.exit_code == 0) {
    std::string key(trim(result.stdout_text));
    if (key.empty()) return std::optional<std::string>();
    return std::optional<std::string>(std::move(key));
  }
  if (not_found(result)) return std::optional<std::string>();
  return keyring_failure("look up", result);
}

Status keyring_store(const std::string& provider, const std::string& key) {
  ProcessResult result = TRY(run_secret_tool({"store", "--label", "joey: " + provider + " API key",
                                              "service", "joey", "provider", provider},
                                             key));
  if (!result.signaled && result.exit_code == 0) return ok_status();
  return keyring_failure("store", result);
}

Result<bool> keyring_clear(const std::string& provider) {
  const std::optional<std::string> existing = TRY(keyring_lookup(provider));
  if (!existing) return false;
  ProcessResult result = TRY(run_secret_tool({"clear", "service", "joey", "provider", provider}));
  if (!result.signaled && result.exit_code == 0) return true;
  return keyring_failure("remove", result);
}

// Why the keyring cannot be used, or "" when it answers. Cached per process for each
// session bus address and PATH, so one slow probe costs at most one timeout.
std::string keyring_unavailable_reason() {
  const char* bus = std::getenv("DBUS_SESSION_BUS_ADDRESS");
  if (!bus || !*bus) return "no D-Bus session (DBUS_SESSION_BUS_ADDRESS is unset)";
  const char* path = std::getenv("PATH");
  const std::string cache_key = std::string(bus) + '\n' + (path ? path : "");

  static std::mutex mutex;
  static std::map<std::string, std::string> cache;  // GUARDED_BY(mutex)
  std::lock_guard<std::mutex> lock(mutex);
  const auto cached = cache.find(cache_key);
  if (cached != cache.end()) return cached->second;

  std::string reason;
  Result<ProcessResult> probe =
      run_secret_tool({"lookup", "service", "joey", "provider", kProbeProvider});
  if (!probe.ok()) {
    reason = probe.error().message;
  } else if (!(!probe->signaled && probe->exit_code == 0) && !not_found(*probe)) {
    reason = keyring_failure("look up", *probe).message;
  }
  cache.emplace(cache_key, reason);
  return reason;
}

}  // namespace

const char* backend_name(SecretStore::Backend backend) {
  switch (backend) {
    case SecretStore::Backend::kKeyring:
      return "system keyring";
    case SecretStore::Backend::kFile:
      return "file";
    case SecretStore::Backend::kAuto:
      return "auto";
  }
  return "file";
}

std::string key_last4(std::string_view key) {
  if (key.size() < 12) return "";
  return std::string(key.substr(key.size() - 4));
}

Result<std::map<std::string, std::string>> parse_secrets_file(std::string_view text,
                                                              const std::string& file_name) {
  const auto malformed = [&](const std::string& what) {
    return make_error(ErrorKind::kInvalidArgument,
                      file_name + " is malformed: " + what +
                          " (expected {\"version\": 1, \"keys\": {\"PROVIDER\": \"KEY\"}}; fix "
                          "or delete it and run `joey auth set PROVIDER` again)");
  };
  const nlohmann::json document = parse_json(text);
  if (document.is_discarded()) return malformed("not valid JSON");
  if (!document.is_object()) return malformed("not a JSON object");
  const std::optional<int64_t> version = integer_field(document, "version");
  if (!version) return malformed("no integer \"version\"");
  if (*version != kFileVersion) {
    return make_error(ErrorKind::kInvalidArgument,
                      file_name +
                          " has a version this joey does not read (it reads version 1; "
                          "was it written by a newer joey?)");
  }
  const nlohmann::json* keys = object_field(document, "keys");
  if (!keys) return malformed("no \"keys\" object");
  std::map<std::string, std::string> result;
  // Nothing from the file is quoted back, provider names included: a file edited by
  // hand may hold a key where a name belongs.
  for (const auto& [provider, value] : keys->items()) {
    if (!valid_provider_name(provider)) return malformed("a provider name is not valid");
    if (!value.is_string()) return malformed("a key is not a string");
    std::string key = value.get<std::string>();
    if (!check_key(key).ok()) {
      return malformed("a key is empty or holds spaces, control characters or non-ASCII bytes");
    }
    result.emplace(provider, std::move(key));
  }
  return result;
}

std::string serialize_secrets_file(const std::map<std::string, std::string>& keys) {
  nlohmann::json document = {{"version", kFileVersion}, {"keys", nlohmann::json::object()}};
  for (const auto& [provider, key] : keys) document["keys"][provider] = key;
  return document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

SecretStore::SecretStore(std::filesystem::path joey_home, Backend backend)
    : joey_home_(std::move(joey_home)),
      file_path_(joey_home_ / kSecretsFileName),
      backend_(backend) {}

Result<SecretStore> SecretStore::open(const std::filesystem::path& joey_home, Backend preference) {
  if (joey_home.empty()) {
    return make_error(ErrorKind::kInvalidArgument, "no directory for joey's secrets");
  }
  if (preference == Backend::kFile) return SecretStore(joey_home, Backend::kFile);
  const std::string reason = keyring_unavailable_reason();
  if (reason.empty()) {
    SecretStore store(joey_home, Backend::kKeyring);
    store.keyring_active_ = true;
    store.keyring_required_ = preference == Backend::kKeyring;
    return store;
  }
  if (preference == Backend::kKeyring) {
    return make_error(ErrorKind::kNotFound, "the system keyring is not available: " + reason);
  }
  return SecretStore(joey_home, Backend::kFile);
}

Status SecretStore::set(const std::string& provider, const std::string& key) {
  TRY(check_provider_name(provider));
  TRY(check_key(key));
  if (backend_ == Backend::kKeyring) {
    Status stored = keyring_store(provider, key);
    if (stored.ok()) {
      // A stale copy in the file would outlive `joey auth remove` of the keyring's key.
      [[maybe_unused]] Result<bool> removed = remove_from_file(provider);
      return ok_status();
    }
    if (keyring_required_) return stored;
    backend_ = Backend::kFile;
  }
  TRY(prepare_private_dir(joey_home_));
  Descriptor lock = TRY(lock_secrets(joey_home_));
  SecretsMap keys = TRY(read_secrets(file_path_)).value_or(SecretsMap());
  keys[provider] = key;
  return write_secrets(file_path_, keys);
}

Status SecretStore::check_writable() {
  if (backend_ == Backend::kKeyring) return ok_status();
  return prepare_private_dir(joey_home_);
}

Result<std::optional<std::string>> SecretStore::get(const std::string& provider) {
  TRY(check_provider_name(provider));
  if (keyring_active_) {
    Result<std::optional<std::string>> key = keyring_lookup(provider);
    if (!key.ok() && keyring_required_) return key.error();
    if (key.ok() && key->has_value()) return key;
  }
  const std::optional<SecretsMap> keys = TRY(read_secrets(file_path_));
  if (!keys) return std::optional<std::string>();
  const auto found = keys->find(provider);
  if (found == keys->end()) return std::optional<std::string>();
  return std::optional<std::string>(found->second);
}

Result<bool> SecretStore::remove_from_file(const std::string& provider) {
  struct stat info {};
  if (stat(file_path_.c_str(), &info) != 0 && errno == ENOENT) return false;
  Descriptor lock = TRY(lock_secrets(joey_home_));
  std::optional<SecretsMap> keys = TRY(read_secrets(file_path_));
  if (!keys || keys->erase(provider) == 0) return false;
  TRY(write_secrets(file_path_, *keys));
  return true;
}

Result<bool> SecretStore::remove(const std::string& provider) {
  TRY(check_provider_name(provider));
  bool removed = false;
  if (keyring_active_) {
    Result<bool> cleared = keyring_clear(provider);
    if (!cleared.ok() && keyring_required_) return cleared.error();
    removed = cleared.ok() && *cleared;
  }
  const bool removed_from_file = TRY(remove_from_file(provider));
  return removed || removed_from_file;
}

Result<std::vector<StoredKey>> SecretStore::list() {
  std::map<std::string, StoredKey> found;
  const std::optional<SecretsMap> keys = TRY(read_secrets(file_path_));
  if (keys) {
    for (const auto& [provider, key] : *keys) {
      found[provider] = StoredKey{provider, key_last4(key), Backend::kFile};
    }
  }
  if (keyring_active_) {
    for (const llm::ProviderInfo& provider : llm::all_providers()) {
      if (provider.key_variable.empty()) continue;
      Result<std::optional<std::string>> key = keyring_lookup(provider.name);
      if (!key.ok()) {
        if (keyring_required_) return key.error();
        continue;
      }
      if (key->has_value()) {
        found[provider.name] = StoredKey{provider.name, key_last4(**key), Backend::kKeyring};
      }
    }
  }
  std::vector<StoredKey> result;
  for (auto& [provider, stored] : found) result.push_back(std::move(stored));
  return result;
}

Result<std::optional<std::string>> stored_key(const std::filesystem::path& joey_home,
                                              const std::string& provider) {
  SecretStore store = TRY(SecretStore::open(joey_home));
  return store.get(provider);
}

}  // namespace joey::client
