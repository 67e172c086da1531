// transport/worker_channel_error.hpp — the typed error of a worker channel
// (unary control calls and the Channel stream) and channel_result<T>.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace snakepit::transport {

/// What went wrong, as a category a caller can branch on. gRPC statuses are
/// mapped by grpc_status_map.hpp.
enum class channel_errc {
  timeout,            ///< the call's deadline passed (DEADLINE_EXCEEDED)
  worker_unavailable, ///< no connection to the worker, or it went away (UNAVAILABLE)
  cancelled,          ///< cancelled by us (channel destroyed, abort()) (CANCELLED)
  invalid_argument,   ///< the worker refused the call's arguments (INVALID_ARGUMENT)
  resource_exhausted, ///< e.g. a message above the size limit (RESOURCE_EXHAUSTED)
  unimplemented,      ///< the worker does not serve this method (UNIMPLEMENTED)
  rpc_failed,         ///< any other non-OK gRPC status (INTERNAL, UNKNOWN, ...)
  invalid_address,    ///< the address given to connect() is unusable
  not_open,           ///< send()/cancel()/close() before open()
  already_open,       ///< open() on a channel whose stream was already opened
  stream_closed,      ///< send()/cancel() after the stream closed or close() was called
};

/// "timeout", "worker unavailable", ...
[[nodiscard]] std::string_view to_string(channel_errc code) noexcept;

struct channel_error {
  channel_errc code = channel_errc::rpc_failed;
  std::string operation; ///< "Ping", "DescribeTools", "Shutdown", "Channel", "send", ...
  int grpc_code = 0;     ///< the grpc::StatusCode, 0 (OK) when none is involved
  std::string message;   ///< detail, e.g. gRPC's error message
};

/// "timeout: Ping: Deadline Exceeded (grpc 4)"
[[nodiscard]] std::string to_string(const channel_error& error);

/// Success without a value.
struct channel_ok {};

/// A T or a channel_error (C++20 has no std::expected). Accessing the wrong
/// alternative throws std::logic_error.
template <class T>
class channel_result {
public:
  channel_result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  channel_result(channel_error error) : state_(std::in_place_index<1>, std::move(error)) {}

  [[nodiscard]] bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  [[nodiscard]] T& value() & { return std::get<0>(checked(true)); }
  [[nodiscard]] const T& value() const& { return std::get<0>(checked(true)); }
  [[nodiscard]] T&& value() && { return std::get<0>(std::move(checked(true))); }
  [[nodiscard]] const channel_error& error() const& { return std::get<1>(checked(false)); }
  [[nodiscard]] channel_error&& error() && { return std::get<1>(std::move(checked(false))); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

private:
  std::variant<T, channel_error>& checked(bool want_value) {
    if (has_value() != want_value)
      throw std::logic_error(want_value ? "channel_result holds an error: "
                                            + to_string(std::get<1>(state_))
                                        : "channel_result holds a value, not an error");
    return state_;
  }
  const std::variant<T, channel_error>& checked(bool want_value) const {
    return const_cast<channel_result*>(this)->checked(want_value);
  }
  std::variant<T, channel_error> state_;
};

} // namespace snakepit::transport
