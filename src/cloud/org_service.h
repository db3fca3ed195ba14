// Organizations of joeyd: membership and roles, invites, settings, provider keys held
// for the organization, and the audit log (docs/openapi.yaml, /api/orgs/*). No HTTP
// here: cloud/org_routes.h maps these calls to routes.
//
// Access: every call names the calling user. A caller who is not a member of the
// organization gets kNotFound ("organization not found") whatever the organization's
// existence, so ids cannot be probed; a member without the role gets kPermissionDenied.
// Roles: owner > admin > member. Admins invite, change roles, remove members, change
// settings, set provider keys and read the audit log; only owners make or unmake owners;
// the last owner can be neither removed nor demoted (kAlreadyExists: 409); a member may
// always leave.
//
// Encryption at rest (P8): the settings document and provider keys are sealed with the
// organization's data key (cloud/key_ring.h): settings under {"org_settings", "sealed",
// org id}, provider keys under {"org_provider_keys", "sealed", provider}. Invite tokens
// are stored only as their SHA-256 digest. The audit log records who did what to whom,
// never a key or settings content.
//
// Thread-safety: every method may be called from any number of threads at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "cloud/identity.h"
#include "cloud/key_ring.h"
#include "store/database.h"

namespace joey::cloud {

enum class Role { kMember = 0, kAdmin = 1, kOwner = 2 };

const char* role_name(Role role);
// "owner", "admin", "member"; kInvalidArgument otherwise.
Result<Role> parse_role(std::string_view name);

struct OrgServiceOptions {
  // Unix seconds now; empty means the system clock. Tests move time forward.
  std::function<int64_t()> clock;
  int64_t invite_seconds = 7 * 24 * 3600;
  size_t audit_page = 200;  // newest entries GET /audit returns
};

struct OrgInfo {
  std::string id;
  std::string name;
  Role role = Role::kMember;  // the caller's
  nlohmann::json to_json() const { return {{"id", id}, {"name", name}, {"role", role_name(role)}}; }
};

struct Member {
  std::string user_id;
  std::string email;
  std::string name;
  Role role = Role::kMember;
};

struct NewInvite {
  std::string token;  // shown once; only its digest is stored
  std::string email;
  Role role = Role::kMember;
  int64_t expires_at = 0;
};

struct AuditEntry {
  std::string actor_user_id;
  std::string action;  // "org.created", "invite.created", "member.role_changed", ...
  std::string target;  // a user id, an email, a provider name, or ""
  int64_t at = 0;
};

struct ProviderKeyInfo {
  std::string provider;
  std::string last4;
  int64_t updated_at = 0;
};

class OrgService {
 public:
  // `database` and `keys` must outlive the service.
  OrgService(store::Database& database, KeyRing& keys, OrgServiceOptions options = {});

  // A new organization with `creator` as owner and default settings.
  Result<OrgInfo> create_org(const User& creator, const std::string& name);
  Result<OrgInfo> get_org(const User& caller, const std::string& org_id);

  // Admins; only an owner may invite an owner. `email` is normalised.
  Result<NewInvite> create_invite(const User& caller, const std::string& org_id,
                                  const std::string& email, const std::string& role);
  // kNotFound for an unknown or expired token; kPermissionDenied when the invite was
  // for another email; kAlreadyExists when it was used or the caller is a member.
  Result<OrgInfo> accept_invite(const User& caller, const std::string& token);

  Result<std::vector<Member>> list_members(const User& caller, const std::string& org_id);
  Status change_role(const User& caller, const std::string& org_id, const std::string& user_id,
                     const std::string& role);
  Status remove_member(const User& caller, const std::string& org_id, const std::string& user_id);

  // {version, cloud, allow_list, proxy, rules, modes, mcps, hidden_mcps,
  // hide_marketplace_mcps}.
  Result<nlohmann::json> get_settings(const User& caller, const std::string& org_id);
  // `patch` is {version, and any top-level sections}; kAlreadyExists when `version` is
  // not the current one; kInvalidArgument for a malformed section. Returns the new
  // document with its new version.
  Result<nlohmann::json> update_settings(const User& caller, const std::string& org_id,
                                         const nlohmann::json& patch);

  Result<ProviderKeyInfo> set_provider_key(const User& caller, const std::string& org_id,
                                           const std::string& provider, const std::string& api_key);
  Result<std::vector<ProviderKeyInfo>> list_provider_keys(const User& caller,
                                                          const std::string& org_id);
  Status delete_provider_key(const User& caller, const std::string& org_id,
                             const std::string& provider);
  // The organization's key for `provider`, for the server's own use (the proxy); never
  // returned by a route. nullopt when none is set.
  Result<std::optional<std::string>> provider_key(const std::string& org_id,
                                                  const std::string& provider);

  // The organization a user acts in (task history, the model proxy): `requested` when the
  // request names one (kNotFound unless the user is a member of it), else their oldest
  // membership; nullopt for a user in no organization.
  Result<std::optional<std::string>> active_org_id(const User& user,
                                                   std::string_view requested = {});

  // The organization's settings document (without "version"), for the server's own use
  // (the retention job, the model proxy); never returned by a route. kNotFound for an
  // unknown id.
  Result<nlohmann::json> settings_for_server(const std::string& org_id);

  // Appends an entry to the audit log of the organization `tx` is scoped to, inside `tx`,
  // so it commits (or rolls back) with the change it records. `actor` is a user id, or
  // "joeyd" for the server's own jobs; `target` must hold no secret or content.
  Status record_audit(store::Transaction& tx, const std::string& actor, const std::string& action,
                      const std::string& target);

  // Newest first, at most options.audit_page entries. Admins.
  Result<std::vector<AuditEntry>> audit_log(const User& caller, const std::string& org_id);

  // Counts committed changes to what the server's own readers above return: memberships
  // (which organization is active), settings and provider keys. Read it before reading
  // those; while it is unchanged, what was read still holds in this process.
  uint64_t access_generation() const { return access_generation_.load(std::memory_order_acquire); }

  int64_t now() const;

 private:
  Result<Role> require_role(store::Transaction& tx, Role needed);
  // Commits a change to memberships, settings or provider keys, then counts it.
  Status commit_access_change(store::Transaction& tx);
  Status audit(store::Transaction& tx, const User& actor, const std::string& action,
               const std::string& target);
  Result<Role> role_of(store::Transaction& tx, const std::string& user_id);
  Result<int64_t> owner_count(store::Transaction& tx);
  Result<nlohmann::json> read_settings(store::Transaction& tx, const std::string& org_id,
                                       int64_t* version);

  store::Database& database_;
  KeyRing& keys_;
  OrgServiceOptions options_;
  std::atomic<uint64_t> access_generation_{0};
};

// The settings a new organization starts with.
nlohmann::json default_org_settings();
// `current` with the top-level sections of `patch` merged in (cloud and allow_list
// member by member, the others replaced). `patch` comes from a client: every type and
// name is checked, an unknown key is kInvalidArgument naming it. `patch` must not hold
// "version" (the caller strips it).
Result<nlohmann::json> merge_org_settings(const nlohmann::json& current,
                                          const nlohmann::json& patch);

}  // namespace joey::cloud
