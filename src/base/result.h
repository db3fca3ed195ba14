// Result<T>: a value or an Error, returned by every fallible call that crosses a
// module boundary. Errors carry a kind (what a caller may branch on) and a message
// a user can act on. Bad input is an Error, never an assertion or an exception.
//
// TRY(expr) evaluates a Result; on error it returns the error from the enclosing
// function, otherwise it yields the value (for Result<void>, nothing).
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace joey {

enum class ErrorKind {
  kInvalidArgument,   // the caller (user, model, file) supplied something malformed
  kNotFound,          // a file, model, task or key does not exist
  kAlreadyExists,
  kPermissionDenied,  // refused by policy: approval, workspace boundary, ignore file
  kIo,                // the operating system failed a read, write or spawn
  kNetwork,           // could not connect, connection reset, stream cut
  kTimeout,
  kCancelled,         // the user pressed Ctrl-C
  kAuth,              // the provider rejected the key (401/403)
  kRateLimited,       // 429
  kServer,            // 5xx from a provider
  kContextOverflow,   // the conversation is longer than the model's context window
  kUnknownModel,
  kProtocol,          // a peer sent bytes that do not follow its protocol
  kLimit,             // a configured bound was reached (--max-requests, --max-cost)
  kNeedsDecision,     // an action needs the user's approval and nobody can be asked
  kInternal,
};

const char* error_kind_name(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;

  Error() = default;
  Error(ErrorKind error_kind, std::string error_message)
      : kind(error_kind), message(std::move(error_message)) {}

  // Prefixes context ("reading config.toml: ") while keeping the kind.
  Error with_context(const std::string& context) const {
    return Error(kind, context + ": " + message);
  }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& {
    assert(!ok());
    return std::get<1>(state_);
  }
  Error&& error() && {
    assert(!ok());
    return std::get<1>(std::move(state_));
  }

  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  void value() const { assert(ok_); }
  const Error& error() const& {
    assert(!ok_);
    return error_;
  }
  Error&& error() && {
    assert(!ok_);
    return std::move(error_);
  }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status ok_status() { return Status(); }

inline Error make_error(ErrorKind kind, std::string message) {
  return Error(kind, std::move(message));
}

}  // namespace joey

// GCC/Clang statement expression: yields the value of an ok Result, returns the
// error otherwise. Works for Result<void> too (the expression is then void).
#define JOEY_TRY_CONCAT_INNER(a, b) a##b
#define JOEY_TRY_CONCAT(a, b) JOEY_TRY_CONCAT_INNER(a, b)
#define TRY(expr)                                                    \
  ({                                                                 \
    auto&& JOEY_TRY_CONCAT(try_result_, __LINE__) = (expr);          \
    if (!JOEY_TRY_CONCAT(try_result_, __LINE__).ok())                \
      return std::move(JOEY_TRY_CONCAT(try_result_, __LINE__)).error(); \
    std::move(JOEY_TRY_CONCAT(try_result_, __LINE__)).value();       \
  })
