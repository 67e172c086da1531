// transport/process_error.hpp — the typed error of process launch and stop.
#pragma once

#include <string>
#include <string_view>

namespace snakepit::transport {

/// What went wrong, as a category a caller can branch on.
enum class process_errc {
  program_not_found,     ///< no such program (ENOENT/ENOTDIR from execve, or not on PATH)
  permission_denied,     ///< the program exists but may not be executed (EACCES/EPERM)
  exec_format_error,     ///< the kernel cannot execute the file (ENOEXEC, ...)
  bad_working_directory, ///< chdir to process_spec::working_directory failed
  invalid_spec,          ///< the process_spec is malformed (empty program, fd clash, NUL byte, ...)
  system_error,          ///< a system call failed (pipe2, fork, pidfd_open, epoll_ctl, ...)
  spawn_timeout,         ///< the child neither exec'd nor failed within the exec timeout
  stop_timeout,          ///< the process group survived SIGKILL for the kill timeout
  launcher_stopped,      ///< the launcher is shutting down and did not run the request
};

/// "program not found", "stop timed out", ...
[[nodiscard]] std::string_view to_string(process_errc code) noexcept;

/// A typed error value. `sys_errno` is 0 when no system call is involved.
struct process_error {
  process_errc code = process_errc::system_error;
  std::string operation; ///< the failed step, e.g. "execve", "pipe2", "chdir (in child)"
  int sys_errno = 0;
  std::string message; ///< human-readable detail, including the label of the process
};

/// "program not found: w1: cannot run '/nope': execve: No such file or directory (ENOENT)"
[[nodiscard]] std::string to_string(const process_error& error);

/// Builds an error from a failed system call; the errno text goes into the message.
[[nodiscard]] process_error make_process_error(process_errc code, std::string operation,
                                               int sys_errno, std::string detail);

/// The description of an errno value, e.g. "No such file or directory (ENOENT)". Thread-safe.
[[nodiscard]] std::string errno_text(int sys_errno);

} // namespace snakepit::transport
