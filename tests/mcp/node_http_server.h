// A node HTTP server for the MCP client tests, run with joey::run_process on a thread
// (loopback only, PORT chosen free) and stopped when the object is destroyed.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/subprocess.h"
#include "mcp_test_support.h"

namespace joey::mcp::testing {

// A port on 127.0.0.1 that was free a moment ago, or -1.
inline int free_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

class NodeHttpServer {
 public:
  ~NodeHttpServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  // Starts `args` with PORT set and waits (at most 20 s) for `ready` on its output.
  bool start(const std::string& node, std::vector<std::string> args, const std::string& ready) {
    port_ = free_loopback_port();
    if (port_ <= 0) return false;
    ProcessOptions options;
    options.argv = {node, "--require", loopback_preload_script()};
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    options.env = {{"PORT", std::to_string(port_)}};
    options.timeout = std::chrono::minutes(2);
    options.stop = &stop_;
    options.on_output = [this](std::string_view chunk, bool) {
      std::lock_guard lock(mutex_);
      output_.append(chunk);
    };
    thread_ = std::thread([this, options] {
      Result<ProcessResult> ignored = run_process(options);
      std::lock_guard lock(mutex_);
      finished_ = true;
    });
    return wait_for_output(ready);
  }

  bool wait_for_output(const std::string& part) {
    for (int i = 0; i < 400; ++i) {
      {
        std::lock_guard lock(mutex_);
        if (output_.find(part) != std::string::npos) return true;
        if (finished_) return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  std::string output() {
    std::lock_guard lock(mutex_);
    return output_;
  }
  std::string url(const std::string& path = "/mcp") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  int port_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::string output_;
  bool finished_ = false;
};

}  // namespace joey::mcp::testing
