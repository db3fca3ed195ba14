// A TaskRecorder that passes every call on to several recorders, in order: the runtime
// keeps the local history and uploads to the Cloud from the same task events.
//
// Thread-safety: as the recorders it holds; it adds no state of its own after construction.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "agent/task_recorder.h"

namespace joey::client {

class TeeRecorder final : public agent::TaskRecorder {
 public:
  // The recorders are not owned and must outlive the tee; null entries are skipped.
  explicit TeeRecorder(std::vector<agent::TaskRecorder*> recorders) {
    for (agent::TaskRecorder* recorder : recorders) {
      if (recorder) recorders_.push_back(recorder);
    }
  }

  void task_started(const agent::TaskInfo& info) override {
    for (agent::TaskRecorder* recorder : recorders_) recorder->task_started(info);
  }
  void message_added(const std::string& task_id, const llm::Message& message) override {
    for (agent::TaskRecorder* recorder : recorders_) recorder->message_added(task_id, message);
  }
  void usage_updated(const std::string& task_id, const agent::UsageTotals& totals,
                     int requests) override {
    for (agent::TaskRecorder* recorder : recorders_) {
      recorder->usage_updated(task_id, totals, requests);
    }
  }
  void task_finished(const std::string& task_id, agent::TaskStatus status,
                     const std::string& detail) override {
    for (agent::TaskRecorder* recorder : recorders_) {
      recorder->task_finished(task_id, status, detail);
    }
  }

 private:
  std::vector<agent::TaskRecorder*> recorders_;
};

}  // namespace joey::client
