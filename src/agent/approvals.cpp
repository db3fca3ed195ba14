#include "agent/approvals.h"

namespace joey::agent {

Status HeadlessApprovalGate::request(const ApprovalRequest& request) {
  if (request.kind == ActionKind::kRead) return ok_status();
  if (request.kind == ActionKind::kOutsideWorkspace || request.kind == ActionKind::kProtectedWrite) {
    if (auto_approve_) {
      return make_error(ErrorKind::kPermissionDenied,
                        request.description +
                            (request.kind == ActionKind::kProtectedWrite
                                 ? ": a protected file (joey's own configuration); only a person "
                                   "can approve changing it, never --yes"
                                 : ": outside the workspace, and --yes never approves that; work "
                                   "inside the workspace"));
    }
  } else if (auto_approve_) {
    return ok_status();
  }
  events_.approval_required(request.tool, action_kind_name(request.kind), request.description);
  return make_error(ErrorKind::kNeedsDecision,
                    request.tool + " needs approval (" + action_kind_name(request.kind) +
                        "): " + request.description);
}

}  // namespace joey::agent
