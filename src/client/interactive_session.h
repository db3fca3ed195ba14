// `joey` with no task: an interactive session (issue "Agent workflow" §6).
//
// Each line typed is a message to the model; the conversation goes on from one message
// to the next (one task id, recorded in the history as it runs) until /clear starts a
// new one. Lines starting with '/' are commands: /help, /mode [SLUG], /model [ID],
// /undo, /cost, /history [QUERY], /clear, /exit. Actions the policy does not approve are
// asked on the spot: y (yes), n (no), a (always, for this session), or any other text,
// which refuses and sends that text to the model. ask_followup_question is answered the
// same way. Ctrl-C cancels the request in flight and returns to the prompt; a second
// Ctrl-C before that quits; Ctrl-D (or /exit) ends the session.
//
// With stdin not a terminal the same session reads lines from it (no prompts are
// printed), which is how scripts and tests drive it.
#pragma once

#include "client/agent_runtime.h"

namespace joey::client {

// Runs the session until the input ends; returns the exit status (0, or 2 for bad flags).
int run_interactive(RunFlags flags);

}  // namespace joey::client
