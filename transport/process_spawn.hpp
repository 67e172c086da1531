// transport/process_spawn.hpp — fork + exec of one process_spec, synchronously.
// Internal to process_launcher: it runs on the launcher's dedicated thread.
#pragma once

#include "transport/process_fd.hpp"
#include "transport/process_id.hpp"
#include "transport/process_result.hpp"
#include "transport/process_spec.hpp"

#include <chrono>

namespace snakepit::transport {

/// A child that has successfully exec'd.
struct spawned_process {
  process_id pid = 0; ///< also its process group id
  unique_fd pidfd;    ///< from pidfd_open; readable once the child has exited
  unique_fd stdout_fd; ///< read ends, non-blocking, close-on-exec
  unique_fd stderr_fd;
  unique_fd notify_fd; ///< only if process_spec::notify_fd was set
};

/// Forks and execs `spec`. The calling thread becomes the thread whose exit
/// delivers the child's PR_SET_PDEATHSIG (SIGKILL): call it only from a thread
/// that lives as long as the child may, with every signal blocked. Blocks
/// until the child has exec'd or reported why it could not (through a
/// close-on-exec pipe), at most `exec_timeout`. Consumes spec.extra_fds (the
/// parent's copies are closed in every case).
[[nodiscard]] process_result<spawned_process> spawn_process(process_spec& spec,
                                                            std::chrono::milliseconds exec_timeout);

} // namespace snakepit::transport

namespace snakepit::transport {

/// SIGKILLs the group of a spawned child that nobody will observe, and reaps
/// the leader (blocking until it is gone, which SIGKILL makes short).
void discard_spawned_process(spawned_process& child) noexcept;

} // namespace snakepit::transport
