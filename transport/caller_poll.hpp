// transport/caller_poll.hpp — a thread about to wait for a call's outcome
// offers to read that call's connection itself.
//
// Measured on 2 cores (snakepit-bench --only throughput, host context
// switches per call): a lock-step call whose outcome is read by another
// thread and handed over costs ~6 switches, a raw gRPC client that reads its
// own stream ~4.5, and every switch here costs about as much as the work of
// the call. So a synchronous execute offers its thread: a connection that
// can be polled (see connection_queue) and that has nothing else in flight
// takes the offer when the call goes out, if nobody reads the queue then,
// and the caller then runs the completions itself until its outcome is in.
// Whoever answers the call from another thread (a deadline, a crash) kicks
// it awake.
//
// Connections that cannot be polled ignore the offer: the caller then waits
// as before.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

namespace snakepit::transport {

class polled_connection {
public:
  virtual ~polled_connection() = default;
  /// Runs this connection's completions on the calling thread (the one whose
  /// offer was taken) until `done()` or `deadline`, then hands reading back.
  /// Other calls' outcomes read meanwhile are answered on this thread too.
  virtual void poll_until(const std::function<bool()>& done,
                          std::chrono::steady_clock::time_point deadline) = 0;
  /// Wakes the thread in poll_until (its call was answered elsewhere).
  virtual void kick() = 0;
};

/// While alive, the current thread offers to poll the connection its next
/// call goes out on (at most one takes it). Not movable: it is the thread's.
class caller_poll_offer {
public:
  caller_poll_offer();
  ~caller_poll_offer();
  caller_poll_offer(const caller_poll_offer&) = delete;
  caller_poll_offer& operator=(const caller_poll_offer&) = delete;

  /// No connection may take the offer from now on.
  void withdraw();
  /// The connection that took the offer (null: none did).
  [[nodiscard]] const std::shared_ptr<polled_connection>& taken() const { return taken_; }

  /// For a connection: whether the current thread offers (and nobody took it).
  [[nodiscard]] static bool open_offer();
  /// For a connection that decided to take the open offer.
  static void take(std::shared_ptr<polled_connection> connection);

private:
  caller_poll_offer* outer_;
  bool open_ = true;
  std::shared_ptr<polled_connection> taken_;
};

} // namespace snakepit::transport
