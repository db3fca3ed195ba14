#include "agent/approvals.h"

namespace joey::agent {

bool HeadlessApprovalGate::auto_approved(ActionKind kind) const {
  if (policy_.yes) return true;
  switch (kind) {
    case ActionKind::kWrite: return policy_.auto_write;
    case ActionKind::kCommand: return policy_.auto_command;
    case ActionKind::kModeSwitch: return policy_.auto_mode_switch;
    case ActionKind::kSubtask: return policy_.auto_subtasks;
    default: return false;
  }
}

Status HeadlessApprovalGate::request(const ApprovalRequest& request) {
  if (request.kind == ActionKind::kRead) return ok_status();
  if (request.kind == ActionKind::kCommand) {
    CommandVerdict verdict = evaluate_command(policy_.commands, request.description);
    if (verdict.decision == CommandDecision::kDenied) {
      return make_error(ErrorKind::kPermissionDenied,
                        "refused by the command policy: " + verdict.reason);
    }
    if (verdict.decision == CommandDecision::kAllowed) return ok_status();
  }
  if (request.kind == ActionKind::kOutsideWorkspace || request.kind == ActionKind::kProtectedWrite) {
    if (policy_.yes) {
      return make_error(ErrorKind::kPermissionDenied,
                        request.description +
                            (request.kind == ActionKind::kProtectedWrite
                                 ? ": protected (joey's own configuration, or a command "
                                   "naming an ignored file); only a person can approve it, "
                                   "never --yes"
                                 : ": outside the workspace, and --yes never approves that; work "
                                   "inside the workspace"));
    }
  } else if (auto_approved(request.kind)) {
    return ok_status();
  }
  events_.approval_required(request.tool, action_kind_name(request.kind), request.description);
  return make_error(ErrorKind::kNeedsDecision,
                    request.tool + " needs approval (" + action_kind_name(request.kind) +
                        "): " + request.description);
}

}  // namespace joey::agent
