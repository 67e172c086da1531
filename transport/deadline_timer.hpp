// transport/deadline_timer.hpp — one thread that runs callbacks at their
// deadlines. The host bridge gives every call a deadline without a thread or
// a gRPC alarm per call: a call schedules its expiry here and cancels it when
// it is answered in time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

namespace snakepit::transport {

class deadline_timer {
public:
  using clock = std::chrono::steady_clock;
  using timer_id = std::uint64_t;

  deadline_timer();
  /// stop(): pending callbacks are dropped, not run.
  ~deadline_timer();
  deadline_timer(const deadline_timer&) = delete;
  deadline_timer& operator=(const deadline_timer&) = delete;

  /// Runs `fn` on the timer thread at `when` (at once if it has passed),
  /// unless cancelled first. After stop(), nothing is scheduled (returns 0).
  timer_id schedule(clock::time_point when, std::function<void()> fn);

  /// Drops a pending callback; a no-op for one that ran, runs now or is
  /// unknown. Never waits for a running callback (a callback may cancel
  /// other timers, or its own).
  void cancel(timer_id id);

  /// Ends the thread after the callback in progress, if any. Idempotent.
  /// Safe from a callback, and so is destroying the timer there: the thread
  /// is then detached, and it keeps the state it still touches alive.
  void stop();

  /// Callbacks scheduled and neither run nor cancelled.
  [[nodiscard]] std::size_t pending() const;

private:
  struct state {
    mutable std::mutex mutex;
    std::condition_variable wake;
    std::map<std::pair<clock::time_point, timer_id>, std::function<void()>> due;
    std::unordered_map<timer_id, clock::time_point> when;
    timer_id next_id = 1;
    bool stopping = false;
    // When the thread wakes up by itself next (max: only when notified; min:
    // it is running a callback and looks again afterwards). A new timer
    // wakes it only if due earlier: with calls of similar timeouts, a
    // timer per call costs no wake-up per call.
    clock::time_point wakes_at = clock::time_point::max();
  };
  static void run(const std::shared_ptr<state>& st);

  std::shared_ptr<state> state_;
  std::thread thread_;
};

} // namespace snakepit::transport
