// Accounts, sign-in, sessions, personal access tokens and the device login of joeyd
// (docs/openapi.yaml, /api/auth/* and /api/tokens). No HTTP here: cloud/auth_routes.h
// maps these calls to routes.
//
// Secrets: passwords are stored as argon2id hashes; session cookies, access tokens and
// device codes are 256-bit random tokens of which only the SHA-256 digest is stored
// (crypto/tokens.h), so a copy of the database signs nobody in.
//
// Sign-in throttling: failures are counted per account (normalised email) and per
// address; from the fifth failure in a row the key is locked for an exponentially
// growing time (2 s, 4 s, … at most 15 min), and a locked key is answered like a wrong
// password plus a Retry-After. An unknown email and a wrong password get the same
// answer, and an unknown email still pays for one password hash, so neither words nor
// timing tell whether an account exists.
//
// Thread-safety: every method may be called from any number of threads at once; the
// Database serialises what must be serialised.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "crypto/password.h"
#include "store/database.h"

namespace joey::cloud {

struct IdentityOptions {
  // Unix seconds now; tests move time forward.
  std::function<int64_t()> clock;
  crypto::PasswordCost password_cost = crypto::PasswordCost::kInteractive;
  int64_t session_seconds = 14 * 24 * 3600;
  int64_t device_code_seconds = 600;
  int64_t device_poll_seconds = 5;
};

struct User {
  std::string id;
  std::string email;
  std::string name;
  nlohmann::json to_json() const { return {{"id", id}, {"email", email}, {"name", name}}; }
};

// Who is calling, once authenticated.
struct Caller {
  User user;
  enum class Via { kToken, kSession } via = Via::kToken;
  std::string credential_digest;  // the token's or session's digest
  // authenticate_token with TokenUse::kLeaveToCaller: when this use is due to be
  // recorded (the token's last_used_at is a minute old or more), its time, for
  // record_token_use.
  std::optional<int64_t> unrecorded_use_at;
};

// Who writes a token's last_used_at (kept to the minute) when authenticate_token sees
// that it is due: authenticate_token itself, in a write transaction (kRecordNow), or
// the caller, later, through record_token_use (kLeaveToCaller). The proxy leaves it:
// its I/O threads must not wait for SQLite's one writer, which may be in the middle of
// a batch of usage rows or a checkpoint.
enum class TokenUse { kRecordNow, kLeaveToCaller };

struct NewSession {
  User user;
  std::string cookie_value;  // the session token, shown to the browser once
  int64_t expires_at = 0;
};

struct NewToken {
  std::string id;
  std::string name;
  std::string token;  // shown once
  int64_t created_at = 0;
};

struct TokenInfo {
  std::string id;
  std::string name;
  int64_t created_at = 0;
  std::optional<int64_t> last_used_at;
};

struct DeviceStart {
  std::string device_code;
  std::string user_code;  // "WDJB-MJHT"
  int64_t interval = 0;
  int64_t expires_in = 0;
};

// What polling a device code gives: a token, or the RFC 8628 error code
// (authorization_pending, slow_down, expired_token, access_denied, invalid_grant).
struct DevicePoll {
  std::optional<NewToken> token;
  std::string error;
};

// A sign-in refused by throttling: try again after `retry_after` seconds.
struct Throttled {
  int64_t retry_after = 0;
};

class IdentityService {
 public:
  IdentityService(store::Database& database, IdentityOptions options);

  // kInvalidArgument naming the rule a field breaks (email shape, password policy,
  // name length); kAlreadyExists for a taken email. Signs the new user in.
  Result<NewSession> signup(const std::string& email, const std::string& password,
                            const std::string& name);
  // kAuth "wrong email or password" (the same for an unknown email); kRateLimited when
  // throttled, with `throttled` set.
  Result<NewSession> login(const std::string& email, const std::string& password,
                           const std::string& remote_address, Throttled* throttled = nullptr);
  // Ends the session or revokes the token the caller used.
  Status logout(const Caller& caller);
  // Ok when `password` is the user's (throttled like sign-in; kAuth otherwise), for
  // actions that need it again, such as deleting the account.
  Status confirm_password(const User& user, const std::string& password,
                          const std::string& remote_address);
  // Deletes the user's row with their sessions, tokens, device logins, memberships and
  // data keys. The caller first deletes what lives in tenant tables
  // (TaskService::delete_account_data).
  Status delete_user(const User& user);

  // From a bearer token ("joey_pat_…") or a session cookie value. kAuth when unknown,
  // revoked or expired.
  Result<Caller> authenticate_token(const std::string& token, TokenUse use = TokenUse::kRecordNow);
  // The same from the token's digest (token_digest_of), for a caller that needs the
  // digest itself too.
  Result<Caller> authenticate_token_digest(const std::string& digest,
                                           TokenUse use = TokenUse::kRecordNow);
  // The digest the database keeps of a bearer token; kAuth, before any hashing, for a
  // string that is not shaped like one.
  static Result<std::string> token_digest_of(const std::string& token);
  Result<Caller> authenticate_session(const std::string& cookie_value);
  // Sets the last_used_at of the token with this digest to `at` (a write transaction).
  Status record_token_use(const std::string& digest, int64_t at);

  Result<NewToken> create_token(const User& user, const std::string& name);
  Result<std::vector<TokenInfo>> list_tokens(const User& user);
  // kNotFound when the token is not the user's (or does not exist).
  Status revoke_token(const User& user, const std::string& token_id);

  // {user, organizations: [{id, name, role}]}.
  Result<nlohmann::json> me(const User& user);

  Result<DeviceStart> start_device_login();
  // kNotFound for an unknown, expired or already used code.
  Status approve_device_login(const User& user, const std::string& user_code);
  Result<DevicePoll> poll_device_login(const std::string& device_code);

  int64_t now() const { return options_.clock(); }

  // Counts committed revocations: tokens revoked, sessions ended, users deleted. Read it
  // before authenticating; while it is unchanged, a token found valid is still valid.
  uint64_t access_generation() const { return access_generation_.load(std::memory_order_acquire); }

 private:
  // Commits a revocation, then counts it.
  Status commit_access_change(store::Transaction& tx);
  Result<NewSession> open_session(store::Transaction& tx, const User& user);
  Result<User> check_credentials(const std::string& email, const std::string& password,
                                 const std::string& remote_address, Throttled* throttled);
  Result<NewToken> insert_token(store::Transaction& tx, const User& user, const std::string& name);
  Result<std::optional<Throttled>> check_throttle(store::Transaction& tx,
                                                  const std::vector<std::string>& keys);
  Status record_failure(const std::vector<std::string>& keys);

  store::Database& database_;
  IdentityOptions options_;
  std::atomic<uint64_t> access_generation_{0};
  std::string dummy_hash_;  // verified against when the email is unknown
};

// Lower-cased, trimmed email; kInvalidArgument when it does not look like one.
Result<std::string> normalize_email(const std::string& email);
// kInvalidArgument naming the rule when `password` is too weak for `email`.
Status check_password_policy(const std::string& password, const std::string& email);

}  // namespace joey::cloud
