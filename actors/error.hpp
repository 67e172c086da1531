#pragma once
// The runtime's public errors and results (DESIGN rule 6: errors are values).

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace snakepit {

enum class errc : uint8_t {
  timeout = 1,       // the call's deadline passed (queued or running)
  queue_full,        // the pool's queue is at max_queue
  worker_crashed,    // the worker's process died during the call
  python_exception,  // the tool raised: python_type() and traceback() say what
  unknown_command,   // no such tool
  invalid_argument,  // bad arguments (Python binding error, or values that cannot cross the wire)
  not_ready,         // no worker is ready (await_ready failed or timed out)
  shutting_down,     // the runtime is stopping
  cancelled,         // the call was cancelled
  worker_busy,       // strict_fail_fast affinity and the session's worker is busy
  session_not_found, // no such session
  startup_failed,    // a worker could not start (bad interpreter, adapter that does not import, ...)
  variable_not_found, // no such variable in the session
  invalid_value,     // a value breaks a variable's type or constraints; nothing was changed
  version_conflict,  // compare-and-set: the variable changed since the version given
  already_exists,    // a name (session id, variable, host tool) is already taken
  invalid_state,     // the session cannot take this now (paused, in cleanup, terminated)
  session_limit,     // max_sessions sessions exist already
  internal,          // a bug of ours; the message says where
};

const char* to_string(errc code);

class error {
public:
  error() = default;
  error(errc code, std::string message, std::string python_type = {}, std::string traceback = {})
    : code_(code),
      message_(std::move(message)),
      python_type_(std::move(python_type)),
      traceback_(std::move(traceback)) {}

  errc code() const { return code_; }
  const std::string& message() const { return message_; }
  /// For python_exception: the exception's type name, e.g. "ValueError".
  const std::string& python_type() const { return python_type_; }
  /// For python_exception: the formatted Python traceback.
  const std::string& traceback() const { return traceback_; }

  /// "python_exception: ValueError: bad value" (one line, no traceback).
  std::string to_string() const;

private:
  errc code_ = errc::internal;
  std::string message_;
  std::string python_type_;
  std::string traceback_;
};

/// A value or an error. Converts to bool (true when it holds a value).
template <class T>
class result {
public:
  result(T value) : v_(std::move(value)) {}
  result(snakepit::error err) : v_(std::move(err)) {}

  explicit operator bool() const { return v_.index() == 0; }
  bool has_value() const { return v_.index() == 0; }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const snakepit::error& error() const { return std::get<1>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

private:
  std::variant<T, snakepit::error> v_;
};

template <>
class result<void> {
public:
  result() = default;
  result(snakepit::error err) : err_(std::move(err)) {}

  explicit operator bool() const { return !err_; }
  bool has_value() const { return !err_; }
  const snakepit::error& error() const { return *err_; }

private:
  std::optional<snakepit::error> err_;
};

} // namespace snakepit
