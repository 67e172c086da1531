// transport/boot_sweep.hpp — at start-up, before any worker starts: kill what
// earlier runs of this instance left running, as recorded in the registry.
#pragma once

#include "transport/process_id.hpp"
#include "transport/process_registry.hpp"
#include "transport/process_registry_proc.hpp" // live_pids_with_run_id

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace snakepit::transport {

struct sweep_options {
  /// After SIGTERM to a group, how long it may take to go before SIGKILL.
  std::chrono::milliseconds grace{2000};
  /// After SIGKILL, how long to wait for the groups to go (then: survived).
  std::chrono::milliseconds kill_timeout{2000};
  /// How often /proc is checked while waiting.
  std::chrono::milliseconds poll_interval{10};
  /// Applied after the sweep to the finished runs.
  prune_policy prune{};
  /// An earlier run not ended whose host (pid and start time) is still alive
  /// belongs to another host sharing the instance: leave it alone. The
  /// calling process never counts as such a host (a run it began earlier is over).
  bool skip_runs_of_live_hosts = true;
  /// One line per process killed, skipped or surviving (a host logs these).
  std::function<void(const std::string&)> on_event;
};

/// What the sweep did, for telemetry.
struct sweep_result {
  std::size_t runs_swept = 0;            ///< earlier runs examined (and ended unless survivors)
  std::size_t runs_skipped_live_host = 0;
  std::size_t recorded = 0;              ///< rows of earlier runs not marked exited
  /// Live processes identified as ours: recorded (pid + start time + run id in
  /// the cmdline), a recorded leader's group whose leader is gone but a member
  /// with the run id lives, or (for a run with a spawn reserved but never
  /// completed) an unrecorded process carrying the run id.
  std::size_t found = 0;
  std::size_t found_unrecorded = 0;      ///< of `found`: by command line only
  std::size_t killed = 0;                ///< of `found`: gone after our signals
  std::size_t killed_after_grace = 0;    ///< of `killed`: needed SIGKILL
  std::size_t survived = 0;              ///< of `found`: still alive after kill_timeout
  std::size_t already_gone = 0;          ///< recorded (or reserved), but no such process any more
  std::size_t skipped_pid_reused = 0;    ///< pid alive but not ours (cmdline or start time differ)
  std::vector<process_id> killed_pids;
  /// Runtime directories of the runs ended here, removed (see boot_sweep).
  std::size_t runtime_dirs_removed = 0;
  std::chrono::milliseconds elapsed{0};
  /// Registry writes that failed during the sweep (the kills still happened).
  std::vector<registry_error> errors;
};

/// For every run other than `current_run_id`: each recorded process not
/// marked exited is killed — SIGTERM to its process group, `grace`, SIGKILL
/// to the group — but ONLY if /proc/PID/cmdline still carries that run's id
/// ("--run-id ID") AND its start time is the recorded one; rows of processes
/// already gone (or whose pid now names another process) are marked exited;
/// the run is then ended, and prune() runs. A run with a process that
/// survived SIGKILL is not ended (the next sweep tries again). An ended run's
/// recorded runtime directory is removed if it is plainly ours (a directory
/// of our uid, mode without group/other bits, holding only sockets); else it
/// is left, with an event saying why.
///
/// Blocking, bounded by about grace + kill_timeout (plus /proc scans). Fails
/// only if the registry cannot be read; later write failures are in `errors`.
[[nodiscard]] registry_result<sweep_result>
boot_sweep(process_registry& registry, const std::string& current_run_id,
           const sweep_options& options = {});

} // namespace snakepit::transport
