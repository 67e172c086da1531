// transport/process_launcher.hpp — launches, observes and stops child
// processes without ever blocking the caller. CAF-free: the worker actor
// wraps the callbacks into messages.
#pragma once

#include "transport/process_id.hpp"
#include "transport/process_launcher_options.hpp"
#include "transport/process_observer.hpp"
#include "transport/process_result.hpp"
#include "transport/process_spec.hpp"

#include <chrono>
#include <memory>

namespace snakepit::transport {

/// One per runtime. Owns two threads:
///  - the launcher thread, which does every fork/exec. A child's
///    PR_SET_PDEATHSIG (SIGKILL) is tied to this thread, which lives exactly
///    as long as the launcher: if the host dies, every child dies with it.
///  - the I/O thread (epoll), which watches every child's exit (pidfd, then
///    waitid on that child only: never waitpid(-1)) and its stdout/stderr
///    (split into lines), runs the stop timers and calls every callback.
///
/// Every child runs in its own process group (pgid == pid), with stdin from
/// /dev/null, stdout/stderr on pipes, the spec's extra fds and no other fd,
/// default signal dispositions and an empty signal mask.
///
/// All member functions are thread-safe and return at once. Callbacks: see
/// process_observer (I/O thread, quick, thread-safe, never destroy the
/// launcher from one).
///
/// Host requirements: do not set SIGCHLD to SIG_IGN and do not reap with
/// waitpid(-1) elsewhere (the exit status would then be reported as unknown).
///
/// Limits: when the leader exits, its pipes are drained and closed, so a
/// grandchild that still writes to the inherited stdout/stderr gets EPIPE.
/// A descendant that leaves the group (setsid/setpgid) escapes terminate()
/// and the destructor (and has no PR_SET_PDEATHSIG of ours either).
class process_launcher {
public:
  /// Starts both threads. Fails with a typed error if epoll, the eventfd or a
  /// thread cannot be created.
  [[nodiscard]] static process_result<std::unique_ptr<process_launcher>>
  create(process_launcher_options options = {});

  /// SIGKILLs every still-running child's process group (and any group whose
  /// leader is gone but whose members live on), reaps the leaders, delivers
  /// their on_exit and every pending on_stopped, fails queued launches with
  /// launcher_stopped, then joins both threads. Bounded by kill_timeout.
  ~process_launcher();

  process_launcher(const process_launcher&) = delete;
  process_launcher& operator=(const process_launcher&) = delete;

  /// Queues a launch; the launcher thread forks and execs in FIFO order.
  /// observer.on_started then receives the pid/pgid, or a typed error (program
  /// not found, permission denied, bad working directory, ...) — a failed exec
  /// is an error, never a child that exits 127.
  void launch(process_spec spec, process_observer observer);

  /// Graceful stop of the group led by `pid`: SIGTERM to the group, up to
  /// `grace` for the group to go, then SIGKILL to the group. `on_stopped` runs
  /// once the leader has been reaped (after its on_exit) and no process of the
  /// group remains; stop_timeout if the group survives SIGKILL for
  /// kill_timeout. A pid with nothing left to stop reports was_running=false.
  /// Concurrent stops of one group share the work (the shortest grace wins).
  void terminate(process_id pid, std::chrono::milliseconds grace, stop_callback on_stopped = {});

  /// Brutal kill: SIGKILL to the group at once; otherwise like terminate().
  void kill_group(process_id pid, stop_callback on_stopped = {});

private:
  struct impl; // defined in the .cpp
  explicit process_launcher(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

} // namespace snakepit::transport
