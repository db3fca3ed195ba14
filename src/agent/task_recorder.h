// Watching a task as it runs, to keep it: the local history (and later the Cloud
// upload) implement this. The task loop calls it synchronously at each step, so a
// crash loses at most the message in flight.
#pragma once

#include <string>

#include "agent/events.h"
#include "llm/conversation.h"

namespace joey::agent {

enum class TaskStatus { kRunning, kCompleted, kFailed, kNeedsDecision, kCancelled };

const char* task_status_name(TaskStatus status);

struct TaskInfo {
  std::string task_id;
  std::string workspace;  // absolute path of the workspace root
  std::string mode;
  std::string provider;
  std::string model;
  std::string task;       // the user's request, as typed
};

class TaskRecorder {
 public:
  virtual ~TaskRecorder() = default;
  // Once, before the first request. For a resumed task, `info.task_id` already exists.
  virtual void task_started(const TaskInfo& info) = 0;
  // Every message, in order, as it joins the conversation.
  virtual void message_added(const std::string& task_id, const llm::Message& message) = 0;
  // After each model response: running totals.
  virtual void usage_updated(const std::string& task_id, const UsageTotals& totals,
                             int requests) = 0;
  // Once, when the task ends. `detail` is the completion result or the error message.
  virtual void task_finished(const std::string& task_id, TaskStatus status,
                             const std::string& detail) = 0;
};

}  // namespace joey::agent
