// Shared links to a task's transcript (issue 7 §4): POST /api/tasks/{id}/share makes a
// link, GET /s/{token} shows the read-only page (cloud/share_page.h), DELETE
// /api/shares/{id} revokes it.
//
// Who may share: the task's owner, or an admin of its organization, and only while the
// organization allows sharing (cloud.enable_task_sharing); "public" links only where it
// allows them (cloud.allow_public_sharing). A task in no organization belongs to its
// owner, who may share it publicly. A link lives for the organization's
// share_expiration_days (30 by default); the token is shown once and stored only as its
// SHA-256 digest. An "organization" link opens only for a signed-in member of the
// task's organization; a "public" link for anyone who has it. An unknown, expired,
// revoked or not-for-you link all answer the same 404 page, so a probe learns nothing.
//
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"
#include "cloud/identity.h"
#include "cloud/org_service.h"
#include "cloud/task_service.h"
#include "store/database.h"

namespace joey::cloud {

inline constexpr const char* kShareTokenPrefix = "joey_share_";

struct NewShare {
  std::string id;
  std::string token;  // shown once
  std::string visibility;
  int64_t expires_at = 0;  // Unix ms
};

class ShareService {
 public:
  // Every reference must outlive the service; time is the task service's clock.
  ShareService(store::Database& database, TaskService& tasks, OrgService& orgs);

  // kInvalidArgument for another visibility; kNotFound for a task outside the caller's
  // view; kPermissionDenied when the caller may not share it or the organization's
  // settings forbid it (the message says which setting).
  Result<NewShare> create(const User& user, const std::string& task_id,
                          const std::string& visibility);
  // The transcript behind `token` for `viewer` (nullopt: not signed in), and when the
  // link expires (Unix ms) in `expires_at` when given. kNotFound for every link that
  // must not open.
  Result<TaskTranscript> open(const std::string& token, const std::optional<User>& viewer,
                              int64_t* expires_at = nullptr);
  // The link's creator, or an admin of its organization; kNotFound otherwise.
  Status revoke(const User& user, const std::string& share_id);

 private:
  store::Database& database_;
  TaskService& tasks_;
  OrgService& orgs_;
};

}  // namespace joey::cloud
