// The stdio transport: the server is a child process in its own process group,
// speaking newline-delimited JSON-RPC on stdin/stdout. stderr goes to a 16 KiB ring.
// A stdout line that is not JSON-RPC is skipped (servers that print banners); a line
// over kMaxMessageBytes is dropped and reading resumes after its newline.
//
// Shutdown closes stdin, waits up to 2 s, SIGTERMs the group, waits 2 s more, then
// SIGKILLs it, and reaps the child: no zombie outlives the transport.
//
// Thread-safety: as Transport. One reader thread per transport calls the handlers.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "mcp/transport.h"
#include "mcp/types.h"

namespace joey::mcp {

inline constexpr size_t kStderrRingBytes = 16 * 1024;

class StdioTransport : public Transport {
 public:
  explicit StdioTransport(ServerConfig config);
  ~StdioTransport() override;
  StdioTransport(const StdioTransport&) = delete;
  StdioTransport& operator=(const StdioTransport&) = delete;

  // kNotFound when the command does not exist, kInvalidArgument for a bad cwd or env.
  Status start(TransportHandlers handlers) override;
  Status send(const std::string& text, const std::optional<RequestId>& awaited,
              Clock::time_point deadline, const std::atomic<bool>* cancel) override;
  void shutdown() override;
  bool alive() const override { return alive_.load(); }
  std::string stderr_tail() const override;
  int process_id() const override { return pid_; }
  size_t skipped_lines() const override;
  std::string first_skipped_line() const override;

 private:
  void reader_loop();
  void feed_stdout(std::string_view chunk);
  void handle_line(std::string_view line);
  void append_stderr(std::string_view chunk);
  std::string exit_description();

  const ServerConfig config_;
  TransportHandlers handlers_;
  int pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  int wake_read_fd_ = -1;
  int wake_write_fd_ = -1;
  std::thread reader_;
  std::atomic<bool> alive_{false};
  std::atomic<bool> stopping_{false};
  bool reaped_ = false;

  std::mutex write_mutex_;  // guards stdin_fd_ writes and closing
  mutable std::mutex state_mutex_;
  std::string stderr_ring_;
  size_t skipped_lines_ = 0;
  std::string first_skipped_line_;

  LineSplitter splitter_;  // reader thread only
};

}  // namespace joey::mcp
