#include "agent/approvals.h"

namespace joey::agent {
namespace {

bool auto_approved(const ApprovalPolicy& policy, ActionKind kind) {
  if (policy.yes) return true;
  switch (kind) {
    case ActionKind::kWrite:
      return policy.auto_write;
    case ActionKind::kCommand:
      return policy.auto_command;
    case ActionKind::kModeSwitch:
      return policy.auto_mode_switch;
    case ActionKind::kSubtask:
      return policy.auto_subtasks;
    case ActionKind::kMcp:
      return policy.auto_mcp;
    default:
      return false;
  }
}

}  // namespace

ApprovalVerdict evaluate_approval(const ApprovalPolicy& policy, const ApprovalRequest& request) {
  if (request.kind == ActionKind::kRead) return {ApprovalDecision::kApproved, ""};
  if (request.kind == ActionKind::kCommand) {
    CommandVerdict verdict = evaluate_command(policy.commands, request.description);
    if (verdict.decision == CommandDecision::kDenied) {
      return {ApprovalDecision::kRefused, "refused by the command policy: " + verdict.reason};
    }
    if (verdict.decision == CommandDecision::kAllowed) return {ApprovalDecision::kApproved, ""};
  }
  if (request.kind == ActionKind::kOutsideWorkspace ||
      request.kind == ActionKind::kProtectedWrite) {
    if (!policy.yes) return {ApprovalDecision::kAsk, ""};
    return {ApprovalDecision::kRefused,
            request.description +
                (request.kind == ActionKind::kProtectedWrite
                     ? ": protected (joey's own configuration, or a command naming an ignored "
                       "file); only a person can approve it, never --yes"
                     : ": outside the workspace, and --yes never approves that; work inside the "
                       "workspace")};
  }
  if (auto_approved(policy, request.kind)) return {ApprovalDecision::kApproved, ""};
  return {ApprovalDecision::kAsk, ""};
}

Status HeadlessApprovalGate::request(const ApprovalRequest& request) {
  ApprovalVerdict verdict = evaluate_approval(policy_, request);
  switch (verdict.decision) {
    case ApprovalDecision::kApproved:
      return ok_status();
    case ApprovalDecision::kRefused:
      return make_error(ErrorKind::kPermissionDenied, verdict.reason);
    case ApprovalDecision::kAsk:
      break;
  }
  events_.approval_required(request.tool, action_kind_name(request.kind), request.description);
  return make_error(ErrorKind::kNeedsDecision, request.tool + " needs approval (" +
                                                   action_kind_name(request.kind) +
                                                   "): " + request.description);
}

}  // namespace joey::agent
