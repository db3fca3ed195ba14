#include "cloud/org_service.h"

#include <chrono>
#include <utility>

#include "base/ids.h"
#include "base/json.h"
#include "base/strings.h"
#include "crypto/tokens.h"

namespace joey::cloud {
namespace {

constexpr std::string_view kInvitePrefix = "joey_inv_";
constexpr size_t kOrgIdChars = 32;
constexpr size_t kMaxOrgNameChars = 100;
constexpr size_t kMinApiKeyBytes = 8;
constexpr size_t kMaxApiKeyBytes = 4096;
constexpr char kSettingsTable[] = "org_settings";
constexpr char kProviderKeysTable[] = "org_provider_keys";
constexpr char kSealedColumn[] = "sealed";
constexpr size_t kMaxListItems = 1000;
constexpr size_t kMaxRulesBytes = 256 * 1024;

Error org_not_found() { return make_error(ErrorKind::kNotFound, "organization not found"); }

bool is_org_id(std::string_view id) {
  if (id.size() != kOrgIdChars) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

store::Scope scope_for(const std::string& org_id, const User& user) {
  return store::Scope::for_org(org_id, user.id);
}

size_t utf8_chars(std::string_view text) {
  size_t count = 0;
  for (char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return count;
}

Result<std::string> checked_org_name(const std::string& name) {
  const std::string trimmed(trim(name));
  if (trimmed.empty() || utf8_chars(trimmed) > kMaxOrgNameChars) {
    return make_error(ErrorKind::kInvalidArgument, "an organization name has 1 to 100 characters");
  }
  for (char c : trimmed) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return make_error(ErrorKind::kInvalidArgument,
                        "an organization name cannot hold control characters");
    }
  }
  return trimmed;
}

Status check_api_key(const std::string& api_key) {
  if (api_key.size() < kMinApiKeyBytes || api_key.size() > kMaxApiKeyBytes) {
    return make_error(ErrorKind::kInvalidArgument, "an API key has 8 to 4096 characters");
  }
  for (char c : api_key) {
    if (c <= 0x20 || c >= 0x7f) {
      return make_error(ErrorKind::kInvalidArgument,
                        "an API key holds only printable ASCII characters without spaces");
    }
  }
  return ok_status();
}

Status check_provider_name(const std::string& provider) {
  bool ok = !provider.empty() && provider.size() <= 64;
  for (char c : provider) {
    ok = ok &&
         ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.');
  }
  if (!ok) {
    return make_error(ErrorKind::kInvalidArgument,
                      "a provider name has 1 to 64 characters of a-z, 0-9, '-', '_' and '.'");
  }
  return ok_status();
}

Error bad_setting(const std::string& path, const std::string& expected) {
  return make_error(ErrorKind::kInvalidArgument, "settings: \"" + path + "\" must be " + expected);
}

// An integer in [low, high]; nlohmann keeps large positive numbers unsigned.
std::optional<int64_t> bounded_integer(const nlohmann::json& value, int64_t low, int64_t high) {
  int64_t number = 0;
  if (value.is_number_unsigned()) {
    if (value.get<uint64_t>() > static_cast<uint64_t>(high)) return std::nullopt;
    number = static_cast<int64_t>(value.get<uint64_t>());
  } else if (value.is_number_integer()) {
    number = value.get<int64_t>();
  } else {
    return std::nullopt;
  }
  if (number < low || number > high) return std::nullopt;
  return number;
}

Result<nlohmann::json> merged_cloud(const nlohmann::json& current, const nlohmann::json& patch) {
  if (!patch.is_object()) return bad_setting("cloud", "an object");
  nlohmann::json cloud = current.is_object() ? current : nlohmann::json::object();
  for (const auto& [key, value] : patch.items()) {
    const std::string path = "cloud." + key;
    if (key == "record_task_messages" || key == "enable_task_sharing" ||
        key == "allow_public_sharing" || key == "allow_members_view_all") {
      if (!value.is_boolean()) return bad_setting(path, "true or false");
    } else if (key == "share_expiration_days") {
      if (!bounded_integer(value, 1, 3650)) return bad_setting(path, "an integer from 1 to 3650");
    } else if (key == "retention_days") {
      if (!value.is_null() && !bounded_integer(value, 1, 36500)) {
        return bad_setting(path, "null or an integer from 1 to 36500");
      }
    } else {
      return bad_setting(path, "one of the known settings (unknown key)");
    }
    cloud[key] = value;
  }
  return cloud;
}

// The `proxy` section: the model proxy's limits (cloud/proxy_service.h). null: no limit.
Result<nlohmann::json> merged_proxy(const nlohmann::json& current, const nlohmann::json& patch) {
  if (!patch.is_object()) return bad_setting("proxy", "an object");
  nlohmann::json proxy = current.is_object() ? current : nlohmann::json::object();
  for (const auto& [key, value] : patch.items()) {
    const std::string path = "proxy." + key;
    if (key == "monthly_budget_usd") {
      if (!value.is_null() &&
          (!value.is_number() || value.get<double>() <= 0 || value.get<double>() > 1e9)) {
        return bad_setting(path, "null or a number of US dollars above 0 (at most 1000000000)");
      }
    } else if (key == "user_requests_per_minute") {
      if (!value.is_null() && !bounded_integer(value, 1, 1'000'000)) {
        return bad_setting(path, "null or an integer from 1 to 1000000");
      }
    } else if (key == "user_tokens_per_minute") {
      if (!value.is_null() && !bounded_integer(value, 1, 1'000'000'000)) {
        return bad_setting(path, "null or an integer from 1 to 1000000000");
      }
    } else {
      return bad_setting(path, "one of the known settings (unknown key)");
    }
    proxy[key] = value;
  }
  return proxy;
}

Result<nlohmann::json> checked_provider_rule(const std::string& name, const nlohmann::json& rule) {
  const std::string path = "allow_list.providers." + name;
  if (!check_provider_name(name).ok()) return bad_setting(path, "a provider name (a-z, 0-9, -_.)");
  if (!rule.is_object()) return bad_setting(path, "an object {allow_all, models}");
  nlohmann::json checked = {{"allow_all", false}, {"models", nlohmann::json::array()}};
  for (const auto& [key, value] : rule.items()) {
    if (key == "allow_all") {
      if (!value.is_boolean()) return bad_setting(path + ".allow_all", "true or false");
    } else if (key == "models") {
      if (!value.is_array() || value.size() > kMaxListItems) {
        return bad_setting(path + ".models", "an array of at most 1000 model names");
      }
      for (const nlohmann::json& model : value) {
        if (!model.is_string() || model.get_ref<const std::string&>().empty() ||
            model.get_ref<const std::string&>().size() > 200) {
          return bad_setting(path + ".models", "an array of model names (1 to 200 characters)");
        }
      }
    } else {
      return bad_setting(path + "." + key, "absent (unknown key)");
    }
    checked[key] = value;
  }
  return checked;
}

Result<nlohmann::json> merged_allow_list(const nlohmann::json& current,
                                         const nlohmann::json& patch) {
  if (!patch.is_object()) return bad_setting("allow_list", "an object {allow_all, providers}");
  nlohmann::json allow_list = current.is_object() ? current : nlohmann::json::object();
  for (const auto& [key, value] : patch.items()) {
    if (key == "allow_all") {
      if (!value.is_boolean()) return bad_setting("allow_list.allow_all", "true or false");
      allow_list[key] = value;
    } else if (key == "providers") {
      if (!value.is_object() || value.size() > kMaxListItems) {
        return bad_setting("allow_list.providers", "an object of at most 1000 providers");
      }
      nlohmann::json providers = nlohmann::json::object();
      for (const auto& [name, rule] : value.items()) {
        providers[name] = TRY(checked_provider_rule(name, rule));
      }
      allow_list[key] = std::move(providers);
    } else {
      return bad_setting("allow_list." + key, "absent (unknown key)");
    }
  }
  return allow_list;
}

Status check_list(const std::string& path, const nlohmann::json& value, bool strings) {
  if (!value.is_array() || value.size() > kMaxListItems) {
    return bad_setting(
        path, std::string("an array of at most 1000 ") + (strings ? "strings" : "objects"));
  }
  for (const nlohmann::json& item : value) {
    if (strings ? !item.is_string() : !item.is_object()) {
      return bad_setting(path, std::string("an array of ") + (strings ? "strings" : "objects"));
    }
  }
  return ok_status();
}

std::string role_needed_message(Role role) {
  return std::string("this needs the ") + role_name(role) + " role in the organization";
}

}  // namespace

const char* role_name(Role role) {
  switch (role) {
    case Role::kOwner:
      return "owner";
    case Role::kAdmin:
      return "admin";
    case Role::kMember:
      return "member";
  }
  return "member";
}

Result<Role> parse_role(std::string_view name) {
  if (name == "owner") return Role::kOwner;
  if (name == "admin") return Role::kAdmin;
  if (name == "member") return Role::kMember;
  return make_error(ErrorKind::kInvalidArgument, "a role is \"owner\", \"admin\" or \"member\"");
}

OrgService::OrgService(store::Database& database, KeyRing& keys, OrgServiceOptions options)
    : database_(database), keys_(keys), options_(std::move(options)) {}

int64_t OrgService::now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<Role> OrgService::role_of(store::Transaction& tx, const std::string& user_id) {
  store::Rows rows =
      TRY(tx.query("SELECT role FROM memberships WHERE org_id = :org AND user_id = ?", {user_id}));
  if (rows.empty()) return make_error(ErrorKind::kNotFound, "no such member");
  return parse_role(TRY(rows[0].text("role")));
}

Result<Role> OrgService::require_role(store::Transaction& tx, Role needed) {
  Result<Role> role = role_of(tx, tx.scope().user_id);
  if (!role.ok()) {
    if (role.error().kind == ErrorKind::kNotFound) return org_not_found();
    return role.error();
  }
  if (static_cast<int>(*role) < static_cast<int>(needed)) {
    return make_error(ErrorKind::kPermissionDenied, role_needed_message(needed));
  }
  return *role;
}

Result<int64_t> OrgService::owner_count(store::Transaction& tx) {
  // Locks the organization's row first, so that concurrent role changes and removals in
  // one organization run one after another and cannot demote the last two owners at once.
  TRY(tx.execute("UPDATE organizations SET name = name WHERE id = :org"));
  store::Rows rows = TRY(tx.query(
      "SELECT COUNT(*) AS owners FROM memberships WHERE org_id = :org AND role = 'owner'"));
  return rows[0].integer("owners");
}

Status OrgService::commit_access_change(store::Transaction& tx) {
  TRY(tx.commit());
  access_generation_.fetch_add(1, std::memory_order_release);
  return ok_status();
}

Status OrgService::audit(store::Transaction& tx, const User& actor, const std::string& action,
                         const std::string& target) {
  return record_audit(tx, actor.id, action, target);
}

Status OrgService::record_audit(store::Transaction& tx, const std::string& actor,
                                const std::string& action, const std::string& target) {
  TRY(
      tx.execute("INSERT INTO audit_log (org_id, actor_user_id, action, target, at) "
                 "VALUES (:org, ?, ?, ?, ?)",
                 {actor, action, target, now()}));
  return ok_status();
}

Result<OrgInfo> OrgService::create_org(const User& creator, const std::string& name) {
  const std::string checked = TRY(checked_org_name(name));
  const std::string org_id = random_hex(kOrgIdChars / 2);
  store::Transaction tx = TRY(database_.begin(scope_for(org_id, creator)));
  const int64_t at = now();
  TRY(tx.execute("INSERT INTO organizations (id, name, created_at) VALUES (:org, ?, ?)",
                 {checked, at}));
  TRY(
      tx.execute("INSERT INTO memberships (org_id, user_id, role, created_at) "
                 "VALUES (:org, :user, 'owner', ?)",
                 {at}));
  const std::string sealed = TRY(keys_.seal(tx, Tenant::org(org_id), kSettingsTable, kSealedColumn,
                                            org_id, default_org_settings().dump()));
  TRY(tx.execute(
      "INSERT INTO org_settings (org_id, version, sealed, updated_at) VALUES (:org, 1, ?, ?)",
      {store::Blob{sealed}, at}));
  TRY(audit(tx, creator, "org.created", ""));
  TRY(commit_access_change(tx));
  return OrgInfo{org_id, checked, Role::kOwner};
}

Result<OrgInfo> OrgService::get_org(const User& caller, const std::string& org_id) {
  if (!is_org_id(org_id)) return org_not_found();
  store::Transaction tx = TRY(database_.begin(scope_for(org_id, caller), store::Access::kRead));
  const Role role = TRY(require_role(tx, Role::kMember));
  store::Rows rows = TRY(tx.query("SELECT name FROM organizations WHERE id = :org"));
  if (rows.empty()) return org_not_found();
  OrgInfo info{org_id, TRY(rows[0].text("name")), role};
  TRY(tx.commit());
  return info;
}

Result<NewInvite> OrgService::create_invite(const User& caller, const std::string& org_id,
                                            const std::string& email, const std::string& role) {
  if (!is_org_id(org_id)) return org_not_found();
  store::Transaction tx = TRY(database_.begin(scope_for(org_id, caller)));
  const Role caller_role = TRY(require_role(tx, Role::kAdmin));
  const Role invited_role = TRY(parse_role(role));
  if (invited_role == Role::kOwner && caller_role != Role::kOwner) {
    return make_error(ErrorKind::kPermissionDenied, "only an owner can invite an owner");
  }
  const std::string normalized = TRY(normalize_email(email));
  NewInvite invite{crypto::generate_token(kInvitePrefix), normalized, invited_role,
                   now() + options_.invite_seconds};
  TRY(tx.execute(
      "INSERT INTO invites (digest, org_id, email, role, invited_by, created_at, expires_at) "
      "VALUES (?, :org, ?, ?, ?, ?, ?)",
      {crypto::token_digest(invite.token), normalized, role_name(invited_role), caller.id, now(),
       invite.expires_at}));
  TRY(audit(tx, caller, "invite.created", normalized));
  TRY(tx.commit());
  return invite;
}

Result<OrgInfo> OrgService::accept_invite(const User& caller, const std::string& token) {
  const Error unknown = make_error(ErrorKind::kNotFound, "invite not found");
  if (!crypto::is_token_shaped(token, kInvitePrefix)) return unknown;
  const std::string digest = crypto::token_digest(token);
  std::string org_id;
  Role role = Role::kMember;
  {
    store::Transaction lookup = TRY(database_.begin_unscoped(store::Access::kRead));
    store::Rows rows = TRY(lookup.query(
        "SELECT org_id, email, role, expires_at, accepted_at FROM invites WHERE digest = ?",
        {digest}));
    if (rows.empty()) return unknown;
    const store::Row& row = rows[0];
    if (TRY(row.integer("expires_at")) <= now()) {
      return make_error(ErrorKind::kNotFound, "this invite expired; ask an admin for a new one");
    }
    if (ascii_lower(TRY(row.text("email"))) != ascii_lower(caller.email)) {
      return make_error(ErrorKind::kPermissionDenied,
                        "this invite is for another email address; sign in with the address "
                        "it was sent to");
    }
    if (TRY(row.optional_integer("accepted_at"))) {
      return make_error(ErrorKind::kAlreadyExists, "this invite was already used");
    }
    org_id = TRY(row.text("org_id"));
    role = TRY(parse_role(TRY(row.text("role"))));
    TRY(lookup.commit());
  }
  store::Transaction tx = TRY(database_.begin(scope_for(org_id, caller)));
  const int64_t at = now();
  const int64_t used =
      TRY(tx.execute("UPDATE invites SET accepted_at = ? WHERE digest = ? AND org_id = :org AND "
                     "accepted_at IS NULL",
                     {at, digest}));
  if (used != 1) return make_error(ErrorKind::kAlreadyExists, "this invite was already used");
  Result<Role> existing = role_of(tx, caller.id);
  if (existing.ok()) {
    return make_error(ErrorKind::kAlreadyExists, "you are already a member of this organization");
  }
  if (existing.error().kind != ErrorKind::kNotFound) return existing.error();
  TRY(tx.execute(
      "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES (:org, :user, ?, ?)",
      {role_name(role), at}));
  TRY(audit(tx, caller, "invite.accepted", caller.id));
  store::Rows rows = TRY(tx.query("SELECT name FROM organizations WHERE id = :org"));
  if (rows.empty()) return unknown;
  OrgInfo info{org_id, TRY(rows[0].text("name")), role};
  TRY(commit_access_change(tx));
  return info;
}

Result<std::vector<Member>> OrgService::list_members(const User& caller,
                                                     const std::string& org_id) {
  if (!is_org_id(org_id)) return org_not_found();
  std::vector<Member> members;
  {
    store::Transaction tx = TRY(database_.begin(scope_for(org_id, caller), store::Access::kRead));
    TRY(require_role(tx, Role::kMember));
    store::Rows rows = TRY(tx.query(
        "SELECT user_id, role FROM memberships WHERE org_id = :org ORDER BY created_at, user_id"));
    for (const store::Row& row : rows) {
      members.push_back(
          Member{TRY(row.text("user_id")), "", "", TRY(parse_role(TRY(row.text("role"))))});
    }
    TRY(tx.commit());
  }
  // Names and emails live in users, an identity table: looked up by the ids the
  // organization's own memberships gave.
  store::Transaction users = TRY(database_.begin_unscoped(store::Access::kRead));
  std::vector<Member> found;
  for (Member& member : members) {
    store::Rows rows =
        TRY(users.query("SELECT email, name FROM users WHERE id = ?", {member.user_id}));
    if (rows.empty()) continue;  // deleted meanwhile
    member.email = TRY(rows[0].text("email"));
    member.name = TRY(rows[0].text("name"));
    found.push_back(std::move(member));
  }
  TRY(users.commit());
  return found;
}

Status OrgService::change_role(const User& caller, const std::string& org_id,
                               const std::string& user_id, const std::string& role) {
  if (!is_org_id(org_id)) return org_not_found();
  store::Transaction tx = TRY(database_.begin(scope_for(org_id, caller)));
  const Role caller_role = TRY(require_role(tx, Role::kAdmin));
  const Role new_role = TRY(parse_role(role));
  const int64_t owners = TRY(owner_count(tx));
  const Role current = TRY(role_of(tx, user_id));
  if ((current == Role::kOwner || new_role == Role::kOwner) && caller_role != Role::kOwner) {
    return make_error(ErrorKind::kPermissionDenied, "only an owner can make or unmake owners");
  }
  if (current == new_role) return tx.commit();
  if (current == Role::kOwner && owners <= 1) {
    return make_error(ErrorKind::kAlreadyExists,
                      "the last owner cannot be demoted; make another member an owner first");
  }
  TRY(tx.execute("UPDATE memberships SET role = ? WHERE org_id = :org AND user_id = ?",
                 {role_name(new_role), user_id}));
  TRY(audit(tx, caller, "member.role_changed", user_id));
  return tx.commit();
}

Status OrgService::remove_member(const User& caller, const std::string& org_id,
                                 const std::string& user_id) {
  if (!is_org_id(org_id)) return org_not_found();
  store::Transaction tx = TRY(database_.begin(scope_for(org_id, caller)));
  const bool self = user_id == caller.id;
  const Role caller_role = TRY(require_role(tx, self ? Role::kMember : Role::kAdmin));
  const int64_t owners = TRY(owner_count(tx));
  const Role current = TRY(role_of(tx, user_id));
  if (current == Role::kOwner && !self && caller_role != Role::kOwner) {
    return make_error(ErrorKind::kPermissionDenied, "only an owner can remove an owner");
  }
  if (current == Role::kOwner && owners <= 1) {
    return make_error(ErrorKind::kAlreadyExists,
                      "the last owner can be neither removed nor leave; make another member an "
                      "owner first");
  }
  TRY(tx.execute("DELETE FROM memberships WHERE org_id = :org AND user_id = ?", {user_id}));
  TRY(audit(tx, caller, self ? "member.left" : "member.removed", user_id));
  return commit_access_change(tx);
}

Result<nlohmann::json> OrgService::read_settings(store::Transaction& tx, const std::string& org_id,
                                                 int64_t* version) {
  store::Rows rows = TRY(tx.query("SELECT version, sealed FROM org_settings WHERE org_id = :org"));
  if (rows.empty()) {
    return make_error(ErrorKind::kInternal, "the organization's settings row is missing");
  }
  *version = TRY(rows[0].integer("version"));
  const std::string plaintext = TRY(keys_.open(tx, Tenant::org(org_id), kSettingsTable,
                                               kSealedColumn, org_id, TRY(rows[0].blob("sealed"))));
  nlohmann::json settings = parse_json(plaintext);
  if (!settings.is_object()) {
    return make_error(ErrorKind::kInternal, "the organization's settings are not a JSON object");
  }
  return settings;
}

Result<nlohmann::json> OrgService::get_settings(const User& caller, const std::string& org_id) {
  if (!is_org_id(org_id)) return org_not_found();
  store::Transaction tx = TRY(database_.begin(scope_for(org_id, caller), store::Access::kRead));
  TRY(require_role(tx, Role::kMember));
  int64_t version = 0;
  nlohmann::json settings = TRY(read_settings(tx, org_id, &version));
  TRY(tx.commit());
  settings["version"] = version;
  return settings;
}

Result<nlohmann::json> OrgService::update_settings(const User& caller, const std::string& org_id,
                                                   const nlohmann::json& patch) {
  if (!is_org_id(org_id)) return org_not_found();
  store::Transaction tx = TRY(database_.begin(scope_for(org_id, caller)));
  TRY(require_role(tx, Role::kAdmin));
  const std::optional<int64_t> expected = integer_field(patch, "version");
  if (!expected) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the field \"version\" (an integer: the version you read) is required");
  }
  nlohmann::json sections = patch;
  sections.erase("version");
  int64_t version = 0;
  const nlohmann::json current = TRY(read_settings(tx, org_id, &version));
  nlohmann::json merged = TRY(merge_org_settings(current, sections));
  const Error stale = make_error(ErrorKind::kAlreadyExists,
                                 "the settings changed since version " + std::to_string(*expected) +
                                     " was read (now at version " + std::to_string(version) +
                                     "); read them again and reapply your change");
  if (*expected != version) return stale;
  const std::string sealed = TRY(
      keys_.seal(tx, Tenant::org(org_id), kSettingsTable, kSealedColumn, org_id, merged.dump()));
  const int64_t updated =
      TRY(tx.execute("UPDATE org_settings SET version = ?, sealed = ?, updated_at = ? "
                     "WHERE org_id = :org AND version = ?",
                     {version + 1, store::Blob{sealed}, now(), version}));
  if (updated != 1) return stale;
  std::string changed;
  for (const auto& [section, value] : sections.items()) {
    changed += (changed.empty() ? "" : ",") + section;
  }
  TRY(audit(tx, caller, "settings.changed", changed));
  TRY(commit_access_change(tx));
  merged["version"] = version + 1;
  return merged;
}

Result<ProviderKeyInfo> OrgService::set_provider_key(const User& caller, const std::string& org_id,
                                                     const std::string& provider,
                                                     const std::string& api_key) {
  if (!is_org_id(org_id)) return org_not_found();
  store::Transaction tx = TRY(database_.begin(scope_for(org_id, caller)));
  TRY(require_role(tx, Role::kAdmin));
  TRY(check_provider_name(provider));
  TRY(check_api_key(api_key));
  const std::string sealed = TRY(
      keys_.seal(tx, Tenant::org(org_id), kProviderKeysTable, kSealedColumn, provider, api_key));
  ProviderKeyInfo info{provider, api_key.substr(api_key.size() - 4), now()};
  TRY(tx.execute("DELETE FROM org_provider_keys WHERE org_id = :org AND provider = ?", {provider}));
  TRY(
      tx.execute("INSERT INTO org_provider_keys (org_id, provider, sealed, last4, updated_at) "
                 "VALUES (:org, ?, ?, ?, ?)",
                 {provider, store::Blob{sealed}, info.last4, info.updated_at}));
  TRY(audit(tx, caller, "provider_key.set", provider));
  TRY(commit_access_change(tx));
  return info;
}

Result<std::vector<ProviderKeyInfo>> OrgService::list_provider_keys(const User& caller,
                                                                    const std::string& org_id) {
  if (!is_org_id(org_id)) return org_not_found();
  store::Transaction tx = TRY(database_.begin(scope_for(org_id, caller), store::Access::kRead));
  TRY(require_role(tx, Role::kAdmin));
  store::Rows rows =
      TRY(tx.query("SELECT provider, last4, updated_at FROM org_provider_keys WHERE org_id = :org "
                   "ORDER BY provider"));
  std::vector<ProviderKeyInfo> keys;
  for (const store::Row& row : rows) {
    keys.push_back(ProviderKeyInfo{TRY(row.text("provider")), TRY(row.text("last4")),
                                   TRY(row.integer("updated_at"))});
  }
  TRY(tx.commit());
  return keys;
}

Status OrgService::delete_provider_key(const User& caller, const std::string& org_id,
                                       const std::string& provider) {
  if (!is_org_id(org_id)) return org_not_found();
  store::Transaction tx = TRY(database_.begin(scope_for(org_id, caller)));
  TRY(require_role(tx, Role::kAdmin));
  const int64_t deleted = TRY(
      tx.execute("DELETE FROM org_provider_keys WHERE org_id = :org AND provider = ?", {provider}));
  if (deleted == 0) {
    return make_error(ErrorKind::kNotFound, "no API key is set for this provider");
  }
  TRY(audit(tx, caller, "provider_key.removed", provider));
  return commit_access_change(tx);
}

Result<std::optional<std::string>> OrgService::provider_key(const std::string& org_id,
                                                            const std::string& provider) {
  if (!is_org_id(org_id)) return org_not_found();
  store::Transaction tx = TRY(database_.begin(store::Scope::for_org(org_id), store::Access::kRead));
  store::Rows rows = TRY(tx.query(
      "SELECT sealed FROM org_provider_keys WHERE org_id = :org AND provider = ?", {provider}));
  if (rows.empty()) return std::optional<std::string>();
  std::string key = TRY(keys_.open(tx, Tenant::org(org_id), kProviderKeysTable, kSealedColumn,
                                   provider, TRY(rows[0].blob("sealed"))));
  TRY(tx.commit());
  return std::optional<std::string>(std::move(key));
}

Result<std::optional<std::string>> OrgService::active_org_id(const User& user,
                                                             std::string_view requested) {
  if (!requested.empty() && !is_org_id(requested)) return org_not_found();
  store::Transaction tx =
      TRY(database_.begin(store::Scope::for_user(user.id), store::Access::kRead));
  if (!requested.empty()) {
    store::Rows member = TRY(tx.query(
        "SELECT org_id FROM memberships WHERE user_id = :user AND org_id = ?", {requested}));
    TRY(tx.commit());
    if (member.empty()) return org_not_found();
    return std::optional<std::string>(std::string(requested));
  }
  store::Rows oldest =
      TRY(tx.query("SELECT org_id FROM memberships WHERE user_id = :user ORDER BY created_at, "
                   "org_id LIMIT 1"));
  TRY(tx.commit());
  if (oldest.empty()) return std::optional<std::string>();
  return std::optional<std::string>(TRY(oldest[0].text("org_id")));
}

Result<nlohmann::json> OrgService::settings_for_server(const std::string& org_id) {
  if (!is_org_id(org_id)) return org_not_found();
  store::Transaction tx = TRY(database_.begin(store::Scope::for_org(org_id), store::Access::kRead));
  store::Rows exists = TRY(tx.query("SELECT id FROM organizations WHERE id = :org"));
  if (exists.empty()) return org_not_found();
  int64_t version = 0;
  nlohmann::json settings = TRY(read_settings(tx, org_id, &version));
  TRY(tx.commit());
  return settings;
}

Result<std::vector<AuditEntry>> OrgService::audit_log(const User& caller,
                                                      const std::string& org_id) {
  if (!is_org_id(org_id)) return org_not_found();
  store::Transaction tx = TRY(database_.begin(scope_for(org_id, caller), store::Access::kRead));
  TRY(require_role(tx, Role::kAdmin));
  store::Rows rows =
      TRY(tx.query("SELECT actor_user_id, action, target, at FROM audit_log WHERE org_id = :org "
                   "ORDER BY id DESC LIMIT ?",
                   {static_cast<int64_t>(options_.audit_page)}));
  std::vector<AuditEntry> entries;
  for (const store::Row& row : rows) {
    entries.push_back(
        AuditEntry{TRY(row.optional_text("actor_user_id")).value_or(""), TRY(row.text("action")),
                   TRY(row.optional_text("target")).value_or(""), TRY(row.integer("at"))});
  }
  TRY(tx.commit());
  return entries;
}

nlohmann::json default_org_settings() {
  return {{"cloud",
           {{"record_task_messages", true},
            {"enable_task_sharing", true},
            {"allow_public_sharing", false},
            {"share_expiration_days", 30},
            {"allow_members_view_all", false},
            {"retention_days", nullptr}}},
          {"allow_list", {{"allow_all", true}, {"providers", nlohmann::json::object()}}},
          {"proxy",
           {{"monthly_budget_usd", nullptr},
            {"user_requests_per_minute", nullptr},
            {"user_tokens_per_minute", nullptr}}},
          {"rules", ""},
          {"modes", nlohmann::json::array()},
          {"mcps", nlohmann::json::array()},
          {"hidden_mcps", nlohmann::json::array()},
          {"hide_marketplace_mcps", false}};
}

Result<nlohmann::json> merge_org_settings(const nlohmann::json& current,
                                          const nlohmann::json& patch) {
  if (!patch.is_object()) return bad_setting("settings", "an object");
  nlohmann::json merged = default_org_settings();
  if (current.is_object()) {
    for (const auto& [key, value] : current.items()) merged[key] = value;
  }
  for (const auto& [key, value] : patch.items()) {
    if (key == "cloud") {
      merged[key] = TRY(merged_cloud(merged[key], value));
    } else if (key == "allow_list") {
      merged[key] = TRY(merged_allow_list(merged[key], value));
    } else if (key == "proxy") {
      merged[key] = TRY(merged_proxy(merged[key], value));
    } else if (key == "rules") {
      if (!value.is_string() || value.get_ref<const std::string&>().size() > kMaxRulesBytes) {
        return bad_setting(key, "a string of at most 256 KiB");
      }
      merged[key] = value;
    } else if (key == "modes" || key == "mcps") {
      TRY(check_list(key, value, false));
      merged[key] = value;
    } else if (key == "hidden_mcps") {
      TRY(check_list(key, value, true));
      merged[key] = value;
    } else if (key == "hide_marketplace_mcps") {
      if (!value.is_boolean()) return bad_setting(key, "true or false");
      merged[key] = value;
    } else {
      return bad_setting(key,
                         "absent (unknown key; the sections are cloud, allow_list, proxy, rules, "
                         "modes, mcps, hidden_mcps, hide_marketplace_mcps)");
    }
  }
  return merged;
}

}  // namespace joey::cloud
