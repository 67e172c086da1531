// transport/process_observer.hpp — the callbacks through which a launched
// process is observed, and the values they carry.
#pragma once

#include "transport/process_exit_status.hpp"
#include "transport/process_id.hpp"
#include "transport/process_result.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace snakepit::transport {

/// Where a line came from: the child's stdout, stderr, or the notify pipe
/// (process_spec::notify_fd).
enum class output_stream { stdout_stream, stderr_stream, notify_stream };

/// "stdout" / "stderr" / "notify".
[[nodiscard]] constexpr const char* to_string(output_stream s) noexcept {
  switch (s) {
    case output_stream::stdout_stream:
      return "stdout";
    case output_stream::stderr_stream:
      return "stderr";
    case output_stream::notify_stream:
      return "notify";
  }
  return "unknown";
}

/// The child is running (execve succeeded).
struct process_started {
  process_id pid = 0;
  process_id pgid = 0; ///< always equal to pid: the child leads its own group
  std::string label;
};

/// One line of output, without its '\n'. A line longer than the launcher's
/// max_line_bytes is cut at that bound (`truncated`) and its rest dropped.
struct process_output {
  process_id pid = 0;
  std::string label;
  output_stream stream = output_stream::stdout_stream;
  std::string text;
  bool truncated = false;
};

/// The child (the group leader) has exited and has been reaped.
struct process_exit {
  process_id pid = 0;
  process_id pgid = 0;
  std::string label;
  exit_status status;
};

/// The result of terminate() / kill_group().
struct stop_report {
  process_id pid = 0;
  /// false: this launcher had no running child and no live group with that
  /// pid (it had already exited and been reported, or was never ours), so
  /// nothing was signalled.
  bool was_running = false;
  /// The leader's status if it exited during this stop (nullopt if it had
  /// already exited before; its on_exit carried the status then).
  std::optional<exit_status> leader_status;
  /// SIGKILL was sent to the group (grace expired, or kill_group()).
  bool killed = false;
  std::chrono::milliseconds elapsed{0};
};

/// The callbacks of one launched process. Any of them may be empty.
///
/// THREADING: every callback runs on the launcher's single I/O thread (the
/// only exception: launch() on a launcher that is already being destroyed
/// calls on_started with `launcher_stopped` on the caller's thread). Callbacks
/// of all processes are therefore serialized, but they run concurrently with
/// the rest of the program: they must be thread-safe with respect to it and
/// QUICK (no blocking, no waiting: an actor would just anon_send). They must
/// not call back into the launcher's destructor. An exception thrown by a
/// callback is caught and reported through the diagnostic sink.
///
/// ORDER per process: on_started, then zero or more on_output, then exactly
/// one on_exit (if on_started succeeded; output drained before the exit is
/// delivered first). A failed on_started is the only callback.
struct process_observer {
  std::function<void(process_result<process_started>)> on_started;
  std::function<void(process_output)> on_output;
  std::function<void(process_exit)> on_exit;
};

/// Called once when a stop completes: after the leader has been reaped (its
/// on_exit came first) and no process of its group remains.
using stop_callback = std::function<void(process_result<stop_report>)>;

} // namespace snakepit::transport
