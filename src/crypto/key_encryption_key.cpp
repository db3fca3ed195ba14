// Implementation notes:
// - A new KEK file is written to a temporary name (atomically, fsynced, 0600) and then
//   hard-linked to its final name: link() fails when the name exists, so two joeyd
//   processes starting at once on an empty directory cannot each install their own key
//   (rename() would let the second replace the first after the first wrapped data keys).
// - Files are opened once and checked with fstat() on the open descriptor, so the checks
//   apply to the bytes actually read. O_NONBLOCK keeps a FIFO from hanging the start.
#include "crypto/key_encryption_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "base/atomic_file.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/paths.h"
#include "crypto/aead.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/wipe.h"

namespace joey::crypto {
namespace {

constexpr unsigned char kWrapVersion = 1;
constexpr size_t kWrappedBytes = 1 + kGcmNonceBytes + kDataKeySecretBytes + kGcmTagBytes;
constexpr size_t kKekIdHexChars = 16;
// A real KEK file is 56 bytes; anything far larger is not one and is not read whole.
constexpr size_t kMaxKekFileBytes = 4096;
constexpr std::string_view kKekIdLabel = "joey-kek-id-v1";
constexpr std::string_view kWrapAadLabel = "joey-wrapped-data-key";

bool is_kek_id(std::string_view id) {
  if (id.size() != kKekIdHexChars) return false;
  for (const char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string wrap_aad(std::string_view key_id, std::string_view kek_id) {
  std::string aad(kWrapAadLabel);
  aad.push_back(static_cast<char>(kWrapVersion));
  append_length_prefixed(aad, key_id);
  append_length_prefixed(aad, kek_id);
  return aad;
}

std::string mode_text(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Result<std::string> read_private_file(const std::filesystem::path& file) {
  const std::string name = file.string();
  FileDescriptor fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) {
    const int error_number = errno;
    if (error_number == ENOENT) {
      return make_error(ErrorKind::kNotFound,
                        "key-encryption key file " + name + " does not exist");
    }
    return make_error(ErrorKind::kIo, "opening key-encryption key file " + name + ": " +
                                          std::strerror(error_number));
  }
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0) {
    return make_error(ErrorKind::kIo,
                      "inspecting key-encryption key file " + name + ": " + std::strerror(errno));
  }
  if (!S_ISREG(status.st_mode)) {
    return make_error(ErrorKind::kInvalidArgument,
                      "key-encryption key file " + name + " is not a regular file");
  }
  if ((status.st_mode & 077) != 0) {
    return make_error(ErrorKind::kPermissionDenied,
                      "key-encryption key file " + name + " can be accessed by other users (mode " +
                          mode_text(status.st_mode) + "); restrict it with: chmod 600 " + name);
  }
  if (static_cast<size_t>(status.st_size) > kMaxKekFileBytes) {
    return make_error(ErrorKind::kInvalidArgument,
                      name + " is not a joey key-encryption key file (it is " +
                          std::to_string(status.st_size) + " bytes long)");
  }
  std::string content;
  content.reserve(kMaxKekFileBytes + 1);  // no reallocation, so no unwiped copy
  char buffer[512];
  for (int reads = 0; reads < 64 && content.size() <= kMaxKekFileBytes; ++reads) {
    const ssize_t count = ::read(fd.get(), buffer, sizeof buffer);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) {
      const int error_number = errno;
      wipe(content);
      return make_error(ErrorKind::kIo, "reading key-encryption key file " + name + ": " +
                                            std::strerror(error_number));
    }
    if (count == 0) break;
    content.append(buffer, static_cast<size_t>(count));
  }
  return content;
}

void sync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

KeyEncryptionKey::KeyEncryptionKey(std::string key) : key_(std::move(key)) {
  id_ = hex_encode(hmac_sha256(key_, kKekIdLabel)).substr(0, kKekIdHexChars);
}

KeyEncryptionKey KeyEncryptionKey::generate() { return KeyEncryptionKey(random_bytes(kKekBytes)); }

Result<KeyEncryptionKey> KeyEncryptionKey::from_bytes(std::string_view key) {
  if (key.size() != kKekBytes) {
    return make_error(ErrorKind::kInvalidArgument,
                      "a key-encryption key must be 32 bytes, not " + std::to_string(key.size()));
  }
  return KeyEncryptionKey(std::string(key));
}

Result<KeyEncryptionKey> KeyEncryptionKey::parse_file_content(std::string_view content) {
  if (content.ends_with("\r\n")) {
    content.remove_suffix(2);
  } else if (content.ends_with('\n')) {
    content.remove_suffix(1);
  }
  const std::string expected_start = std::string(kKekFileMagic) + " ";
  if (!content.starts_with(expected_start)) {
    return make_error(ErrorKind::kInvalidArgument,
                      "not a joey key-encryption key file (expected one line \"" +
                          std::string(kKekFileMagic) + " <base64url key>\")");
  }
  auto key = base64url_decode(content.substr(expected_start.size()));
  if (!key.ok() || key->size() != kKekBytes) {
    if (key.ok()) wipe(*key);
    return make_error(ErrorKind::kInvalidArgument,
                      "malformed joey key-encryption key file (the key must be 32 bytes in "
                      "base64url without padding)");
  }
  KeyEncryptionKey kek(std::move(key).value());
  return kek;
}

std::string KeyEncryptionKey::file_content() const {
  std::string encoded = base64url_encode(key_);
  std::string content;
  content.reserve(kKekFileMagic.size() + encoded.size() + 2);  // no copy left by growth
  content.append(kKekFileMagic).append(" ").append(encoded).append("\n");
  wipe(encoded);
  return content;
}

Result<KeyEncryptionKey> KeyEncryptionKey::load_file(const std::filesystem::path& file) {
  std::string content = TRY(read_private_file(file));
  auto kek = parse_file_content(content);
  wipe(content);
  if (!kek.ok()) return kek.error().with_context(file.string());
  return kek;
}

Result<KeyEncryptionKey> KeyEncryptionKey::create_file(const std::filesystem::path& file) {
  if (!file.has_filename()) {
    return make_error(ErrorKind::kInvalidArgument,
                      "cannot create a key-encryption key at '" + file.string() + "'");
  }
  std::filesystem::path dir = file.parent_path();
  if (dir.empty()) dir = ".";
  TRY(ensure_private_dir(dir));
  struct stat existing {};
  if (::lstat(file.c_str(), &existing) == 0) {
    return make_error(ErrorKind::kAlreadyExists, "key-encryption key file " + file.string() +
                                                     " already exists; it is never overwritten");
  }

  KeyEncryptionKey kek = generate();
  std::string content = kek.file_content();
  const std::filesystem::path temp =
      dir / ("." + file.filename().string() + ".new-" + random_hex(8));
  const Status written = write_file_atomically(temp, content, false, 0600);
  wipe(content);
  if (!written.ok()) return written.error().with_context("writing a new key-encryption key");

  const int link_result = ::link(temp.c_str(), file.c_str());
  const int link_errno = errno;
  ::unlink(temp.c_str());
  if (link_result != 0) {
    if (link_errno == EEXIST) {
      return make_error(ErrorKind::kAlreadyExists, "key-encryption key file " + file.string() +
                                                       " already exists; it is never overwritten");
    }
    return make_error(ErrorKind::kIo, "installing key-encryption key file " + file.string() + ": " +
                                          std::strerror(link_errno));
  }
  sync_directory(dir);
  return kek;
}

std::filesystem::path KeyEncryptionKey::file_path(const std::filesystem::path& data_dir) {
  const char* from_env = std::getenv(kKekFileEnvVar);
  if (from_env != nullptr && from_env[0] != '\0') return from_env;
  return data_dir / kKekFileName;
}

Result<KeyEncryptionKey> KeyEncryptionKey::load_or_create(const std::filesystem::path& data_dir) {
  const std::filesystem::path file = file_path(data_dir);
  if (const char* from_env = std::getenv(kKekFileEnvVar); from_env && from_env[0] != '\0') {
    // A named key-encryption key must exist: generating one would hide a wrong path.
    auto kek = load_file(file);
    if (!kek.ok()) return kek.error().with_context(std::string("loading ") + kKekFileEnvVar);
    return kek;
  }
  auto loaded = load_file(file);
  if (loaded.ok() || loaded.error().kind != ErrorKind::kNotFound) return loaded;

  auto created = create_file(file);
  if (created.ok()) {
    log::warn("kek_created",
              {log::field("path", file.string()), log::field("kek_id", created->id())});
    return created;
  }
  // Another process created it between our load and our create: use theirs.
  if (created.error().kind == ErrorKind::kAlreadyExists) return load_file(file);
  return created;
}

Result<WrappedKey> KeyEncryptionKey::wrap(const DataKey& key) const {
  const std::string nonce = random_bytes(kGcmNonceBytes);
  auto encrypted = aes256gcm_encrypt(key_, nonce, key.secret(), wrap_aad(key.id(), id_));
  if (!encrypted.ok()) return encrypted.error().with_context("wrapping data key " + key.id());
  WrappedKey wrapped{key.id(), id_, std::string()};
  wrapped.bytes.reserve(kWrappedBytes);
  wrapped.bytes.push_back(static_cast<char>(kWrapVersion));
  wrapped.bytes += nonce;
  wrapped.bytes += *encrypted;
  return wrapped;
}

Result<DataKey> KeyEncryptionKey::unwrap(const WrappedKey& wrapped) const {
  if (!is_data_key_id(wrapped.key_id) || !is_kek_id(wrapped.kek_id)) {
    return make_error(ErrorKind::kProtocol, "a wrapped data key has a malformed key id or kek id");
  }
  if (wrapped.kek_id != id_) {
    return make_error(ErrorKind::kNotFound,
                      "data key " + wrapped.key_id + " is wrapped by key-encryption key " +
                          wrapped.kek_id + ", but the key-encryption key loaded is " + id_ +
                          "; start joeyd with the key whose id is " + wrapped.kek_id + " (" +
                          kKekFileEnvVar + ")");
  }
  const std::string_view bytes = wrapped.bytes;
  if (bytes.size() != kWrappedBytes || static_cast<unsigned char>(bytes[0]) != kWrapVersion) {
    return make_error(ErrorKind::kProtocol, "wrapped data key " + wrapped.key_id +
                                                " is malformed (wrong size or unknown version)");
  }
  auto secret =
      aes256gcm_decrypt(key_, bytes.substr(1, kGcmNonceBytes), bytes.substr(1 + kGcmNonceBytes),
                        wrap_aad(wrapped.key_id, wrapped.kek_id));
  if (!secret.ok()) {
    return make_error(ErrorKind::kProtocol, "wrapped data key " + wrapped.key_id +
                                                " does not authenticate under key-encryption key " +
                                                id_ + " (altered or corrupted)");
  }
  return DataKey::from_parts(wrapped.key_id, std::move(secret).value());
}

KeyEncryptionKey::KeyEncryptionKey(const KeyEncryptionKey& other)
    : key_(other.key_), id_(other.id_) {}

KeyEncryptionKey::KeyEncryptionKey(KeyEncryptionKey&& other) noexcept
    : key_(std::move(other.key_)), id_(std::move(other.id_)) {}

KeyEncryptionKey& KeyEncryptionKey::operator=(const KeyEncryptionKey& other) {
  if (this != &other) {
    wipe(key_);
    key_ = other.key_;
    id_ = other.id_;
  }
  return *this;
}

KeyEncryptionKey& KeyEncryptionKey::operator=(KeyEncryptionKey&& other) noexcept {
  if (this != &other) {
    wipe(key_);  // a move assignment may hand our old buffer to `other`
    key_ = std::move(other.key_);
    id_ = std::move(other.id_);
  }
  return *this;
}

KeyEncryptionKey::~KeyEncryptionKey() { wipe(key_); }

Result<WrappedKey> rewrap(const WrappedKey& wrapped, const KeyEncryptionKey& old_kek,
                          const KeyEncryptionKey& new_kek) {
  const DataKey key = TRY(old_kek.unwrap(wrapped));
  return new_kek.wrap(key);
}

}  // namespace joey::crypto
