// Where joey keeps provider API keys on the user's machine (privacy promise P2): the
// system keyring (the Secret Service) when one answers, else $JOEY_HOME/secrets.json.
//
// Keyring: joey talks to the Secret Service through libsecret's command-line tool
// `secret-tool`, run with joey::run_process and a 1 s timeout, rather than linking
// libsecret. A missing, hung or prompting D-Bus session must never block joey: a child
// process can be killed when its time is up, a library call into glib cannot. It also
// keeps glib and its main loop out of joey. Items carry the attributes
// `service joey provider NAME`; the key goes to `secret-tool store` on stdin, never in
// argv (argv is readable by every local user in /proc).
// Whether the keyring works is probed once per process (per DBUS_SESSION_BUS_ADDRESS
// and PATH): with no session bus address, no secret-tool, or a probe that fails or
// times out, the file is used.
//
// File: {"version": 1, "keys": {"anthropic": "…"}}, mode 0600 in a directory joey
// keeps at 0700, replaced atomically (joey::write_file_atomically) under an exclusive
// lock so concurrent writers never lose each other's keys. A file or directory that
// grants group or other users any access, or that belongs to another user, is refused
// with kPermissionDenied and the command that fixes it. A malformed file is an error
// naming the file; its contents (keys) never appear in a message.
//
// Precedence (environment variable first, then the store) is the caller's business:
// key lookup calls stored_key() only when the provider's variable is unset.
//
// No function here logs or returns a key in an error message. Thread-safety: a
// SecretStore may be used by one thread at a time; separate instances (and processes)
// may work on the same $JOEY_HOME at once.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace joey::client {

struct StoredKey;

class SecretStore {
 public:
  enum class Backend { kAuto, kKeyring, kFile };

  // kAuto: the keyring when the probe finds one, else the file. kKeyring: the keyring or
  // an error (kNotFound) saying why it is unavailable. kFile: the file only.
  // Creates nothing on disk; writing creates $JOEY_HOME (0700) and the file (0600).
  static Result<SecretStore> open(const std::filesystem::path& joey_home,
                                  Backend preference = Backend::kAuto);

  // Stores `key` for `provider`, replacing any earlier key. With the keyring active and
  // a store that fails (e.g. a keyring that wants to prompt for a password), falls back
  // to the file (and backend() becomes kFile); a copy in the file is removed once the
  // keyring holds the key.
  // kInvalidArgument for an empty key or one with spaces or control characters.
  Status set(const std::string& provider, const std::string& key);
  // Ok when set() can write: with the file backend, $JOEY_HOME exists (made 0700 if
  // missing) and is private. Lets a caller refuse before it obtains a secret it then
  // could not keep (`joey login`). The keyring is not probed further here.
  Status check_writable();
  // The stored key: the keyring's first, then the file's. nullopt when neither has one.
  Result<std::optional<std::string>> get(const std::string& provider);
  // Removes the key from every backend that holds it; false when none did.
  Result<bool> remove(const std::string& provider);
  // Every stored key, by provider name, without the keys themselves.
  Result<std::vector<StoredKey>> list();

  // The backend set() writes to: kKeyring or kFile (never kAuto).
  Backend backend() const { return backend_; }
  // The path of the secrets file (whether or not it exists).
  const std::filesystem::path& file_path() const { return file_path_; }

 private:
  SecretStore(std::filesystem::path joey_home, Backend backend);
  // Removes `provider` from the file under the lock; false when it held none.
  Result<bool> remove_from_file(const std::string& provider);

  std::filesystem::path joey_home_;
  std::filesystem::path file_path_;
  Backend backend_;                // where set() writes
  bool keyring_active_ = false;    // the probe found a keyring: reads consult it first
  bool keyring_required_ = false;  // opened with kKeyring: keyring errors are not skipped
};

struct StoredKey {
  std::string provider;
  std::string last4;  // the key's last four characters; empty when the key is too short
  SecretStore::Backend backend = SecretStore::Backend::kFile;
};

// "system keyring" or "file".
const char* backend_name(SecretStore::Backend backend);

// The last four characters of `key`, or "" when showing them would reveal too much of a
// short key.
std::string key_last4(std::string_view key);

// The key stored for `provider` under `joey_home` (keyring, then file), or nullopt.
// For key lookup after the environment variable: errors (a refused secrets file) are
// returned so the user learns why the stored key was not used.
Result<std::optional<std::string>> stored_key(const std::filesystem::path& joey_home,
                                              const std::string& provider);

// Parses the text of a secrets file into provider -> key. kInvalidArgument naming
// `file_name` (and what is wrong, never the contents) for text that is not JSON, not
// version 1, or holds a non-string key or a malformed provider name. Exposed for the
// fuzz target and tests.
Result<std::map<std::string, std::string>> parse_secrets_file(std::string_view text,
                                                              const std::string& file_name);
// The text of a secrets file holding `keys` (which parse_secrets_file reads back).
std::string serialize_secrets_file(const std::map<std::string, std::string>& keys);

}  // namespace joey::client
