// Approval policy for a run with nobody at the keyboard (`joey run`).
//
// Reads inside the workspace are approved. A command the command policy denies is
// refused (the model sees why); one it allows is approved. Everything else that
// changes something — writes, other commands, mode switches, subtasks — is approved
// under --yes or its auto_approve setting; otherwise the run stops (kNeedsDecision,
// exit 3) after announcing the action as approval_required. Anything outside the
// workspace, and any change to a protected file, is never approved headlessly:
// refused under --yes, a stop otherwise.
#pragma once

#include "agent/command_policy.h"
#include "agent/events.h"
#include "agent/tool.h"

namespace joey::agent {

struct ApprovalPolicy {
  bool yes = false;  // --yes: approve what the policy does not forbid
  bool auto_write = false;
  bool auto_command = false;
  bool auto_mode_switch = false;
  bool auto_subtasks = false;
  bool auto_mcp = false;  // MCP tool calls (a server's alwaysAllow list approves its own)
  CommandPolicy commands;
};

// What the policy says about a request before anyone is asked.
enum class ApprovalDecision {
  kApproved,
  kRefused,  // `reason` says why; the model sees it
  kAsk,      // a person must decide
};

struct ApprovalVerdict {
  ApprovalDecision decision = ApprovalDecision::kAsk;
  std::string reason;
};

// The policy alone: reads approved; a denied command refused and an allowed one
// approved; --yes or the auto_approve setting approves its kind; outside-workspace and
// protected requests are refused under --yes and otherwise always kAsk.
ApprovalVerdict evaluate_approval(const ApprovalPolicy& policy, const ApprovalRequest& request);

class HeadlessApprovalGate final : public ApprovalGate {
 public:
  HeadlessApprovalGate(ApprovalPolicy policy, EventSink& events)
      : policy_(std::move(policy)), events_(events) {}
  HeadlessApprovalGate(bool yes, EventSink& events) : events_(events) { policy_.yes = yes; }

  // For kCommand, `request.description` is the command text the policy is checked on.
  Status request(const ApprovalRequest& request) override;

 private:
  ApprovalPolicy policy_;
  EventSink& events_;
};

}  // namespace joey::agent
