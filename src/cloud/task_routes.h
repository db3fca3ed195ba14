// The task history routes of joeyd (docs/openapi.yaml, "tasks"): the agent's settings
// (the collection gate, P7), uploads of task messages and usage, listing and searching
// tasks, transcripts and deletion — over cloud/task_service.h.
//
// Every route needs a signed-in caller (cloud/auth_routes.h authenticate()). An upload
// while collection is off is answered 403 {"error": {"code": "collection_disabled"}}
// and stores nothing; a task id another user holds 409 task_id_taken; a task outside
// the caller's view 404. GET /api/agent/settings carries an ETag and answers 304 to a
// matching If-None-Match. Responses holding task text say Cache-Control: no-store.
//
// Thread-safety: the handlers hold references to `identity` and `tasks`, which must
// outlive the router; they may run on any number of threads at once.
#pragma once

#include "cloud/auth_routes.h"
#include "cloud/identity.h"
#include "cloud/router.h"
#include "cloud/task_service.h"

namespace joey::cloud {

void register_task_routes(Router& router, IdentityService& identity, TaskService& tasks,
                          AuthRouteOptions options);

}  // namespace joey::cloud
