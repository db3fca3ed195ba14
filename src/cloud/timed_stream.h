// TimedStream: a TCP stream whose reads and writes fail with beast::error::timeout once
// their deadline passes — what beast::tcp_stream offers, without its cost per operation.
//
// beast::tcp_stream arms a timer for every read and write and cancels it when the
// operation completes: a trip through the timer queue, a completion of the cancelled
// wait, and usually a timerfd_settime() system call each way. A proxied request makes
// four such operations on two connections. Here each stream has one timer, armed
// lazily: setting a deadline is a store; the timer is armed only when an operation
// starts with a deadline earlier than the one it is armed for; when it fires, operations
// whose deadline has passed time out (the socket is closed, as Beast does), and
// otherwise it re-arms itself for the earliest deadline still pending. A connection
// busy with short requests arms its timer about once per timeout period instead of
// twice per request.
//
// Semantics follow beast::tcp_stream: expires_after()/expires_at()/expires_never() set
// the deadline of the next read and of the next write; an operation already pending
// keeps the deadline it started with. An operation started after its deadline times
// out at once (beast::tcp_stream lets it race its timer). On a timeout the socket is
// closed, so every pending operation completes: the one that timed out with
// beast::error::timeout, others with their own error.
//
// Usable as the next layer of beast::ssl_stream, and beast::get_lowest_layer() finds it.
//
// Thread-safety: like a socket — one operation of each direction at a time, and all calls
// from one strand (when several threads run the io_context). The timer's handler runs
// on the executor the stream was made with, or the one given to rebind().
#pragma once

#include "cloud/asio.h"  // first: <utility> before Asio (DESIGN.md §6)

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

namespace joey::cloud {

namespace timed_stream_detail {

using Clock = std::chrono::steady_clock;
using boost::system::error_code;
inline constexpr Clock::time_point kNever = Clock::time_point::max();

// Shared between the stream, its pending operations and its timer's wait, so that a
// stream destroyed with operations pending is not touched after it is gone.
struct State : std::enable_shared_from_this<State> {
  struct Direction {
    Clock::time_point deadline = kNever;  // for the next operation, or the pending one's
    bool pending = false;
    bool timed_out = false;
  };

  explicit State(asio::ip::tcp::socket&& s) : socket(std::move(s)), timer(socket.get_executor()) {}

  void set_deadline(Clock::time_point at) {
    if (!read.pending) read.deadline = at;
    if (!write.pending) write.deadline = at;
  }

  void start(Direction& direction) {
    direction.pending = true;
    direction.timed_out = false;
    if (direction.deadline == kNever) return;
    if (direction.deadline <= Clock::now()) {
      // Already late: the operation fails at once (on the closed socket), not after a
      // race between the I/O and the timer.
      direction.timed_out = true;
      close();
      return;
    }
    if (direction.deadline < armed) arm(direction.deadline);
  }

  // Returns the error the operation reports: a timeout when its deadline closed the socket.
  error_code finish(Direction& direction, error_code error) {
    direction.pending = false;
    if (direction.timed_out) {
      direction.timed_out = false;
      return beast::error::timeout;
    }
    return error;
  }

  void close() {
    error_code ignored;
    socket.close(ignored);
    disarm();
  }

  void arm(Clock::time_point at) {
    armed = at;
    const uint64_t wait = ++generation;
    timer.expires_at(at);  // cancels an earlier wait, which then sees a stale generation
    timer.async_wait([self = shared_from_this(), wait](const error_code& error) {
      if (error != asio::error::operation_aborted && wait == self->generation.load()) {
        self->fired();
      }
    });
  }

  // A wait already completed but not yet run sees a stale generation; one still pending
  // is cancelled.
  void disarm() {
    ++generation;
    timer.cancel();
    armed = kNever;
  }

  void fired() {
    armed = kNever;
    const Clock::time_point now = Clock::now();
    bool expired = false;
    Clock::time_point next = kNever;
    for (Direction* direction : {&read, &write}) {
      if (!direction->pending) continue;
      if (direction->deadline <= now) {
        direction->timed_out = true;
        expired = true;
      } else {
        next = std::min(next, direction->deadline);
      }
    }
    if (expired) {
      close();
    } else if (next != kNever) {
      arm(next);
    }
  }

  asio::ip::tcp::socket socket;
  asio::steady_timer timer;
  Direction read;
  Direction write;
  Clock::time_point armed = kNever;  // when the current wait ends; kNever: no wait
  // Of the current wait. Atomic: after rebind(), a stale wait's handler may still read it
  // on the strand that used the stream before.
  std::atomic<uint64_t> generation{0};
};

// Wraps an operation's completion handler: ends the operation's timing, then calls the
// handler (on the handler's own executor and allocator, forwarded below).
template <typename Handler>
struct TimedHandler {
  std::shared_ptr<State> state;
  State::Direction State::*direction;
  Handler handler;

  template <typename... Args>
  void operator()(error_code error, Args&&... args) {
    error = state->finish((*state).*direction, error);
    std::move(handler)(error, std::forward<Args>(args)...);
  }
};

template <typename Handler>
bool asio_handler_is_continuation(TimedHandler<Handler>* self) {
  return boost_asio_handler_cont_helpers::is_continuation(self->handler);
}

}  // namespace timed_stream_detail

class TimedStream {
 public:
  using Clock = timed_stream_detail::Clock;
  using executor_type = asio::any_io_executor;
  using socket_type = asio::ip::tcp::socket;
  using lowest_layer_type = socket_type;
  using endpoint_type = asio::ip::tcp::endpoint;

  explicit TimedStream(socket_type socket)
      : state_(std::make_shared<timed_stream_detail::State>(std::move(socket))) {}
  explicit TimedStream(const executor_type& executor) : TimedStream(socket_type(executor)) {}
  ~TimedStream() { state_->close(); }

  TimedStream(const TimedStream&) = delete;
  TimedStream& operator=(const TimedStream&) = delete;

  executor_type get_executor() noexcept { return state_->socket.get_executor(); }
  socket_type& socket() noexcept { return state_->socket; }
  lowest_layer_type& lowest_layer() noexcept { return state_->socket; }

  void expires_after(Clock::duration after) { state_->set_deadline(Clock::now() + after); }
  void expires_at(Clock::time_point at) { state_->set_deadline(at); }
  void expires_never() { state_->set_deadline(timed_stream_detail::kNever); }

  // Closes the socket (pending operations complete with an error) and stops the timer.
  void close() { state_->close(); }

  // Handing the stream to another strand (a pooled upstream connection reused by another
  // client connection): the timer's handler must run where the stream's operations do.
  // disarm() on the strand that used it last, with no operation pending; rebind() on the
  // strand that takes it over, before its first operation.
  void disarm() { state_->disarm(); }
  // Whether the timer's handler runs on a strand (several threads run the io_context):
  // only then can another strand take the stream over. With one thread all users share
  // the executor, and a pooled stream keeps its timer armed.
  bool on_strand() const {
    return state_->timer.get_executor().target<asio::strand<asio::io_context::executor_type>>() !=
           nullptr;
  }
  void rebind(const executor_type& executor) {
    if (state_->timer.get_executor() == executor) return;
    state_->disarm();
    state_->timer = asio::steady_timer(executor);
  }

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return timed<void(boost::system::error_code, size_t)>(
        &timed_stream_detail::State::read, std::forward<Token>(token), buffers,
        [](socket_type& socket, const MutableBuffers& to, auto handler) {
          socket.async_read_some(to, std::move(handler));
        });
  }

  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return timed<void(boost::system::error_code, size_t)>(
        &timed_stream_detail::State::write, std::forward<Token>(token), buffers,
        [](socket_type& socket, const ConstBuffers& from, auto handler) {
          socket.async_write_some(from, std::move(handler));
        });
  }

  // Connects to the first endpoint of `endpoints` that accepts, within the deadline.
  template <typename Endpoints, typename Token>
  auto async_connect(const Endpoints& endpoints, Token&& token) {
    return timed<void(boost::system::error_code, endpoint_type)>(
        &timed_stream_detail::State::write, std::forward<Token>(token), endpoints,
        [](socket_type& socket, const Endpoints& to, auto handler) {
          asio::async_connect(socket, to, std::move(handler));
        });
  }

 private:
  // Starts an operation of `direction` on the socket — `perform(socket, argument,
  // handler)` — with its completion handler wrapped so the operation's deadline ends
  // with it.
  template <typename Signature, typename Token, typename Argument, typename Perform>
  auto timed(timed_stream_detail::State::Direction timed_stream_detail::State::*direction,
             Token&& token, const Argument& argument, Perform perform) {
    return asio::async_initiate<Token, Signature>(
        [direction, perform](auto handler, const std::shared_ptr<timed_stream_detail::State>& state,
                             const Argument& what) {
          state->start((*state).*direction);
          perform(state->socket, what,
                  timed_stream_detail::TimedHandler<decltype(handler)>{state, direction,
                                                                       std::move(handler)});
        },
        token, state_, argument);
  }

  std::shared_ptr<timed_stream_detail::State> state_;
};

}  // namespace joey::cloud

namespace boost::asio {

template <typename Handler, typename Executor>
struct associated_executor<joey::cloud::timed_stream_detail::TimedHandler<Handler>, Executor> {
  using type = associated_executor_t<Handler, Executor>;
  static type get(const joey::cloud::timed_stream_detail::TimedHandler<Handler>& self,
                  const Executor& fallback = Executor()) noexcept {
    return associated_executor<Handler, Executor>::get(self.handler, fallback);
  }
};

template <typename Handler, typename Allocator>
struct associated_allocator<joey::cloud::timed_stream_detail::TimedHandler<Handler>, Allocator> {
  using type = associated_allocator_t<Handler, Allocator>;
  static type get(const joey::cloud::timed_stream_detail::TimedHandler<Handler>& self,
                  const Allocator& fallback = Allocator()) noexcept {
    return associated_allocator<Handler, Allocator>::get(self.handler, fallback);
  }
};

}  // namespace boost::asio
