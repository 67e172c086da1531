// transport/process_result.hpp — process_result<T>: a value or a process_error.
#pragma once

#include "transport/process_error.hpp"

#include <stdexcept>
#include <utility>
#include <variant>

namespace snakepit::transport {

/// An expected-style result (C++20 has no std::expected). Holds either a T or
/// a process_error. Accessing the wrong alternative throws std::logic_error.
template <class T>
class process_result {
public:
  process_result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  process_result(process_error error) : state_(std::in_place_index<1>, std::move(error)) {}

  [[nodiscard]] bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  [[nodiscard]] T& value() & { return std::get<0>(checked(true)); }
  [[nodiscard]] const T& value() const& { return std::get<0>(checked(true)); }
  [[nodiscard]] T&& value() && { return std::get<0>(std::move(checked(true))); }

  [[nodiscard]] const process_error& error() const& { return std::get<1>(checked(false)); }
  [[nodiscard]] process_error&& error() && { return std::get<1>(std::move(checked(false))); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

private:
  std::variant<T, process_error>& checked(bool want_value) {
    if (has_value() != want_value)
      throw std::logic_error(want_value ? "process_result holds an error: "
                                            + to_string(std::get<1>(state_))
                                        : "process_result holds a value, not an error");
    return state_;
  }
  const std::variant<T, process_error>& checked(bool want_value) const {
    return const_cast<process_result*>(this)->checked(want_value);
  }

  std::variant<T, process_error> state_;
};

} // namespace snakepit::transport
