// transport/bridge_server_error.hpp — why the host bridge server could not
// start, as a typed error, and bridge_result<T>.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace snakepit::transport {

enum class bridge_errc {
  invalid_options,    ///< no handler, an empty address, a deadline <= 0
  invalid_address,    ///< a unix: address that is relative or too long for sun_path
  directory_missing,  ///< the Unix socket's directory does not exist (the runtime creates it)
  insecure_directory, ///< the socket's directory is reachable by other users, or not ours
  bind_failed,        ///< gRPC could not listen on the address (in use, no permission, ...)
};

/// "invalid options", "insecure directory", ...
[[nodiscard]] std::string_view to_string(bridge_errc code) noexcept;

struct bridge_error {
  bridge_errc code = bridge_errc::bind_failed;
  std::string message; ///< names the address or path and the rule broken
};

/// "insecure directory: /tmp/x is mode 0755; ..."
[[nodiscard]] std::string to_string(const bridge_error& error);

/// Success without a value.
struct bridge_ok {};

/// A T or a bridge_error (C++20 has no std::expected). Accessing the wrong
/// alternative throws std::logic_error.
template <class T>
class bridge_result {
public:
  bridge_result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  bridge_result(bridge_error error) : state_(std::in_place_index<1>, std::move(error)) {}

  [[nodiscard]] bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  [[nodiscard]] T& value() & { return std::get<0>(checked(true)); }
  [[nodiscard]] const T& value() const& { return std::get<0>(checked(true)); }
  [[nodiscard]] T&& value() && { return std::get<0>(std::move(checked(true))); }
  [[nodiscard]] const bridge_error& error() const& { return std::get<1>(checked(false)); }
  [[nodiscard]] bridge_error&& error() && { return std::get<1>(std::move(checked(false))); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

private:
  std::variant<T, bridge_error>& checked(bool want_value) {
    if (has_value() != want_value)
      throw std::logic_error(want_value ? "bridge_result holds an error: "
                                            + to_string(std::get<1>(state_))
                                        : "bridge_result holds a value, not an error");
    return state_;
  }
  const std::variant<T, bridge_error>& checked(bool want_value) const {
    return const_cast<bridge_result*>(this)->checked(want_value);
  }
  std::variant<T, bridge_error> state_;
};

} // namespace snakepit::transport
