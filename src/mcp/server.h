// A server kept running for the agent: connects on first use, and after a crash (or a
// failed start) reconnects on a later use with exponential backoff between attempts:
// the first reconnect after a crash is immediate, then 1 s, 2 s, 4 s … at most 30 s.
// A use while the backoff runs fails at once (kNetwork for HTTP, kIo for stdio) saying
// when the next attempt is due; it never sleeps.
//
// Thread-safety: all methods may be called from any thread; client() holds the
// Server's lock while it connects (at most config.timeout), so concurrent callers wait. A Client*
// returned by client() stays valid until shutdown() or the Server's destruction, even after a
// reconnect replaced it (replaced clients are retired, not destroyed, up to a bound).
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "base/result.h"
#include "mcp/client.h"
#include "mcp/types.h"

namespace joey::mcp {

inline constexpr std::chrono::seconds kMaxReconnectBackoff{30};

class Server {
 public:
  Server(ServerConfig config, HttpTransportFactory http);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The connected client, (re)connecting if needed.
  Result<Client*> client();
  // The connected client when it is alive, else null; never connects or restarts.
  // After a restart it is another Client* than before (callers use that to notice).
  Client* connected_client() const;
  const ServerConfig& config() const { return config_; }
  // Stops the server; a later client() starts it again.
  void shutdown();

  // How many connections were made so far (for diagnostics and tests).
  int connect_count() const;

 private:
  using Clock = std::chrono::steady_clock;

  const ServerConfig config_;
  const HttpTransportFactory http_;
  mutable std::mutex mutex_;
  std::unique_ptr<Client> client_;
  std::deque<std::unique_ptr<Client>> retired_;
  int failures_ = 0;  // consecutive failed starts and crashes
  std::optional<Clock::time_point> next_attempt_;
  std::optional<Error> last_error_;
  Clock::time_point connected_at_{};
  int connect_count_ = 0;
};

}  // namespace joey::mcp
