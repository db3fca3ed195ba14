// A bounded work queue used by the sample corpus of the apply_diff tests.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

namespace sample {

struct Job {
  int id = 0;
  std::string name;
  int priority = 0;
};

class WorkQueue {
 public:
  explicit WorkQueue(size_t capacity) : capacity_(capacity) {}

  // Adds a job; blocks while the queue is full. Returns false once closed.
  bool push(Job job) {
    std::unique_lock<std::mutex> lock(mutex_);
    not_full_.wait(lock, [&] { return closed_ || jobs_.size() < capacity_; });
    if (closed_) return false;
    if (job.priority > 0) {
      jobs_.push_front(std::move(job));
    } else {
      jobs_.push_back(std::move(job));
    }
    not_empty_.notify_one();
    return true;
  }

  // Takes the next job; nullopt once the queue is closed and drained.
  std::optional<Job> pop() {
    std::unique_lock<std::mutex> lock(mutex_);
    not_empty_.wait(lock, [&] { return closed_ || !jobs_.empty(); });
    if (jobs_.empty()) return std::nullopt;
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    not_full_.notify_one();
    return job;
  }

  void close() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closed_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return jobs_.size();
  }

 private:
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<Job> jobs_;
  bool closed_ = false;
};

int drain_and_count(WorkQueue& queue) {
  int processed = 0;
  while (std::optional<Job> job = queue.pop()) {
    if (job->name.empty()) continue;
    ++processed;
  }
  return processed;
}

}  // namespace sample
