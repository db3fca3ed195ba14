#include "cloud/share_routes.h"

#include <string>
#include <utility>

#include "cloud/share_page.h"

namespace joey::cloud {
namespace {

constexpr size_t kSmallBody = 16 * 1024;

HttpResponse html_page(int status, std::string body) {
  HttpResponse response = HttpResponse::text(status, std::move(body), "text/html; charset=utf-8");
  response.headers.emplace_back("Content-Security-Policy", share_page_csp());
  response.headers.emplace_back("Cache-Control", "no-store");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  response.headers.emplace_back("X-Robots-Tag", "noindex");
  response.headers.emplace_back("X-Frame-Options", "DENY");
  return response;
}

SharedTask shared_task(const TaskTranscript& transcript, int64_t expires_at) {
  SharedTask task;
  task.title = transcript.task.title;
  task.mode = transcript.task.mode;
  task.model = transcript.task.model;
  task.created_at_ms = transcript.task.created_at;
  task.expires_at_ms = expires_at;
  for (const StoredMessage& message : transcript.messages) {
    task.messages.push_back(SharedMessage{message.ts, message.role, message.content});
  }
  return task;
}

}  // namespace

void register_share_routes(Router& router, IdentityService& identity, ShareService& shares,
                           AuthRouteOptions options) {
  IdentityService* identity_service = &identity;
  ShareService* service = &shares;

  router.add(
      "POST", "/api/tasks/{task_id}/share",
      [identity_service, service, options](const HttpRequest& request) -> Result<HttpResponse> {
        const Caller caller = TRY(authenticate(*identity_service, options, request));
        const nlohmann::json body = TRY(parse_json_body(request, {"visibility"}));
        const auto visibility = body.find("visibility");
        if (visibility == body.end() || !visibility->is_string()) {
          return make_error(
              ErrorKind::kInvalidArgument,
              "the field \"visibility\" (\"organization\" or \"public\") is required");
        }
        const NewShare share =
            TRY(service->create(caller.user, std::string(request.path_param("task_id")),
                                visibility->get<std::string>()));
        HttpResponse response =
            HttpResponse::json(201, {{"id", share.id},
                                     {"url", public_origin(options, request) + "/s/" + share.token},
                                     {"visibility", share.visibility},
                                     {"expires_at", share.expires_at}});
        response.headers.emplace_back("Cache-Control", "no-store");
        return response;
      },
      RouteOptions{kSmallBody, BodyKind::kJson});

  router.add(
      "DELETE", "/api/shares/{id}",
      [identity_service, service, options](const HttpRequest& request) -> Result<HttpResponse> {
        const Caller caller = TRY(authenticate(*identity_service, options, request));
        TRY(service->revoke(caller.user, std::string(request.path_param("id"))));
        return HttpResponse::text(204, "", "text/plain");
      },
      RouteOptions{kSmallBody, BodyKind::kJson});

  router.add(
      "GET", "/s/{token}",
      [identity_service, service, options](const HttpRequest& request) -> Result<HttpResponse> {
        std::optional<User> viewer;
        if (Result<Caller> caller = authenticate(*identity_service, options, request);
            caller.ok()) {
          viewer = caller->user;
        }
        int64_t expires_at = 0;
        Result<TaskTranscript> transcript =
            service->open(std::string(request.path_param("token")), viewer, &expires_at);
        if (!transcript.ok()) {
          if (transcript.error().kind != ErrorKind::kNotFound) return transcript.error();
          return html_page(404, render_share_not_found_page());
        }
        return html_page(200, render_share_page(shared_task(*transcript, expires_at)));
      },
      RouteOptions{kSmallBody, BodyKind::kJson});
}

}  // namespace joey::cloud
