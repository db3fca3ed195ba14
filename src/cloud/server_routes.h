// joeyd's operational endpoints:
//   GET /healthz  200 {"status":"ok"} whenever the process is serving (liveness);
//   GET /readyz   200 {"status":"ready"}, or 503 {"status":"not_ready","reason":…} when
//                 the readiness check fails (the database ping, once the store is wired);
//   GET /metrics  the registry in the Prometheus text format 0.0.4.
// None of them needs authentication; operators who expose joeyd publicly should keep
// /metrics behind their proxy (docs/operating.md).
//
// Thread-safety: the handlers are safe to call concurrently when `ready` is.
#pragma once

#include <functional>

#include "base/result.h"
#include "cloud/metrics.h"
#include "cloud/router.h"

namespace joey::cloud {

// Ok when the server can take traffic; otherwise an error whose message says why
// (shown to the caller of /readyz, so it names no secret).
using ReadinessCheck = std::function<Status()>;

// Registers /healthz, /readyz and /metrics on `router`. `metrics` must outlive the
// router; an empty `ready` means always ready.
void add_server_routes(Router& router, const MetricsRegistry& metrics, ReadinessCheck ready);

}  // namespace joey::cloud
