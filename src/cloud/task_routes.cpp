#include "cloud/task_routes.h"

#include <string>
#include <utility>

#include "base/log.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"

namespace joey::cloud {
namespace {

constexpr size_t kSmallBody = 16 * 1024;

HttpResponse private_json(int status, const nlohmann::json& value) {
  HttpResponse response = HttpResponse::json(status, value);
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

Result<std::string> task_id_param(const HttpRequest& request) {
  std::string id(request.path_param("task_id"));
  if (!is_valid_task_id(id)) {
    return make_error(ErrorKind::kInvalidArgument,
                      "a task id has 1 to 128 characters of A-Z, a-z, 0-9, '.', '_' and '-'");
  }
  return id;
}

// After a deletion has committed: SQLite's WAL is checkpointed so no deleted page stays
// in it (P9). A failure does not undo the deletion, so it is logged, not answered.
void flush_deleted(store::Database& database) {
  if (Status flushed = database.flush_deleted(); !flushed.ok()) {
    log::warn("flush_after_delete_failed", {log::field("error", flushed.error().message)});
  }
}

HttpResponse collection_disabled() {
  return HttpResponse::error(403, "collection_disabled",
                             "task history collection is turned off for this account or its "
                             "organization; nothing was stored");
}

// Maps the service's kAlreadyExists for an upload to its own code.
Result<HttpResponse> upload_error(const Error& error) {
  if (error.kind == ErrorKind::kAlreadyExists) {
    return HttpResponse::error(409, "task_id_taken", error.message);
  }
  return error;
}

}  // namespace

void register_task_routes(Router& router, IdentityService& identity, TaskService& tasks,
                          AuthRouteOptions options) {
  IdentityService* identity_service = &identity;
  TaskService* service = &tasks;
  auto add = [&router, &identity, &options](std::string method, std::string path,
                                            SignedInHandler handler, size_t max_body) {
    add_signed_in_route(router, identity, options, std::move(method), std::move(path),
                        std::move(handler), max_body);
  };

  add(
      "GET", "/api/agent/settings",
      [service](const HttpRequest& request, const Caller& caller) -> Result<HttpResponse> {
        const nlohmann::json settings = TRY(service->agent_settings(caller.user));
        const std::string etag =
            "\"" + crypto::hex_encode(crypto::sha256(settings.dump())).substr(0, 32) + "\"";
        HttpResponse response = request.header("if-none-match") == std::string_view(etag)
                                    ? HttpResponse::text(304, "", "application/json")
                                    : HttpResponse::json(200, settings);
        response.headers.emplace_back("ETag", etag);
        response.headers.emplace_back("Cache-Control", "private, no-cache");
        return response;
      },
      kSmallBody);

  add(
      "PATCH", "/api/me/settings",
      [service](const HttpRequest& request, const Caller& caller) -> Result<HttpResponse> {
        const nlohmann::json body = TRY(parse_json_body(request, {"task_sync_enabled"}));
        return HttpResponse::json(200, TRY(service->update_user_settings(caller.user, body)));
      },
      kSmallBody);

  add(
      "POST", "/api/tasks/{task_id}/messages",
      [service](const HttpRequest& request, const Caller& caller) -> Result<HttpResponse> {
        const std::string task_id = TRY(task_id_param(request));
        const MessageBatch batch = TRY(parse_message_batch(request));
        Result<UploadResult> result = service->append_messages(caller.user, task_id, batch);
        if (!result.ok()) return upload_error(result.error());
        if (result->outcome == UploadOutcome::kCollectionDisabled) return collection_disabled();
        return HttpResponse::json(200,
                                  {{"task_id", task_id},
                                   {"accepted", result->accepted},
                                   {"duplicate", result->outcome == UploadOutcome::kDuplicate}});
      },
      kMaxUploadBodyBytes);

  add(
      "POST", "/api/tasks/{task_id}/usage",
      [service](const HttpRequest& request, const Caller& caller) -> Result<HttpResponse> {
        const std::string task_id = TRY(task_id_param(request));
        const UsageRecord usage = TRY(parse_usage_record(request));
        Result<UploadOutcome> outcome = service->record_usage(caller.user, task_id, usage);
        if (!outcome.ok()) return upload_error(outcome.error());
        if (*outcome == UploadOutcome::kCollectionDisabled) return collection_disabled();
        return HttpResponse::json(200, {{"duplicate", *outcome == UploadOutcome::kDuplicate}});
      },
      kSmallBody);

  add(
      "GET", "/api/tasks",
      [service](const HttpRequest& request, const Caller& caller) -> Result<HttpResponse> {
        const TaskQuery query = TRY(parse_task_query(request.query));
        const TaskPage page = TRY(service->list(caller.user, query));
        nlohmann::json tasks = nlohmann::json::array();
        for (const TaskSummary& task : page.tasks) tasks.push_back(task.to_json());
        return private_json(200,
                            {{"tasks", std::move(tasks)},
                             {"next_cursor", page.next_cursor ? nlohmann::json(*page.next_cursor)
                                                              : nlohmann::json(nullptr)}});
      },
      kSmallBody);

  add(
      "GET", "/api/tasks/{task_id}",
      [service](const HttpRequest& request, const Caller& caller) -> Result<HttpResponse> {
        const TaskTranscript transcript =
            TRY(service->get(caller.user, TRY(task_id_param(request))));
        nlohmann::json messages = nlohmann::json::array();
        for (const StoredMessage& message : transcript.messages) {
          messages.push_back({{"seq", message.seq},
                              {"ts", message.ts},
                              {"role", message.role},
                              {"content", message.content}});
        }
        return private_json(
            200, {{"task", transcript.task.to_json()}, {"messages", std::move(messages)}});
      },
      kSmallBody);

  add(
      "DELETE", "/api/tasks/{task_id}",
      [service](const HttpRequest& request, const Caller& caller) -> Result<HttpResponse> {
        TRY(service->remove(caller.user, TRY(task_id_param(request))));
        flush_deleted(service->database());
        return HttpResponse::text(204, "", "text/plain");
      },
      kSmallBody);

  add(
      "DELETE", "/api/me",
      [service, identity_service](const HttpRequest& request,
                                  const Caller& caller) -> Result<HttpResponse> {
        const nlohmann::json body = TRY(parse_json_body(request, {"password"}));
        const auto password = body.find("password");
        if (password == body.end() || !password->is_string()) {
          return make_error(ErrorKind::kInvalidArgument,
                            "the field \"password\" (a string) is required to delete an account");
        }
        Status confirmed = identity_service->confirm_password(
            caller.user, password->get<std::string>(), request.remote_address);
        if (!confirmed.ok()) {
          if (confirmed.error().kind != ErrorKind::kAuth) return confirmed.error();
          return HttpResponse::error(403, "wrong_password", "the password is not this account's");
        }
        TRY(service->delete_account_data(caller.user));
        TRY(identity_service->delete_user(caller.user));
        flush_deleted(service->database());
        HttpResponse response = HttpResponse::text(204, "", "text/plain");
        response.headers.emplace_back("Set-Cookie", std::string(kSessionCookie) +
                                                        "=; Path=/; Max-Age=0; HttpOnly; "
                                                        "SameSite=Lax");
        return response;
      },
      kSmallBody);

  add(
      "DELETE", "/api/orgs/{id}/tasks",
      [service](const HttpRequest& request, const Caller& caller) -> Result<HttpResponse> {
        const int64_t deleted =
            TRY(service->purge_org_tasks(caller.user, std::string(request.path_param("id"))));
        flush_deleted(service->database());
        return HttpResponse::json(200, {{"deleted", deleted}});
      },
      kSmallBody);
}

}  // namespace joey::cloud
