// transport/process_stop_tracker.hpp — the state machine of graceful stops:
// SIGTERM to the group, grace, SIGKILL, then wait until the leader is reaped
// and the group is empty (bounded by the kill timeout). No I/O of its own:
// signalling and probing go through hooks, time is passed in.
#pragma once

#include "transport/process_exit_status.hpp"
#include "transport/process_id.hpp"
#include "transport/process_observer.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace snakepit::transport {

class process_stop_tracker {
public:
  using clock = std::chrono::steady_clock;

  struct hooks {
    /// Sends `signal` to the whole group (and its leader).
    std::function<void(process_id pgid, int signal)> signal_group;
    /// True while a live (non-zombie) member of the group remains.
    std::function<bool(process_id pgid)> group_alive;
  };

  /// A finished stop: every callback that asked for it, and the outcome.
  struct completion {
    std::vector<stop_callback> callbacks;
    process_result<stop_report> result;
  };

  process_stop_tracker(hooks h, std::chrono::milliseconds kill_timeout,
                       std::chrono::milliseconds poll_interval);

  [[nodiscard]] bool contains(process_id pgid) const { return stops_.contains(pgid); }
  [[nodiscard]] bool empty() const noexcept { return stops_.empty(); }

  /// Starts a stop of `pgid`, or joins the one under way (the shortest grace
  /// wins; `brutal` or a zero grace sends SIGKILL at once).
  /// `leader_running`: the leader has not been reaped yet.
  void start(process_id pgid, std::string label, bool leader_running,
             std::chrono::milliseconds grace, bool brutal, stop_callback done,
             clock::time_point now);

  /// The leader was reaped: from now on only the group has to empty.
  void leader_exited(process_id pgid, const exit_status& status);

  /// Sends due SIGKILLs; returns the stops that are done (group empty) or
  /// have timed out (survived SIGKILL for the kill timeout).
  [[nodiscard]] std::vector<completion> advance(clock::time_point now);

  /// Shutdown: SIGKILL every group whose grace is still running.
  void kill_all(clock::time_point now);

  /// Shutdown: ends every stop (success if its group is gone, stop_timeout if not).
  [[nodiscard]] std::vector<completion> finish_all(clock::time_point now);

  /// When advance() should run next: a deadline, or a poll tick while a
  /// group has to be watched emptying. nullopt: no timer needed.
  [[nodiscard]] std::optional<clock::time_point> next_wakeup(clock::time_point now) const;

private:
  struct stop_op {
    std::string label;
    bool leader_running = false;
    std::optional<exit_status> leader_status;
    clock::time_point started;
    clock::time_point grace_deadline;
    bool kill_sent = false;
    clock::time_point kill_deadline;
    std::vector<stop_callback> callbacks;
  };

  void send_kill(process_id pgid, stop_op& op, clock::time_point now);
  completion succeed(process_id pgid, stop_op& op, clock::time_point now) const;
  completion time_out(process_id pgid, stop_op& op, std::string why) const;

  hooks hooks_;
  std::chrono::milliseconds kill_timeout_;
  std::chrono::milliseconds poll_interval_;
  std::map<process_id, stop_op> stops_;
};

} // namespace snakepit::transport
