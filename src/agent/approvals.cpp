#include "agent/approvals.h"

namespace joey::agent {

Status HeadlessApprovalGate::request(const ApprovalRequest& request) {
  if (request.kind == ActionKind::kRead) return ok_status();
  if (request.kind == ActionKind::kOutsideWorkspace) {
    if (auto_approve_) {
      return make_error(ErrorKind::kPermissionDenied,
                        request.description +
                            ": outside the workspace, and --yes never approves that; work inside "
                            "the workspace");
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
