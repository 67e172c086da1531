// transport/process_registry_error.hpp — the typed error of the durable
// process registry, and registry_result<T>: a value or that error.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace snakepit::transport {

/// What went wrong, as a category a caller can branch on.
enum class registry_errc {
  /// The database file cannot be created or opened where the caller asked:
  /// the directory is missing and cannot be made, is not a directory, is not
  /// writable, or a corrupt file there cannot be moved aside.
  cannot_create,
  /// SQLite failed on a database that opened fine (disk full, I/O error, a
  /// lock held past the busy timeout, ...). `sqlite_code` says which.
  database_error,
  /// A malformed argument (empty run id, negative pid, ...).
  invalid_argument,
  /// No row with that id (complete()/mark_exited() on an unknown or pruned row).
  unknown_row,
};

/// "cannot create registry", "database error", ...
[[nodiscard]] std::string_view to_string(registry_errc code) noexcept;

/// A typed error value. `sys_errno` / `sqlite_code` are 0 when not involved.
struct registry_error {
  registry_errc code = registry_errc::database_error;
  std::string operation; ///< the failed step, e.g. "mkdir", "sqlite3_open_v2", "reserve"
  int sys_errno = 0;
  int sqlite_code = 0; ///< the extended SQLite result code
  std::string message; ///< human-readable detail, including the file's path
};

/// "database error: /d/x.sqlite: reserve: database is locked (SQLITE_BUSY)"
[[nodiscard]] std::string to_string(const registry_error& error);

/// An expected-style result (like process_result). Accessing the wrong
/// alternative throws std::logic_error. registry_result<void> carries only
/// success or an error.
template <class T>
class registry_result {
public:
  registry_result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  registry_result(registry_error error) : state_(std::in_place_index<1>, std::move(error)) {}

  [[nodiscard]] bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  [[nodiscard]] T& value() & { return std::get<0>(checked(true)); }
  [[nodiscard]] const T& value() const& { return std::get<0>(checked(true)); }
  [[nodiscard]] T&& value() && { return std::get<0>(std::move(checked(true))); }

  [[nodiscard]] const registry_error& error() const& { return std::get<1>(checked(false)); }
  [[nodiscard]] registry_error&& error() && { return std::get<1>(std::move(checked(false))); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

private:
  std::variant<T, registry_error>& checked(bool want_value) {
    if (has_value() != want_value)
      throw std::logic_error(want_value ? "registry_result holds an error: "
                                            + to_string(std::get<1>(state_))
                                        : "registry_result holds a value, not an error");
    return state_;
  }
  const std::variant<T, registry_error>& checked(bool want_value) const {
    return const_cast<registry_result*>(this)->checked(want_value);
  }

  std::variant<T, registry_error> state_;
};

template <>
class registry_result<void> {
public:
  registry_result() = default;
  registry_result(registry_error error) : error_(std::move(error)), failed_(true) {}

  [[nodiscard]] bool has_value() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return !failed_; }

  [[nodiscard]] const registry_error& error() const& {
    if (!failed_)
      throw std::logic_error("registry_result holds a value, not an error");
    return error_;
  }

private:
  registry_error error_;
  bool failed_ = false;
};

} // namespace snakepit::transport
