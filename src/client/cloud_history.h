// `joey history --cloud …`: the joey Cloud's copy of the signed-in user's task history,
// read through CloudClient (GET /api/tasks, GET and DELETE /api/tasks/{id}) and printed
// like the local history. Used by client/history_command.cpp.
//
// Thread-safety: none needed; one command per call.
#pragma once

#include <string>
#include <vector>

#include "client/history_command.h"

namespace joey::client {

struct CloudHistoryRequest {
  std::string action;  // "list", "search", "show" or "delete"
  int limit = 20;
  std::string query;
  std::string task_id;
  bool json_output = false;
};

// Runs one --cloud subcommand; returns the exit status (0 done, 1 failed, 2 bad usage).
int run_cloud_history(const CloudHistoryRequest& request, const HistoryCommandOptions& options);

}  // namespace joey::client
