// Task history in the Cloud (issue 7; P7, P8, P9, P11): the collection gate, uploads of
// task messages and usage, search over encrypted messages, transcripts and deletion.
//
// The gate (P7). A user's active organization is their oldest membership. Collection is
// on when that organization's settings say cloud.record_task_messages, or — for a user
// in no organization — when the user's own task_sync_enabled is (default true). With
// collection off an upload stores nothing (UploadOutcome::kCollectionDisabled).
//
// Tenancy (P11). A task recorded while the user had an active organization belongs to
// that organization (org_id set) and to the user; otherwise to the user alone. Its
// rows are written and read in that tenant's scope and sealed with that tenant's data
// key (cloud/key_ring.h): message text under {"task_messages", "sealed", "<task>:<seq>"},
// the title under {"tasks", "title", "<task>"} (P8). Mode, model, role and times are
// stored in the clear to filter and sort by.
//
// Search (P8). Every message's terms are blinded with the tenant's search key
// (cloud/blind_index.h) into task_search (FTS5 on SQLite, a GIN-indexed tsvector on
// PostgreSQL); a query is blinded the same way, so searching never decrypts the message
// table. Only the snippets of the page returned are decrypted. All query words must
// occur in one message (whole words, or prefixes of 3+ characters); tasks are ranked by
// their best message (bm25 on SQLite, ts_rank on PostgreSQL), then newest first.
//
// Who sees what. A caller's view holds their own tasks outside any organization, and
// their own tasks in their active organization — every member's there when the caller
// is an admin or owner, or when the organization sets cloud.allow_members_view_all.
// Anything else is "not found", whether or not it exists. Deleting a task is for its
// owner and the organization's admins; purging all of an organization's tasks for its
// admins.
//
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "cloud/identity.h"
#include "cloud/key_ring.h"
#include "cloud/org_service.h"
#include "cloud/task_wire.h"
#include "store/database.h"

namespace joey::cloud {

struct TaskServiceOptions {
  // Unix milliseconds now; empty means the system clock. Tests move time.
  std::function<int64_t()> clock_ms;
  // The URL agents are told to fetch settings from (policy.url); may be empty.
  std::string settings_url;
  // The deepest page a listing reaches (offset + limit).
  int max_listing_depth = 10000;
};

struct TaskSummary {
  std::string id;
  std::string user_id;
  std::optional<std::string> org_id;
  std::string title;
  std::string mode;
  std::string model;
  int64_t created_at = 0;  // ms
  int64_t updated_at = 0;  // ms
  int64_t message_count = 0;
  std::optional<std::string> snippet;
  nlohmann::json to_json() const;
};

struct StoredMessage {
  int64_t seq = 0;
  int64_t ts = 0;
  std::string role;
  std::string content;
};

struct TaskTranscript {
  TaskSummary task;
  std::vector<StoredMessage> messages;
};

struct TaskPage {
  std::vector<TaskSummary> tasks;
  std::optional<std::string> next_cursor;
};

enum class UploadOutcome { kStored, kDuplicate, kCollectionDisabled };

struct UploadResult {
  UploadOutcome outcome = UploadOutcome::kStored;
  int64_t accepted = 0;
};

// The most task ids one delete_tenant_tasks() call takes.
inline constexpr size_t kMaxTasksPerDelete = 500;

// Deletes the tasks `task_ids` (at most kMaxTasksPerDelete) of `tenant` with their
// messages, search terms, batches and shares, inside `tx` — a transaction in the
// tenant's scope. Ids the tenant does not hold are left alone. Returns how many tasks
// were deleted. The one way task rows are deleted by id (a task's deletion, retention).
Result<int64_t> delete_tenant_tasks(store::Transaction& tx, const Tenant& tenant,
                                    const std::vector<std::string>& task_ids);

class TaskService {
 public:
  // `database`, `keys` and `orgs` must outlive the service.
  TaskService(store::Database& database, KeyRing& keys, OrgService& orgs,
              TaskServiceOptions options = {});

  // GET /api/agent/settings: {organization, user, policy, collection} (see
  // docs/openapi.yaml).
  Result<nlohmann::json> agent_settings(const User& user);
  // PATCH /api/me/settings: `patch` holds only known settings (task_sync_enabled: bool);
  // kInvalidArgument otherwise. Returns {"settings": {...}}.
  Result<nlohmann::json> update_user_settings(const User& user, const nlohmann::json& patch);

  // Appends a batch to the caller's task `task_id` (created on its first batch).
  // kAlreadyExists when another user owns a task with that id, or the id was recorded
  // under another tenant.
  Result<UploadResult> append_messages(const User& user, const std::string& task_id,
                                       const MessageBatch& batch);
  // Records one model request's usage; kDuplicate when request_id was seen for the task.
  Result<UploadOutcome> record_usage(const User& user, const std::string& task_id,
                                     const UsageRecord& usage);

  Result<TaskPage> list(const User& user, const TaskQuery& query);
  // kNotFound when the task is not in the caller's view.
  Result<TaskTranscript> get(const User& user, const std::string& task_id);
  // A task's transcript for a shared link (cloud/share_service.h), read in `tenant`'s
  // scope — the organization's, or the owner's (Tenant::user) for a personal task —
  // with no viewer. kNotFound when the tenant has no such task.
  Result<TaskTranscript> shared_transcript(const Tenant& tenant, const std::string& task_id);
  // The owner or an admin of the task's organization; kNotFound otherwise.
  Status remove(const User& user, const std::string& task_id);
  // Every stored task of the organization (admins; 404 for non-members, 403 for
  // members). Returns how many tasks were deleted.
  Result<int64_t> purge_org_tasks(const User& user, const std::string& org_id);

  // The first half of deleting an account (P9), before IdentityService::delete_user:
  // deletes every task, message, search term, share and usage row of the user in every
  // tenant, destroys the user's data keys, and deletes each organization the user is
  // the only member of (with its keys). kAlreadyExists, changing nothing, when the user
  // is the last owner of an organization that has other members.
  Status delete_account_data(const User& user);

  int64_t now_ms() const;
  store::Database& database() const { return database_; }

 private:
  struct ActiveOrg {
    OrgInfo info;
    nlohmann::json settings;  // with "version"
  };
  struct Gate {
    std::optional<ActiveOrg> org;
    nlohmann::json user_settings;
    bool enabled = false;
  };
  // One tenant's part of a caller's view.
  struct Source {
    Tenant tenant;
    store::Scope scope;
    std::string predicate;  // over tasks aliased t
    std::vector<store::Value> predicate_params;
  };

  Result<Gate> gate(const User& user);
  Result<std::vector<Source>> view(const User& user, const std::optional<ActiveOrg>& org,
                                   const std::optional<std::string>& narrow_to_user);
  Result<std::vector<TaskSummary>> list_source(const Source& source, const TaskQuery& query,
                                               int depth);
  Result<std::optional<std::pair<Source, TaskSummary>>> find(const User& user,
                                                             const std::string& task_id);
  Result<TaskSummary> summary_from(store::Transaction& tx, const Tenant& tenant,
                                   const store::Row& row);
  Result<std::vector<StoredMessage>> read_messages(store::Transaction& tx, const Tenant& tenant,
                                                   const std::string& task_id);
  Status delete_task_rows(store::Transaction& tx, const Source& source, const std::string& task_id);

  store::Database& database_;
  KeyRing& keys_;
  OrgService& orgs_;
  TaskServiceOptions options_;
};

}  // namespace joey::cloud
