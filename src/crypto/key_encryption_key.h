// The key-encryption key (KEK): the one secret joeyd needs at start, which wraps every
// data key (envelope encryption, DESIGN.md §4). It lives outside the database — in the
// file JOEY_KEK_FILE names, or in DATA_DIR/kek, generated on first start — so a copy of
// the database alone reveals nothing.
//
// The file is one line, "joey-kek-v1 <base64url of 32 bytes>", mode 0600. A file that
// other users can access is refused (with the chmod that fixes it); a malformed file is
// refused without quoting its content.
//
// Rotation (`joeyd keys rotate-kek`): create_file() a new KEK, rewrap() every wrapped data
// key from the old KEK to the new one, then point JOEY_KEK_FILE at the new file. Data
// encrypted under the data keys is never touched.
//
// Ownership: a KeyEncryptionKey owns its secret and wipes it when destroyed.
// Thread-safety: a const KeyEncryptionKey may be shared by any number of threads; the
// static functions are safe to call from any thread (load_or_create reads the
// environment, so no thread may change it meanwhile).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "base/result.h"
#include "crypto/data_key.h"

namespace joey::crypto {

inline constexpr char kKekFileEnvVar[] = "JOEY_KEK_FILE";
inline constexpr char kKekFileName[] = "kek";  // in the data directory
inline constexpr std::string_view kKekFileMagic = "joey-kek-v1";
inline constexpr size_t kKekBytes = 32;

class KeyEncryptionKey {
 public:
  // A new random key (not saved anywhere).
  static KeyEncryptionKey generate();
  // A key from its 32 raw bytes; kInvalidArgument for another size.
  static Result<KeyEncryptionKey> from_bytes(std::string_view key);

  // The key joeyd runs with. When $JOEY_KEK_FILE is set (non-empty), the file it names,
  // which must exist (kNotFound otherwise). Else `data_dir`/kek: loaded when present,
  // otherwise generated with mode 0600 (the directory is created 0700 when missing). Two
  // processes starting at once on a fresh directory end up with the same key.
  static Result<KeyEncryptionKey> load_or_create(const std::filesystem::path& data_dir);
  // The file load_or_create() uses: $JOEY_KEK_FILE when set (non-empty), else
  // `data_dir`/kek.
  static std::filesystem::path file_path(const std::filesystem::path& data_dir);

  // Loads a KEK file. kNotFound when missing; kPermissionDenied when group or others have
  // any access to it (the message gives the chmod); kInvalidArgument when it is not a
  // regular file or not in the format above; kIo when it cannot be read.
  static Result<KeyEncryptionKey> load_file(const std::filesystem::path& file);

  // Generates a new key into `file` (mode 0600, written atomically, missing parent
  // directories created 0700). kAlreadyExists when `file` exists: a KEK is never
  // overwritten, since that would make every data key it wrapped unreadable.
  static Result<KeyEncryptionKey> create_file(const std::filesystem::path& file);

  // Parses the content of a KEK file ("joey-kek-v1 <base64url>", optionally followed by
  // a line break). kInvalidArgument otherwise; the message never quotes `content`.
  static Result<KeyEncryptionKey> parse_file_content(std::string_view content);
  // The file content for this key, ending in "\n". Secret: write it only with mode 0600.
  std::string file_content() const;

  // 16 lowercase hex characters derived from the key by HMAC-SHA256 (one-way, so it may
  // be stored and logged). Two different keys have different ids, in practice.
  const std::string& id() const { return id_; }

  // Encrypts `key` under this KEK (a fresh random nonce; key id and kek id bound as
  // associated data). Errors only when OpenSSL fails (kInternal).
  Result<WrappedKey> wrap(const DataKey& key) const;

  // The data key in `wrapped`. kNotFound when `wrapped` names another KEK (the message
  // names the kek id expected and the one loaded); kProtocol when the bytes are
  // malformed, altered, or the ids do not match what was wrapped.
  Result<DataKey> unwrap(const WrappedKey& wrapped) const;

  KeyEncryptionKey(const KeyEncryptionKey& other);
  KeyEncryptionKey(KeyEncryptionKey&& other) noexcept;
  KeyEncryptionKey& operator=(const KeyEncryptionKey& other);
  KeyEncryptionKey& operator=(KeyEncryptionKey&& other) noexcept;
  ~KeyEncryptionKey();

 private:
  explicit KeyEncryptionKey(std::string key);

  std::string key_;
  std::string id_;
};

// `wrapped` (made by `old_kek`) wrapped by `new_kek` instead: same key id, same data key
// secret, so every value sealed under the data key still opens. Errors as unwrap().
Result<WrappedKey> rewrap(const WrappedKey& wrapped, const KeyEncryptionKey& old_kek,
                          const KeyEncryptionKey& new_kek);

}  // namespace joey::crypto
