// transport/process_io_loop.hpp — the launcher's I/O thread: one epoll loop
// that watches every child's pidfd and output pipes, runs the stop timers and
// invokes every observer callback. Internal to process_launcher.
#pragma once

#include "transport/process_id.hpp"
#include "transport/process_launcher_options.hpp"
#include "transport/process_observer.hpp"
#include "transport/process_result.hpp"
#include "transport/process_spawn.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace snakepit::transport {

class process_io_loop {
public:
  /// Creates the epoll set and the wake-up eventfd and starts the thread
  /// (with every signal blocked).
  [[nodiscard]] static process_result<std::unique_ptr<process_io_loop>>
  create(process_launcher_options options);

  /// Calls shutdown().
  ~process_io_loop();

  process_io_loop(const process_io_loop&) = delete;
  process_io_loop& operator=(const process_io_loop&) = delete;

  /// Runs `task` on the I/O thread. Returns false (and leaves `task` alone)
  /// once the loop has stopped accepting work.
  bool post(std::function<void()>& task);

  /// Takes over a freshly spawned child: watches its pidfd and pipes, then
  /// calls observer.on_started on the I/O thread. When the loop no longer
  /// accepts work, kills and reaps the child and calls on_started with
  /// launcher_stopped on the calling thread.
  void adopt(std::shared_ptr<spawned_process> child, std::string label, process_observer observer);

  /// Starts a stop of the group led by `pid` (see process_launcher::terminate).
  /// `brutal`: SIGKILL at once. When the loop is closed, calls `done` with
  /// launcher_stopped on the calling thread.
  void stop(process_id pid, std::chrono::milliseconds grace, bool brutal, stop_callback done);

  /// Stops accepting work, SIGKILLs every remaining group, reaps every leader
  /// (bounded by kill_timeout), delivers their on_exit, joins the thread.
  /// Idempotent. Must not be called from the I/O thread.
  void shutdown();

  /// Reports a problem through the options' diagnostic sink.
  void diagnose(std::string_view text) const;

private:
  struct state; // defined in the .cpp
  explicit process_io_loop(std::unique_ptr<state> s);
  std::unique_ptr<state> state_;
};

} // namespace snakepit::transport
