#include "cloud/share_service.h"

#include <utility>

#include "base/ids.h"
#include "crypto/tokens.h"

namespace joey::cloud {
namespace {

constexpr int64_t kDayMs = 24LL * 3600 * 1000;
constexpr int64_t kDefaultShareDays = 30;

Error share_not_found() { return make_error(ErrorKind::kNotFound, "no such shared link"); }

bool cloud_flag(const nlohmann::json& settings, const char* key, bool fallback) {
  const auto cloud = settings.find("cloud");
  if (cloud == settings.end() || !cloud->is_object()) return fallback;
  const auto value = cloud->find(key);
  return value != cloud->end() && value->is_boolean() ? value->get<bool>() : fallback;
}

int64_t share_days(const nlohmann::json& settings) {
  const auto cloud = settings.find("cloud");
  if (cloud == settings.end() || !cloud->is_object()) return kDefaultShareDays;
  const auto days = cloud->find("share_expiration_days");
  return days != cloud->end() && days->is_number_integer() && days->get<int64_t>() > 0
             ? days->get<int64_t>()
             : kDefaultShareDays;
}

bool is_share_id(std::string_view id) {
  if (id.size() != 24) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

ShareService::ShareService(store::Database& database, TaskService& tasks, OrgService& orgs)
    : database_(database), tasks_(tasks), orgs_(orgs) {}

Result<NewShare> ShareService::create(const User& user, const std::string& task_id,
                                      const std::string& visibility) {
  if (visibility != "organization" && visibility != "public") {
    return make_error(ErrorKind::kInvalidArgument, "visibility is \"organization\" or \"public\"");
  }
  const TaskTranscript task = TRY(tasks_.get(user, task_id));
  int64_t days = kDefaultShareDays;
  if (task.task.org_id) {
    const std::string& org_id = *task.task.org_id;
    const OrgInfo org = TRY(orgs_.get_org(user, org_id));
    if (task.task.user_id != user.id && org.role == Role::kMember) {
      return make_error(ErrorKind::kPermissionDenied,
                        "only the task's owner or an organization admin can share it");
    }
    const nlohmann::json settings = TRY(orgs_.get_settings(user, org_id));
    if (!cloud_flag(settings, "enable_task_sharing", true)) {
      return make_error(ErrorKind::kPermissionDenied,
                        "the organization's admins have turned task sharing off "
                        "(cloud.enable_task_sharing)");
    }
    if (visibility == "public" && !cloud_flag(settings, "allow_public_sharing", false)) {
      return make_error(ErrorKind::kPermissionDenied,
                        "the organization allows links for its members only; public links "
                        "need cloud.allow_public_sharing");
    }
    days = share_days(settings);
  } else if (visibility == "organization") {
    return make_error(ErrorKind::kInvalidArgument,
                      "this task belongs to no organization; share it with visibility \"public\"");
  }

  NewShare share{random_hex(12), crypto::generate_token(kShareTokenPrefix), visibility,
                 tasks_.now_ms() + days * kDayMs};
  const bool in_org = task.task.org_id.has_value();
  store::Transaction tx =
      TRY(database_.begin(in_org ? store::Scope::for_org(*task.task.org_id, user.id)
                                 : store::Scope::for_user(user.id)));
  TRY(tx.execute(
      std::string("INSERT INTO shares (id, token_digest, task_id, user_id, org_id, "
                  "visibility, created_at, expires_at) VALUES (?, ?, ?, ") +
          (in_org ? "?, :org" : ":user, NULL") + ", ?, ?, ?)",
      in_org ? std::vector<store::Value>{share.id, crypto::token_digest(share.token), task_id,
                                         user.id, visibility, tasks_.now_ms(), share.expires_at}
             : std::vector<store::Value>{share.id, crypto::token_digest(share.token), task_id,
                                         visibility, tasks_.now_ms(), share.expires_at}));
  TRY(tx.commit());
  return share;
}

Result<TaskTranscript> ShareService::open(const std::string& token,
                                          const std::optional<User>& viewer, int64_t* expires_at) {
  if (!crypto::is_token_shaped(token, kShareTokenPrefix)) return share_not_found();
  std::string task_id, owner, visibility;
  std::optional<std::string> org_id;
  {
    store::Transaction tx = TRY(database_.begin_unscoped(store::Access::kRead));
    store::Rows rows =
        TRY(tx.query("SELECT task_id, user_id, org_id, visibility, expires_at FROM shares "
                     "WHERE token_digest = ?",
                     {crypto::token_digest(token)}));
    if (rows.empty() || TRY(rows[0].integer("expires_at")) <= tasks_.now_ms()) {
      return share_not_found();
    }
    if (expires_at) *expires_at = TRY(rows[0].integer("expires_at"));
    task_id = TRY(rows[0].text("task_id"));
    owner = TRY(rows[0].text("user_id"));
    org_id = TRY(rows[0].optional_text("org_id"));
    visibility = TRY(rows[0].text("visibility"));
  }
  if (visibility != "public") {
    if (!viewer || !org_id || !orgs_.get_org(*viewer, *org_id).ok()) return share_not_found();
  }
  Result<TaskTranscript> transcript =
      tasks_.shared_transcript(org_id ? Tenant::org(*org_id) : Tenant::user(owner), task_id);
  if (!transcript.ok() && transcript.error().kind == ErrorKind::kNotFound) return share_not_found();
  return transcript;
}

Status ShareService::revoke(const User& user, const std::string& share_id) {
  if (!is_share_id(share_id)) return share_not_found();
  std::string creator;
  std::optional<std::string> org_id;
  {
    store::Transaction tx = TRY(database_.begin_unscoped(store::Access::kRead));
    store::Rows rows = TRY(tx.query("SELECT user_id, org_id FROM shares WHERE id = ?", {share_id}));
    if (rows.empty()) return share_not_found();
    creator = TRY(rows[0].text("user_id"));
    org_id = TRY(rows[0].optional_text("org_id"));
  }
  if (creator != user.id) {
    if (!org_id) return share_not_found();
    Result<OrgInfo> org = orgs_.get_org(user, *org_id);
    if (!org.ok() || org->role == Role::kMember) return share_not_found();
  }
  store::Transaction tx = TRY(database_.begin_unscoped());
  TRY(tx.execute("DELETE FROM shares WHERE id = ?", {share_id}));
  return tx.commit();
}

}  // namespace joey::cloud
