// transport/process_exit_status.hpp — how a process ended.
#pragma once

#include <string>

namespace snakepit::transport {

/// How a reaped process ended: exited with a code, or killed by a signal.
/// `unknown` is reported only when someone else reaped the child first (e.g.
/// the host set SIGCHLD to SIG_IGN or called waitpid(-1)).
struct exit_status {
  enum class kind { exited, killed, unknown };

  kind how = kind::unknown;
  int value = 0;            ///< exit code for `exited`, signal number for `killed`
  bool core_dumped = false; ///< only for `killed`

  [[nodiscard]] static exit_status exited_with(int code) noexcept { return {kind::exited, code, false}; }
  [[nodiscard]] static exit_status killed_by(int signal, bool core = false) noexcept {
    return {kind::killed, signal, core};
  }
  [[nodiscard]] static exit_status unknown_status() noexcept { return {kind::unknown, 0, false}; }

  [[nodiscard]] bool exited() const noexcept { return how == kind::exited; }
  [[nodiscard]] bool killed() const noexcept { return how == kind::killed; }
  [[nodiscard]] bool success() const noexcept { return exited() && value == 0; }
  /// The exit code (meaningful when exited()).
  [[nodiscard]] int code() const noexcept { return exited() ? value : -1; }
  /// The signal number (meaningful when killed()).
  [[nodiscard]] int signal() const noexcept { return killed() ? value : 0; }

  friend bool operator==(const exit_status&, const exit_status&) = default;
};

/// "exited with code 2", "killed by signal 9 (SIGKILL)",
/// "killed by signal 11 (SIGSEGV, core dumped)", "exit status unknown".
[[nodiscard]] std::string to_string(const exit_status& status);

/// "SIGKILL" for 9; "signal 99" for a number without a name.
[[nodiscard]] std::string signal_name(int signal);

} // namespace snakepit::transport
