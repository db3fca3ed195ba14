// Approval policy for a run with nobody at the keyboard (`joey run`).
//
// Reads inside the workspace are approved. Writes and commands are approved under
// --yes; otherwise the run stops (kNeedsDecision, exit 3) after announcing the
// action as approval_required. Anything outside the workspace, and any change to a
// protected file, is never approved headlessly: refused under --yes, a stop otherwise.
#pragma once

#include "agent/events.h"
#include "agent/tool.h"

namespace joey::agent {

class HeadlessApprovalGate final : public ApprovalGate {
 public:
  HeadlessApprovalGate(bool auto_approve, EventSink& events)
      : auto_approve_(auto_approve), events_(events) {}

  Status request(const ApprovalRequest& request) override;

 private:
  bool auto_approve_;
  EventSink& events_;
};

}  // namespace joey::agent
