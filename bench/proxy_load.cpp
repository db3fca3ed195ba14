// proxy_load: the HTTP/1.1 load client of the proxy benchmark (bench/proxy/run.sh). One
// thread, epoll, keep-alive connections to one 127.0.0.1 address; a plain tool, no joey code.
//
//   proxy_load --port PORT --path PATH --body-file FILE [--header 'Name: value']...
//              --connections C --seconds S [--warmup S] [--rate R] [--expect TEXT]
//              [--timeout-ms MS] [--max-requests N] [--cpu-pid PID]...
//   proxy_load --hold N --port PORT --path PATH --body-file FILE [--header ...]
//              --rss-pid PID [--rss-pid PID]... [--timeout-ms MS]
//
// Closed loop (no --rate): C connections each send a request, wait for the whole answer
// and send the next, for --warmup seconds (not recorded) and then --seconds (recorded).
// Latency runs from the moment the request is written.
//
// Open loop (--rate R): requests are due at fixed times, R per second, whatever the
// answers do; each goes out on an idle connection (up to C are opened, lazily). Latency
// runs from the time the request was *due*, so a server that stalls is charged for every
// request that waited behind the stall (no coordinated omission). Requests still unsent
// when the time is up are counted as `unsent` and make the point `saturated`.
//
// --cpu-pid PID: the CPU time PID (all its threads) spent in the recorded window, user
// and system, per ok answer: `pidN_user_us` and `pidN_sys_us` for the Nth PID given.
//
// Both: TTFB is the first byte of the response body, TTLB its last byte (for a stream:
// the whole stream). An answer counts as ok when its status is 200 and, with --expect,
// its decoded body contains TEXT (e.g. "[DONE]" for a complete stream). Anything else is
// an error; the connection is then closed and a new one made. A connection the server
// closes (Connection: close, e.g. a per-connection request limit) is replaced too, the
// reconnect counted in the next request's latency.
//
// --hold N: opens N streams, waits until every one has received its first body byte,
// then prints each --rss-pid's VmRSS before and after (KiB), and per stream. The streams
// are closed when the program exits.
//
// Output: one line of `key=value` pairs on stdout (times in microseconds); its `reopen_*`
// keys say why connections were reopened (CloseReason below) and add up to `reconnects`. Exit
// status 0, 2 for bad usage, 1 when nothing could be measured. Every wait is bounded by --seconds,
// --warmup and --timeout-ms (default 10 s); the program never runs longer than their sum
// plus the timeout.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/response_reader.h"

namespace {

using proxy_bench::ResponseReader;

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

constexpr int kUsageExit = 2;
constexpr size_t kReadBytes = 64 * 1024;

struct Options {
  uint16_t port = 0;
  std::string path;
  std::string body;
  std::vector<std::string> headers;
  size_t connections = 1;
  double seconds = 10;
  double warmup = 0;
  double rate = 0;  // 0: closed loop
  std::string expect;
  int timeout_ms = 10'000;
  size_t max_requests = 2'000'000;
  size_t hold = 0;
  std::vector<int> rss_pids;
  std::vector<int> cpu_pids;
};

// A process's CPU time so far (all threads), in clock ticks: user, system.
struct CpuTicks {
  long user = -1;
  long system = -1;
};

CpuTicks cpu_ticks(int pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) close with ')'; utime and
  // stime are the 14th and 15th fields, the 12th and 13th after that.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(stat.substr(close + 1));
  std::string field;
  CpuTicks ticks;
  for (int index = 3; index <= 15 && rest >> field; ++index) {
    if (index == 14) ticks.user = std::strtol(field.c_str(), nullptr, 10);
    if (index == 15) ticks.system = std::strtol(field.c_str(), nullptr, 10);
  }
  return ticks;
}

enum class ConnState { kIdle, kConnecting, kWriting, kReading, kClosed };

// Why a connection's socket was closed; counted when the connection is reopened, so the
// `reopen_*` counts add up to `reconnects`. A close that is never followed by a reopen (the
// run ended, or the first connect of a connection failed before it counted as opened) is
// in no count. Every call that closes a socket names one of these.
enum class CloseReason {
  kNone,                      // not closed yet
  kPeerClosedIdle,            // EOF, reset or stray bytes on an idle keep-alive connection
  kPeerClosedBeforeResponse,  // EOF (or EPIPE on send) before any byte of the answer: often
                              // the server closing a kept-alive connection as the request left
  kPeerClosedMidResponse,     // EOF (or EPIPE) with the answer incomplete
  kReset,                     // ECONNRESET on send or recv
  kIoError,                   // any other send/recv error
  kConnectFailed,             // socket() or connect() failed (refused, no fds, ...)
  kConnectTimeout,            // not connected within --timeout-ms
  kTimeout,                   // connected, answer not complete within --timeout-ms
  kBadResponse,               // the answer could not be parsed
  kConnectionCloseHeader,     // complete answer with `Connection: close` (or HTTP/1.0 without
                              // keep-alive): the server ends the connection
  kCloseDelimited,            // complete answer whose body (no length) ended at the server's close
  kErrorStatus,               // complete answer, status not 200: this client closes
  kErrorBody,                 // complete answer without --expect TEXT: this client closes
  kCount,
};

constexpr std::array<const char*, static_cast<size_t>(CloseReason::kCount)> kCloseReasonKeys = {
    "",
    "reopen_peer_closed_idle",
    "reopen_peer_closed_before_response",
    "reopen_peer_closed_mid_response",
    "reopen_reset",
    "reopen_io_error",
    "reopen_connect_failed",
    "reopen_connect_timeout",
    "reopen_timeout",
    "reopen_bad_response",
    "reopen_connection_close_header",
    "reopen_close_delimited",
    "reopen_error_status",
    "reopen_error_body",
};

struct Connection {
  int fd = -1;
  ConnState state = ConnState::kClosed;
  size_t written = 0;
  bool busy = false;  // a request is assigned
  TimePoint start;    // when latency starts (intended time in open loop)
  TimePoint deadline;
  TimePoint first_byte;
  bool got_first = false;
  bool got_response_bytes = false;  // any byte of the current answer
  bool recorded = false;            // the request counts in the results
  bool connected_once = false;
  bool failed = false;  // the last request failed: closed loop restarts it a little later
  CloseReason close_reason = CloseReason::kNone;  // why the socket was last closed
  ResponseReader reader;
  explicit Connection(const std::string* expect) : reader(expect) {}
};

struct Results {
  std::vector<uint32_t> ttfb_us;
  std::vector<uint32_t> ttlb_us;
  size_t errors_status = 0;
  size_t errors_body = 0;
  size_t errors_io = 0;
  size_t errors_timeout = 0;
  size_t reconnects = 0;
  std::array<size_t, static_cast<size_t>(CloseReason::kCount)> reopens{};  // by CloseReason
  size_t unsent = 0;
  int last_bad_status = 0;
};

class Load {
 public:
  Load(const Options& options) : options_(options) {
    request_ = "POST " + options.path +
               " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(options.port) +
               "\r\nContent-Type: application/json\r\nAccept: */*\r\nContent-Length: " +
               std::to_string(options.body.size()) + "\r\n";
    for (const std::string& header : options.headers) request_ += header + "\r\n";
    request_ += "\r\n" + options.body;
    address_.sin_family = AF_INET;
    address_.sin_port = htons(options.port);
    address_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    buffer_.resize(kReadBytes);
  }
  ~Load() {
    for (Connection& connection : connections_) {
      if (connection.fd >= 0) ::close(connection.fd);
    }
    if (epoll_ >= 0) ::close(epoll_);
  }

  // Closed or open loop; prints the result line.
  int run_load() {
    connections_.reserve(options_.connections);
    const TimePoint begin = Clock::now();
    measure_from_ = begin + to_duration(options_.warmup);
    measure_until_ = measure_from_ + to_duration(options_.seconds);
    const TimePoint hard_stop = measure_until_ + std::chrono::milliseconds(options_.timeout_ms);
    if (options_.rate <= 0) {
      for (size_t i = 0; i < options_.connections; ++i) {
        connections_.emplace_back(&options_.expect);
        start_request(connections_.back(), Clock::now());
      }
    }
    const auto interval = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(options_.rate > 0 ? 1.0 / options_.rate : 0));
    TimePoint next_due = begin;
    size_t issued = 0;
    std::vector<TimePoint> backlog;  // due, not yet sent (open loop)
    size_t backlog_head = 0;
    TimePoint next_timeout_check = begin;
    for (;;) {
      const TimePoint now = Clock::now();
      if (now >= hard_stop) break;
      if (cpu_before_.empty() && now >= measure_from_) cpu_before_ = sample_cpu();
      if (cpu_after_.empty() && now >= measure_until_) cpu_after_ = sample_cpu();
      if (options_.rate > 0) {
        while (next_due <= now && next_due < measure_until_ && issued < options_.max_requests) {
          backlog.push_back(next_due);
          next_due += interval;
          ++issued;
        }
        while (backlog_head < backlog.size()) {
          Connection* idle = idle_connection();
          if (idle == nullptr) break;
          start_request(*idle, backlog[backlog_head++]);
        }
        if (now >= measure_until_ && in_flight() == 0) break;
      } else if (now >= measure_until_ && in_flight() == 0) {
        break;
      }
      if (now >= next_timeout_check) {
        check_timeouts(now);
        next_timeout_check = now + std::chrono::milliseconds(50);
      }
      TimePoint wake = std::min(next_timeout_check, hard_stop);
      if (options_.rate > 0 && next_due < measure_until_) wake = std::min(wake, next_due);
      if (options_.rate > 0 && backlog_head < backlog.size()) {
        wake = std::min(wake, now + std::chrono::milliseconds(1));
      }
      poll_until(wake);
    }
    for (size_t i = backlog_head; i < backlog.size(); ++i) {
      if (backlog[i] >= measure_from_) ++results_.unsent;
    }
    print_results(issued);
    return results_.ttlb_us.empty() ? 1 : 0;
  }

  // --hold: opens N streams, waits for each one's first body byte, prints RSS.
  int run_hold() {
    std::vector<long> before;
    for (int pid : options_.rss_pids) before.push_back(rss_kib(pid));
    measure_from_ = Clock::now();
    measure_until_ = measure_from_ + std::chrono::hours(1);
    connections_.reserve(options_.hold);
    for (size_t i = 0; i < options_.hold; ++i) {
      connections_.emplace_back(&options_.expect);
      start_request(connections_.back(), Clock::now());
    }
    const TimePoint stop = Clock::now() + std::chrono::milliseconds(options_.timeout_ms);
    size_t open_streams = 0;
    while (Clock::now() < stop) {
      open_streams = 0;
      for (const Connection& connection : connections_)
        open_streams += connection.got_first ? 1 : 0;
      if (open_streams == options_.hold) break;
      poll_until(std::min(stop, Clock::now() + std::chrono::milliseconds(50)));
    }
    // Let the server settle (allocations after the first byte), still reading.
    const TimePoint settle = Clock::now() + std::chrono::milliseconds(500);
    while (Clock::now() < settle) poll_until(settle);
    std::printf("streams=%zu of=%zu", open_streams, options_.hold);
    for (size_t i = 0; i < options_.rss_pids.size(); ++i) {
      const long after = rss_kib(options_.rss_pids[i]);
      const double per_stream =
          open_streams ? static_cast<double>(after - before[i]) / static_cast<double>(open_streams)
                       : 0;
      std::printf(" pid%zu_rss_before_kib=%ld pid%zu_rss_after_kib=%ld pid%zu_kib_per_stream=%.1f",
                  i, before[i], i, after, i, per_stream);
    }
    std::printf(" errors=%zu\n", results_.errors_io + results_.errors_status +
                                     results_.errors_timeout + results_.errors_body);
    return open_streams == options_.hold ? 0 : 1;
  }

 private:
  static Clock::duration to_duration(double seconds) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }

  std::vector<CpuTicks> sample_cpu() const {
    std::vector<CpuTicks> ticks;
    for (int pid : options_.cpu_pids) ticks.push_back(cpu_ticks(pid));
    return ticks;
  }

  static long rss_kib(int pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    }
    return -1;
  }

  size_t in_flight() const {
    size_t count = 0;
    for (const Connection& connection : connections_) count += connection.busy ? 1 : 0;
    return count;
  }

  Connection* idle_connection() {
    if (!idle_.empty()) {
      Connection* connection = idle_.back();
      idle_.pop_back();
      return connection;
    }
    if (connections_.size() < options_.connections) {
      connections_.emplace_back(&options_.expect);
      return &connections_.back();
    }
    return nullptr;
  }

  // Closes the socket, if open, and remembers why; a connection already closed keeps its
  // first reason (e.g. `Connection: close` on an answer that then fails its status check).
  void close_fd(Connection& connection, CloseReason reason) {
    if (connection.fd >= 0) {
      epoll_ctl(epoll_, EPOLL_CTL_DEL, connection.fd, nullptr);
      ::close(connection.fd);
      connection.close_reason = reason;
    }
    connection.fd = -1;
    connection.state = ConnState::kClosed;
  }

  // The reason for a failed send or recv with `error` (errno). Linux reports EPIPE once the
  // peer has closed its side and then reset the connection.
  static CloseReason io_close_reason(int error, const Connection& connection) {
    if (error == ECONNRESET) return CloseReason::kReset;
    if (error == EPIPE) {
      return connection.got_response_bytes ? CloseReason::kPeerClosedMidResponse
                                           : CloseReason::kPeerClosedBeforeResponse;
    }
    return CloseReason::kIoError;
  }

  void watch(Connection& connection, uint32_t events, int op) {
    epoll_event event{};
    event.events = events;
    event.data.ptr = &connection;
    epoll_ctl(epoll_, op, connection.fd, &event);
  }

  // Assigns a request to `connection` (connecting first when it has no socket).
  void start_request(Connection& connection, TimePoint start) {
    connection.busy = true;
    connection.failed = false;
    connection.start = start;
    connection.deadline = Clock::now() + std::chrono::milliseconds(options_.timeout_ms);
    connection.got_first = false;
    connection.got_response_bytes = false;
    connection.recorded = start >= measure_from_ && start < measure_until_;
    connection.written = 0;
    connection.reader.reset();
    if (connection.fd < 0) {
      if (connection.connected_once) {
        ++results_.reconnects;
        ++results_.reopens[static_cast<size_t>(connection.close_reason)];
      }
      connection.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (connection.fd < 0) {
        connection.close_reason = CloseReason::kConnectFailed;  // no socket for close_fd to close
        fail(connection, results_.errors_io, CloseReason::kConnectFailed);
        return;
      }
      const int one = 1;
      setsockopt(connection.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      const int rc =
          ::connect(connection.fd, reinterpret_cast<const sockaddr*>(&address_), sizeof address_);
      if (rc < 0 && errno != EINPROGRESS) {
        fail(connection, results_.errors_io, CloseReason::kConnectFailed);
        return;
      }
      connection.connected_once = true;
      connection.state = ConnState::kConnecting;
      watch(connection, EPOLLOUT | EPOLLIN, EPOLL_CTL_ADD);
      return;
    }
    connection.state = ConnState::kWriting;
    write_request(connection);
  }

  void write_request(Connection& connection) {
    while (connection.written < request_.size()) {
      const ssize_t sent = ::send(connection.fd, request_.data() + connection.written,
                                  request_.size() - connection.written, MSG_NOSIGNAL);
      if (sent < 0) {
        const int error = errno;
        if (error == EAGAIN) {
          watch(connection, EPOLLOUT | EPOLLIN, EPOLL_CTL_MOD);
          return;
        }
        fail(connection, results_.errors_io, io_close_reason(error, connection));
        return;
      }
      connection.written += static_cast<size_t>(sent);
    }
    if (connection.state != ConnState::kReading) {
      connection.state = ConnState::kReading;
      watch(connection, EPOLLIN, EPOLL_CTL_MOD);
    }
  }

  void on_event(Connection& connection, uint32_t events) {
    if (connection.state == ConnState::kConnecting) {
      int error = 0;
      socklen_t length = sizeof error;
      getsockopt(connection.fd, SOL_SOCKET, SO_ERROR, &error, &length);
      if (error != 0) {
        fail(connection, results_.errors_io, CloseReason::kConnectFailed);
        return;
      }
      connection.state = ConnState::kWriting;
      write_request(connection);
      return;
    }
    if (connection.state == ConnState::kWriting && (events & EPOLLOUT)) {
      write_request(connection);
      if (connection.state != ConnState::kReading) return;
    }
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
    if (connection.state == ConnState::kIdle || !connection.busy) {
      // The server closed an idle keep-alive connection: forget the socket.
      close_fd(connection, CloseReason::kPeerClosedIdle);
      return;
    }
    for (int round = 0; round < 16; ++round) {
      const ssize_t received = ::recv(connection.fd, buffer_.data(), buffer_.size(), 0);
      if (received < 0) {
        const int error = errno;
        if (error == EAGAIN) return;
        fail(connection, results_.errors_io, io_close_reason(error, connection));
        return;
      }
      if (received == 0) {
        if (connection.reader.at_close() == ResponseReader::Step::kDone) {
          complete(connection, CloseReason::kCloseDelimited);
        } else {
          fail(connection, results_.errors_io,
               connection.got_response_bytes ? CloseReason::kPeerClosedMidResponse
                                             : CloseReason::kPeerClosedBeforeResponse);
        }
        return;
      }
      connection.got_response_bytes = true;
      bool first_body = false;
      const ResponseReader::Step step = connection.reader.feed(
          std::string_view(buffer_.data(), static_cast<size_t>(received)), first_body);
      if (first_body && !connection.got_first) {
        connection.got_first = true;
        connection.first_byte = Clock::now();
      }
      if (step == ResponseReader::Step::kBad) {
        fail(connection, results_.errors_io, CloseReason::kBadResponse);
        return;
      }
      if (step == ResponseReader::Step::kDone) {
        // Here close_after() is the header's doing: a close-delimited body ends at EOF above.
        complete(connection, connection.reader.close_after() ? CloseReason::kConnectionCloseHeader
                                                             : CloseReason::kNone);
        return;
      }
    }
  }

  // A whole answer arrived; `close` is why the connection ends with it (kNone: kept alive).
  void complete(Connection& connection, CloseReason close) {
    const TimePoint now = Clock::now();
    if (!connection.got_first) connection.first_byte = now;
    const int status = connection.reader.status();
    if (close != CloseReason::kNone) close_fd(connection, close);
    if (status != 200) {
      results_.last_bad_status = status;
      fail(connection, results_.errors_status, CloseReason::kErrorStatus);
      return;
    }
    if (!connection.reader.body_ok()) {
      fail(connection, results_.errors_body, CloseReason::kErrorBody);
      return;
    }
    if (connection.recorded) {
      results_.ttfb_us.push_back(micros(connection.first_byte - connection.start));
      results_.ttlb_us.push_back(micros(now - connection.start));
    }
    finish(connection, now);
  }

  static uint32_t micros(Clock::duration duration) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
    return static_cast<uint32_t>(std::clamp<int64_t>(us, 0, UINT32_MAX));
  }

  void fail(Connection& connection, size_t& counter, CloseReason reason) {
    if (connection.recorded) ++counter;
    close_fd(connection, reason);
    connection.failed = true;
    finish(connection, Clock::now());
  }

  // The request is over: closed loop sends the next one (after a failure: at the next
  // timeout check, so a refusing server cannot make this recurse), open loop frees the
  // connection.
  void finish(Connection& connection, TimePoint now) {
    connection.busy = false;
    if (connection.fd >= 0) connection.state = ConnState::kIdle;
    if (options_.hold) return;
    if (options_.rate > 0) {
      idle_.push_back(&connection);
      return;
    }
    if (!connection.failed && now < measure_until_ && below_request_cap(now)) {
      start_request(connection, now);
    }
  }

  // Closed loop: counts a request about to start; false once --max-requests recorded
  // requests have started (warm-up requests do not count).
  bool below_request_cap(TimePoint now) {
    if (now < measure_from_) return true;
    return ++closed_loop_requests_ <= options_.max_requests;
  }

  void check_timeouts(TimePoint now) {
    for (Connection& connection : connections_) {
      if (connection.busy && now >= connection.deadline) {
        fail(connection, results_.errors_timeout,
             connection.state == ConnState::kConnecting ? CloseReason::kConnectTimeout
                                                        : CloseReason::kTimeout);
      }
    }
    if (options_.rate > 0 || options_.hold) return;
    for (Connection& connection : connections_) {
      if (!connection.busy && connection.failed && now < measure_until_ && below_request_cap(now)) {
        start_request(connection, now);
      }
    }
  }

  void poll_until(TimePoint wake) {
    const auto wait = std::max(Clock::duration::zero(), wake - Clock::now());
    timespec timeout{};
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
    timeout.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    timeout.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    epoll_event events[256];
    const int ready = epoll_pwait2(epoll_, events, 256, &timeout, nullptr);
    for (int i = 0; i < ready; ++i) {
      on_event(*static_cast<Connection*>(events[i].data.ptr), events[i].events);
    }
  }

  static uint32_t percentile(std::vector<uint32_t>& values, double fraction) {
    if (values.empty()) return 0;
    const size_t index = std::min(
        values.size() - 1, static_cast<size_t>(fraction * static_cast<double>(values.size())));
    std::nth_element(values.begin(), values.begin() + static_cast<long>(index), values.end());
    return values[index];
  }

  void print_results(size_t issued) {
    const size_t ok = results_.ttlb_us.size();
    const size_t errors = results_.errors_io + results_.errors_status + results_.errors_timeout +
                          results_.errors_body;
    const double rate = static_cast<double>(ok) / options_.seconds;
    const bool saturated =
        options_.rate > 0 && (results_.unsent > 0 || rate < 0.95 * options_.rate);
    std::printf(
        "ok=%zu errors=%zu rate=%.0f target_rate=%.0f saturated=%d unsent=%zu issued=%zu "
        "connections_opened=%zu reconnects=%zu",
        ok, errors, rate, options_.rate, saturated ? 1 : 0, results_.unsent, issued,
        connections_.size(), results_.reconnects);
    std::printf(" ttlb_p50=%u ttlb_p90=%u ttlb_p99=%u ttlb_max=%u",
                percentile(results_.ttlb_us, 0.5), percentile(results_.ttlb_us, 0.9),
                percentile(results_.ttlb_us, 0.99), percentile(results_.ttlb_us, 1.0));
    std::printf(" ttfb_p50=%u ttfb_p99=%u", percentile(results_.ttfb_us, 0.5),
                percentile(results_.ttfb_us, 0.99));
    std::printf(" errors_io=%zu errors_status=%zu errors_timeout=%zu errors_body=%zu",
                results_.errors_io, results_.errors_status, results_.errors_timeout,
                results_.errors_body);
    if (results_.last_bad_status) std::printf(" last_bad_status=%d", results_.last_bad_status);
    if (cpu_after_.empty()) cpu_after_ = sample_cpu();  // the loop ended as the window did
    const double us_per_tick = 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
    for (size_t i = 0; i < cpu_before_.size() && i < cpu_after_.size() && ok > 0; ++i) {
      const CpuTicks& before = cpu_before_[i];
      const CpuTicks& after = cpu_after_[i];
      if (before.user < 0 || after.user < 0) continue;  // the process was gone
      const double per_ok = us_per_tick / static_cast<double>(ok);
      std::printf(" pid%zu_user_us=%.1f pid%zu_sys_us=%.1f", i,
                  static_cast<double>(after.user - before.user) * per_ok, i,
                  static_cast<double>(after.system - before.system) * per_ok);
    }
    // Why connections were reopened; these add up to `reconnects`.
    for (size_t reason = static_cast<size_t>(CloseReason::kNone) + 1;
         reason < results_.reopens.size(); ++reason) {
      std::printf(" %s=%zu", kCloseReasonKeys[reason], results_.reopens[reason]);
    }
    std::printf("\n");
  }

  const Options& options_;
  std::string request_;
  sockaddr_in address_{};
  int epoll_ = -1;
  std::vector<char> buffer_;
  std::vector<Connection> connections_;  // reserved up front: pointers stay valid
  std::vector<Connection*> idle_;        // open loop: connections free for a request
  TimePoint measure_from_;
  std::vector<CpuTicks> cpu_before_;  // at measure_from_, per --cpu-pid
  std::vector<CpuTicks> cpu_after_;   // at measure_until_
  TimePoint measure_until_;
  size_t closed_loop_requests_ = 0;
  Results results_;
};

void print_usage() {
  std::fputs(
      "usage: proxy_load --port PORT --path PATH --body-file FILE [--header 'N: v']...\n"
      "                  --connections C --seconds S [--warmup S] [--rate R] [--expect TEXT]\n"
      "                  [--timeout-ms MS] [--max-requests N] [--cpu-pid PID]...\n"
      "       proxy_load --hold N --port PORT --path PATH --body-file FILE --rss-pid PID...\n",
      stderr);
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return false;
  std::ostringstream text;
  text << file.rdbuf();
  out = text.str();
  return true;
}

bool parse_options(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) return false;
    const std::string value = argv[++i];
    char* end = nullptr;
    if (flag == "--port") {
      options.port = static_cast<uint16_t>(std::strtoul(value.c_str(), &end, 10));
    } else if (flag == "--path") {
      options.path = value;
    } else if (flag == "--body-file") {
      if (!read_file(value, options.body)) {
        std::fprintf(stderr, "proxy_load: cannot read %s\n", value.c_str());
        return false;
      }
    } else if (flag == "--header") {
      if (value.find_first_of("\r\n") != std::string::npos) return false;
      options.headers.push_back(value);
    } else if (flag == "--connections") {
      options.connections = std::strtoul(value.c_str(), &end, 10);
    } else if (flag == "--seconds") {
      options.seconds = std::strtod(value.c_str(), &end);
    } else if (flag == "--warmup") {
      options.warmup = std::strtod(value.c_str(), &end);
    } else if (flag == "--rate") {
      options.rate = std::strtod(value.c_str(), &end);
    } else if (flag == "--expect") {
      options.expect = value;
    } else if (flag == "--timeout-ms") {
      options.timeout_ms = static_cast<int>(std::strtol(value.c_str(), &end, 10));
    } else if (flag == "--max-requests") {
      options.max_requests = std::strtoul(value.c_str(), &end, 10);
    } else if (flag == "--hold") {
      options.hold = std::strtoul(value.c_str(), &end, 10);
    } else if (flag == "--rss-pid") {
      options.rss_pids.push_back(static_cast<int>(std::strtol(value.c_str(), &end, 10)));
    } else if (flag == "--cpu-pid") {
      options.cpu_pids.push_back(static_cast<int>(std::strtol(value.c_str(), &end, 10)));
    } else {
      return false;
    }
    if (end != nullptr && *end != '\0') return false;
  }
  const bool hold = options.hold > 0;
  return options.port != 0 && !options.path.empty() && options.connections >= 1 &&
         options.connections <= 20'000 && options.seconds > 0 && options.seconds <= 600 &&
         options.warmup >= 0 && options.warmup <= 600 && options.rate >= 0 &&
         options.rate <= 1'000'000 && options.timeout_ms > 0 && options.timeout_ms <= 600'000 &&
         options.hold <= 20'000 && (!hold || !options.rss_pids.empty());
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse_options(argc, argv, options)) {
    print_usage();
    return kUsageExit;
  }
  // A pid that names no process would only leave its figures out of the result line.
  for (const std::vector<int>* pids : {&options.cpu_pids, &options.rss_pids}) {
    for (int pid : *pids) {
      if (pid <= 0 || cpu_ticks(pid).user < 0) {
        std::fprintf(stderr, "proxy_load: %s %d: no such process\n",
                     pids == &options.cpu_pids ? "--cpu-pid" : "--rss-pid", pid);
        return kUsageExit;
      }
    }
  }
  Load load(options);
  return options.hold > 0 ? load.run_hold() : load.run_load();
}
