// transport/process_launcher_options.hpp — bounds and hooks of a process_launcher.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string_view>

namespace snakepit::transport {

struct process_launcher_options {
  /// Longer output lines are cut at this many bytes (the rest of the line is dropped).
  std::size_t max_line_bytes = 64 * 1024;
  /// How long the launcher thread waits for a forked child to exec (or report
  /// its failure) before killing it and reporting spawn_timeout.
  std::chrono::milliseconds exec_timeout{10'000};
  /// After SIGKILL, how long a stop waits for the group to vanish before
  /// reporting stop_timeout (a process in uninterruptible sleep). The
  /// destructor uses the same bound.
  std::chrono::milliseconds kill_timeout{5'000};
  /// How often a stop polls kill(-pgid, 0) while waiting for the group to empty.
  std::chrono::milliseconds group_poll_interval{10};
  /// Receives internal problems that have no caller to return to (a callback
  /// threw, a late syscall failed, a process survived the destructor). Runs on
  /// the launcher's threads. Empty: lines go to stderr.
  std::function<void(std::string_view)> on_diagnostic;
};

} // namespace snakepit::transport
