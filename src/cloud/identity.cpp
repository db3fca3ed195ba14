#include "cloud/identity.h"

#include <algorithm>
#include <chrono>

#include "base/ids.h"
#include "base/strings.h"
#include "crypto/random.h"
#include "crypto/tokens.h"

namespace joey::cloud {
namespace {

constexpr std::string_view kSessionPrefix = "joey_sess_";
constexpr std::string_view kDeviceCodePrefix = "joey_dc_";
constexpr size_t kMinPasswordChars = 10;
constexpr size_t kMaxPasswordBytes = 1024;
constexpr size_t kMaxNameChars = 100;
constexpr size_t kMaxTokenNameChars = 100;
constexpr int64_t kFailuresBeforeLock = 5;
constexpr int64_t kMaxLockSeconds = 15 * 60;
// Consonants only: no vowels (no words), no look-alikes (0/O, 1/I).
constexpr std::string_view kUserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ";

int64_t system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// 96 random bits: unique without coordination, and short enough that the log's
// redactor (which hides 32+ character hex runs as possible secrets) leaves the user
// id in access log lines readable.
std::string new_id() { return random_hex(12); }

std::string new_user_code() {
  std::string code;
  while (code.size() < 8) {
    for (unsigned char byte : crypto::random_bytes(16)) {
      // Rejection sampling keeps every letter equally likely.
      if (byte >= 240 || code.size() == 8) continue;
      code.push_back(kUserCodeAlphabet[byte % kUserCodeAlphabet.size()]);
    }
  }
  return code.substr(0, 4) + "-" + code.substr(4);
}

// "wdjb mjht", "WDJBMJHT" and "WDJB-MJHT" are the same code.
std::string normalize_user_code(const std::string& typed) {
  std::string letters;
  for (char c : typed) {
    if (c == '-' || c == ' ') continue;
    letters.push_back(static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c));
  }
  if (letters.size() != 8) return "";
  return letters.substr(0, 4) + "-" + letters.substr(4);
}

size_t utf8_length(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

bool has_control(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
}

Result<User> user_from(const store::Row& row) {
  return User{TRY(row.text("id")), TRY(row.text("email")), TRY(row.text("name"))};
}

Error wrong_credentials() { return Error(ErrorKind::kAuth, "wrong email or password"); }

}  // namespace

Result<std::string> normalize_email(const std::string& email) {
  std::string normalized = ascii_lower(trim(email));
  const size_t at = normalized.find('@');
  const bool shaped = at != std::string::npos && at > 0 && at == normalized.rfind('@') &&
                      normalized.find('.', at) != std::string::npos && normalized.back() != '.' &&
                      normalized.size() <= 254 && normalized.find(' ') == std::string::npos &&
                      !has_control(normalized);
  if (!shaped) return make_error(ErrorKind::kInvalidArgument, "that is not an email address");
  return normalized;
}

Status check_password_policy(const std::string& password, const std::string& email) {
  if (utf8_length(password) < kMinPasswordChars) {
    return make_error(
        ErrorKind::kInvalidArgument,
        "the password must have at least " + std::to_string(kMinPasswordChars) + " characters");
  }
  if (password.size() > kMaxPasswordBytes) {
    return make_error(ErrorKind::kInvalidArgument, "the password is longer than 1024 bytes");
  }
  if (ascii_lower(password) == email || ascii_lower(password) == email.substr(0, email.find('@'))) {
    return make_error(ErrorKind::kInvalidArgument, "the password must not be your email address");
  }
  if (std::all_of(password.begin(), password.end(), [&](char c) { return c == password[0]; })) {
    return make_error(ErrorKind::kInvalidArgument, "the password must not repeat one character");
  }
  return ok_status();
}

IdentityService::IdentityService(store::Database& database, IdentityOptions options)
    : database_(database), options_(std::move(options)) {
  if (!options_.clock) options_.clock = system_now;
  Result<std::string> dummy =
      crypto::hash_password(crypto::random_bytes(16), options_.password_cost);
  if (dummy.ok()) dummy_hash_ = *dummy;
}

Result<NewSession> IdentityService::open_session(store::Transaction& tx, const User& user) {
  NewSession session;
  session.user = user;
  session.cookie_value = crypto::generate_token(kSessionPrefix);
  session.expires_at = now() + options_.session_seconds;
  TRY(tx.execute(
      "INSERT INTO sessions (digest, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
      {crypto::token_digest(session.cookie_value), user.id, now(), session.expires_at}));
  return session;
}

Result<NewSession> IdentityService::signup(const std::string& email, const std::string& password,
                                           const std::string& name) {
  const std::string normalized = TRY(normalize_email(email));
  TRY(check_password_policy(password, normalized));
  const std::string trimmed_name(trim(name));
  if (trimmed_name.empty() || utf8_length(trimmed_name) > kMaxNameChars ||
      has_control(trimmed_name)) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the name must have 1 to 100 characters and no control characters");
  }
  const std::string hash = TRY(crypto::hash_password(password, options_.password_cost));
  User user{new_id(), normalized, trimmed_name};
  store::Transaction tx = TRY(database_.begin_unscoped());
  Result<int64_t> inserted = tx.execute(
      "INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
      {user.id, user.email, user.name, hash, now()});
  if (!inserted.ok()) {
    if (inserted.error().kind == ErrorKind::kAlreadyExists) {
      return make_error(ErrorKind::kAlreadyExists, "an account with that email already exists");
    }
    return inserted.error();
  }
  NewSession session = TRY(open_session(tx, user));
  TRY(tx.commit());
  return session;
}

Result<std::optional<Throttled>> IdentityService::check_throttle(
    store::Transaction& tx, const std::vector<std::string>& keys) {
  int64_t locked_until = 0;
  for (const std::string& key : keys) {
    store::Rows rows =
        TRY(tx.query("SELECT locked_until FROM login_attempts WHERE key = ?", {key}));
    if (!rows.empty()) locked_until = std::max(locked_until, TRY(rows[0].integer("locked_until")));
  }
  if (locked_until > now()) return std::optional<Throttled>(Throttled{locked_until - now()});
  return std::optional<Throttled>();
}

Status IdentityService::record_failure(const std::vector<std::string>& keys) {
  store::Transaction tx = TRY(database_.begin_unscoped());
  for (const std::string& key : keys) {
    store::Rows rows = TRY(tx.query("SELECT failures FROM login_attempts WHERE key = ?", {key}));
    const int64_t failures = rows.empty() ? 1 : TRY(rows[0].integer("failures")) + 1;
    int64_t locked_until = 0;
    if (failures >= kFailuresBeforeLock) {
      const int64_t exponent = std::min<int64_t>(failures - kFailuresBeforeLock + 1, 10);
      locked_until = now() + std::min<int64_t>(int64_t{1} << exponent, kMaxLockSeconds);
    }
    if (rows.empty()) {
      TRY(
          tx.execute("INSERT INTO login_attempts (key, failures, locked_until, updated_at) VALUES "
                     "(?, ?, ?, ?)",
                     {key, failures, locked_until, now()}));
    } else {
      TRY(tx.execute(
          "UPDATE login_attempts SET failures = ?, locked_until = ?, updated_at = ? WHERE key = ?",
          {failures, locked_until, now(), key}));
    }
  }
  return tx.commit();
}

Result<User> IdentityService::check_credentials(const std::string& email,
                                                const std::string& password,
                                                const std::string& remote_address,
                                                Throttled* throttled) {
  Result<std::string> normalized = normalize_email(email);
  if (!normalized.ok()) return wrong_credentials();
  const std::vector<std::string> keys = {"email:" + *normalized, "address:" + remote_address};
  std::optional<User> user;
  std::string hash = dummy_hash_;
  {
    store::Transaction tx = TRY(database_.begin_unscoped(store::Access::kRead));
    if (std::optional<Throttled> locked = TRY(check_throttle(tx, keys))) {
      if (throttled) *throttled = *locked;
      return make_error(ErrorKind::kRateLimited, "too many failed sign-ins; try again in " +
                                                     std::to_string(locked->retry_after) + " s");
    }
    store::Rows rows = TRY(tx.query(
        "SELECT id, email, name, password_hash FROM users WHERE email = ?", {*normalized}));
    if (!rows.empty()) {
      user = TRY(user_from(rows[0]));
      hash = TRY(rows[0].text("password_hash"));
    }
  }
  // Verified even for an unknown email (against a dummy hash): the same work either way.
  const bool matches = crypto::verify_password(hash, password);
  if (!user || !matches) {
    TRY(record_failure(keys));
    return wrong_credentials();
  }
  store::Transaction tx = TRY(database_.begin_unscoped());
  TRY(tx.execute("DELETE FROM login_attempts WHERE key = ?", {keys[0]}));
  if (crypto::needs_rehash(hash, options_.password_cost)) {
    const std::string fresh = TRY(crypto::hash_password(password, options_.password_cost));
    TRY(tx.execute("UPDATE users SET password_hash = ? WHERE id = ?", {fresh, user->id}));
  }
  TRY(tx.commit());
  return *user;
}

Result<NewSession> IdentityService::login(const std::string& email, const std::string& password,
                                          const std::string& remote_address, Throttled* throttled) {
  const User user = TRY(check_credentials(email, password, remote_address, throttled));
  store::Transaction tx = TRY(database_.begin_unscoped());
  NewSession session = TRY(open_session(tx, user));
  TRY(tx.commit());
  return session;
}

Status IdentityService::confirm_password(const User& user, const std::string& password,
                                         const std::string& remote_address) {
  const User checked = TRY(check_credentials(user.email, password, remote_address, nullptr));
  if (checked.id != user.id) return wrong_credentials();
  return ok_status();
}

Status IdentityService::commit_access_change(store::Transaction& tx) {
  TRY(tx.commit());
  access_generation_.fetch_add(1, std::memory_order_release);
  return ok_status();
}

Status IdentityService::delete_user(const User& user) {
  // Sessions, tokens, device logins, memberships and the user's data keys go with the
  // row (ON DELETE CASCADE).
  store::Transaction tx = TRY(database_.begin_unscoped());
  TRY(tx.execute("DELETE FROM users WHERE id = ?", {user.id}));
  return commit_access_change(tx);
}

Status IdentityService::logout(const Caller& caller) {
  store::Transaction tx = TRY(database_.begin_unscoped());
  if (caller.via == Caller::Via::kSession) {
    TRY(tx.execute("DELETE FROM sessions WHERE digest = ?", {caller.credential_digest}));
  } else {
    TRY(tx.execute("UPDATE access_tokens SET revoked_at = ? WHERE digest = ?",
                   {now(), caller.credential_digest}));
  }
  return commit_access_change(tx);
}

Result<Caller> IdentityService::authenticate_token(const std::string& token, TokenUse use) {
  return authenticate_token_digest(TRY(token_digest_of(token)), use);
}

Result<std::string> IdentityService::token_digest_of(const std::string& token) {
  if (!crypto::is_token_shaped(token, crypto::kPersonalAccessTokenPrefix)) {
    return make_error(ErrorKind::kAuth, "the access token is not valid");
  }
  return crypto::token_digest(token);
}

Result<Caller> IdentityService::authenticate_token_digest(const std::string& digest, TokenUse use) {
  // Looked up in a read transaction: with SQLite a write transaction waits for the one
  // writer, which may be in the middle of a batch of usage rows, and the proxy
  // authenticates on its I/O thread, where that wait would stall every request.
  store::Transaction tx = TRY(database_.begin_unscoped(store::Access::kRead));
  store::Rows rows = TRY(
      tx.query("SELECT u.id, u.email, u.name, t.last_used_at FROM access_tokens t JOIN users u ON "
               "u.id = t.user_id WHERE t.digest = ? AND t.revoked_at IS NULL",
               {digest}));
  TRY(tx.commit());
  if (rows.empty()) return make_error(ErrorKind::kAuth, "the access token is not valid");
  Caller caller{TRY(user_from(rows[0])), Caller::Via::kToken, digest, std::nullopt};
  // last_used_at to the minute: one write per token per minute, not per request.
  const std::optional<int64_t> last_used = TRY(rows[0].optional_integer("last_used_at"));
  const int64_t used_at = now();
  if (!last_used || used_at - *last_used >= 60) {
    if (use == TokenUse::kLeaveToCaller) {
      caller.unrecorded_use_at = used_at;
    } else {
      TRY(record_token_use(digest, used_at));
    }
  }
  return caller;
}

Status IdentityService::record_token_use(const std::string& digest, int64_t at) {
  store::Transaction write = TRY(database_.begin_unscoped());
  TRY(write.execute("UPDATE access_tokens SET last_used_at = ? WHERE digest = ?", {at, digest}));
  return write.commit();
}

Result<Caller> IdentityService::authenticate_session(const std::string& cookie_value) {
  if (!crypto::is_token_shaped(cookie_value, kSessionPrefix)) {
    return make_error(ErrorKind::kAuth, "not signed in");
  }
  const std::string digest = crypto::token_digest(cookie_value);
  store::Transaction tx = TRY(database_.begin_unscoped(store::Access::kRead));
  store::Rows rows =
      TRY(tx.query("SELECT u.id, u.email, u.name FROM sessions s JOIN users u ON u.id = s.user_id "
                   "WHERE s.digest = ? AND s.expires_at > ?",
                   {digest, now()}));
  if (rows.empty()) return make_error(ErrorKind::kAuth, "the session has ended; sign in again");
  return Caller{TRY(user_from(rows[0])), Caller::Via::kSession, digest, std::nullopt};
}

Result<NewToken> IdentityService::insert_token(store::Transaction& tx, const User& user,
                                               const std::string& name) {
  NewToken token{new_id(), name, crypto::generate_token(crypto::kPersonalAccessTokenPrefix), now()};
  TRY(tx.execute(
      "INSERT INTO access_tokens (id, user_id, name, digest, created_at) VALUES (?, ?, ?, ?, ?)",
      {token.id, user.id, token.name, crypto::token_digest(token.token), token.created_at}));
  return token;
}

Result<NewToken> IdentityService::create_token(const User& user, const std::string& name) {
  const std::string trimmed(trim(name));
  if (trimmed.empty() || utf8_length(trimmed) > kMaxTokenNameChars || has_control(trimmed)) {
    return make_error(ErrorKind::kInvalidArgument,
                      "a token needs a name of 1 to 100 characters, e.g. \"laptop\"");
  }
  store::Transaction tx = TRY(database_.begin_unscoped());
  NewToken token = TRY(insert_token(tx, user, trimmed));
  TRY(tx.commit());
  return token;
}

Result<std::vector<TokenInfo>> IdentityService::list_tokens(const User& user) {
  store::Transaction tx = TRY(database_.begin_unscoped(store::Access::kRead));
  store::Rows rows = TRY(
      tx.query("SELECT id, name, created_at, last_used_at FROM access_tokens WHERE user_id = ? AND "
               "revoked_at IS NULL ORDER BY created_at, id",
               {user.id}));
  std::vector<TokenInfo> tokens;
  for (const store::Row& row : rows) {
    tokens.push_back(TokenInfo{TRY(row.text("id")), TRY(row.text("name")),
                               TRY(row.integer("created_at")),
                               TRY(row.optional_integer("last_used_at"))});
  }
  return tokens;
}

Status IdentityService::revoke_token(const User& user, const std::string& token_id) {
  store::Transaction tx = TRY(database_.begin_unscoped());
  const int64_t changed = TRY(tx.execute(
      "UPDATE access_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
      {now(), token_id, user.id}));
  if (changed == 0) return make_error(ErrorKind::kNotFound, "no such token");
  return commit_access_change(tx);
}

Result<nlohmann::json> IdentityService::me(const User& user) {
  // The user's memberships in the user's scope, then each organization's name in that
  // organization's scope: each table is read under its own tenant.
  std::vector<std::pair<std::string, std::string>> memberships;
  {
    store::Transaction tx =
        TRY(database_.begin(store::Scope::for_user(user.id), store::Access::kRead));
    store::Rows rows =
        TRY(tx.query("SELECT org_id, role FROM memberships WHERE user_id = :user ORDER BY org_id"));
    for (const store::Row& row : rows) {
      memberships.emplace_back(TRY(row.text("org_id")), TRY(row.text("role")));
    }
  }
  nlohmann::json organizations = nlohmann::json::array();
  for (const auto& [org_id, role] : memberships) {
    store::Transaction tx =
        TRY(database_.begin(store::Scope::for_org(org_id, user.id), store::Access::kRead));
    store::Rows rows = TRY(tx.query("SELECT name FROM organizations WHERE id = :org"));
    if (rows.empty()) continue;
    organizations.push_back({{"id", org_id}, {"name", TRY(rows[0].text("name"))}, {"role", role}});
  }
  return nlohmann::json{{"user", user.to_json()}, {"organizations", std::move(organizations)}};
}

Result<DeviceStart> IdentityService::start_device_login() {
  DeviceStart start{crypto::generate_token(kDeviceCodePrefix), new_user_code(),
                    options_.device_poll_seconds, options_.device_code_seconds};
  store::Transaction tx = TRY(database_.begin_unscoped());
  TRY(tx.execute("DELETE FROM device_authorizations WHERE expires_at < ?", {now() - 3600}));
  TRY(tx.execute(
      "INSERT INTO device_authorizations (device_code_digest, user_code, status, created_at, "
      "expires_at, interval_seconds) VALUES (?, ?, 'pending', ?, ?, ?)",
      {crypto::token_digest(start.device_code), start.user_code, now(), now() + start.expires_in,
       start.interval}));
  TRY(tx.commit());
  return start;
}

Status IdentityService::approve_device_login(const User& user, const std::string& user_code) {
  const std::string code = normalize_user_code(user_code);
  store::Transaction tx = TRY(database_.begin_unscoped());
  const int64_t changed = TRY(tx.execute(
      "UPDATE device_authorizations SET status = 'approved', user_id = ? WHERE user_code = ? AND "
      "status = 'pending' AND expires_at > ?",
      {user.id, code, now()}));
  if (changed == 0) {
    return make_error(ErrorKind::kNotFound,
                      "no pending sign-in has that code (it may have expired; run `joey login` "
                      "again)");
  }
  return tx.commit();
}

Result<DevicePoll> IdentityService::poll_device_login(const std::string& device_code) {
  if (!crypto::is_token_shaped(device_code, kDeviceCodePrefix))
    return DevicePoll{{}, "invalid_grant"};
  const std::string digest = crypto::token_digest(device_code);
  store::Transaction tx = TRY(database_.begin_unscoped());
  store::Rows rows = TRY(tx.query(
      "SELECT d.status, d.expires_at, d.interval_seconds, d.last_poll_at, u.id, u.email, u.name "
      "FROM device_authorizations d LEFT JOIN users u ON u.id = d.user_id "
      "WHERE d.device_code_digest = ?",
      {digest}));
  if (rows.empty()) return DevicePoll{{}, "invalid_grant"};
  const store::Row& row = rows[0];
  const std::string status = TRY(row.text("status"));
  const int64_t interval = TRY(row.integer("interval_seconds"));
  const std::optional<int64_t> last_poll = TRY(row.optional_integer("last_poll_at"));
  if (status == "consumed") return DevicePoll{{}, "invalid_grant"};
  if (status == "denied") return DevicePoll{{}, "access_denied"};
  if (TRY(row.integer("expires_at")) <= now()) return DevicePoll{{}, "expired_token"};
  if (status == "pending") {
    // Polling faster than the interval asks for: slow down, and the interval grows.
    const bool too_fast = last_poll && now() - *last_poll < interval;
    TRY(
        tx.execute("UPDATE device_authorizations SET last_poll_at = ?, interval_seconds = ? WHERE "
                   "device_code_digest = ?",
                   {now(), too_fast ? interval + 5 : interval, digest}));
    TRY(tx.commit());
    return DevicePoll{{}, too_fast ? "slow_down" : "authorization_pending"};
  }
  User user = TRY(user_from(row));
  NewToken token = TRY(insert_token(tx, user, "joey CLI (device login)"));
  TRY(tx.execute(
      "UPDATE device_authorizations SET status = 'consumed' WHERE device_code_digest = ?",
      {digest}));
  TRY(tx.commit());
  return DevicePoll{token, ""};
}

}  // namespace joey::cloud
