// transport/connection_queue.hpp — one completion queue for every worker
// connection in the process, and the one thread at a time that reads it.
//
// Why one: with gRPC's default poller (epoll1) a single thread of the process
// waits in epoll; every other thread waiting on a polling queue sleeps on a
// condition variable until the active poller hands it the role or its
// completion. With a queue and a helper thread per worker connection, two
// busy workers meant two helpers passing that role to each other on every
// wake-up. Measured (perf sched_switch, 2 workers, 4 lock-step callers):
// 1.65 sleeps of the helpers per call, two thirds of them such handoffs. One
// queue, read by one thread at a time, has none.
//
// Who reads it: a synchronous caller whose poll offer a connection took
// (caller_poll.hpp) reads it until its own outcome is in, and answers every
// other completion it meets on the way; the offer is taken only if nobody
// reads the queue then. Otherwise the helper thread reads it while any
// connection has work (something in flight that needs reading), and sleeps on
// a condition variable when none has.
//
// Internal to transport/: channel_driver posts its operations here.
#pragma once

#include "transport/caller_poll.hpp"

#include <grpcpp/alarm.h>
#include <grpcpp/completion_queue.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>

namespace snakepit::transport {

class connection_queue final : public polled_connection {
public:
  /// What an operation posted on the queue carries as its tag.
  class completion {
  public:
    virtual void complete(bool ok) = 0;

  protected:
    ~completion() = default;
  };

  /// The process's queue: started by the first holder, stopped once the last
  /// lets go (by then nothing is in flight on it).
  static std::shared_ptr<connection_queue> acquire();

  grpc::CompletionQueue* cq() { return &cq_; }

  /// A connection starts or stops having work; calls must pair up. A first
  /// unit of work wakes the helper when nobody reads the queue.
  void add_work();
  void remove_work();

  /// The calling thread becomes the queue's reader if nobody reads it now
  /// (it must then call poll_until). False: somebody reads it.
  bool take_for_caller();

  // --- polled_connection ------------------------------------------------------
  void poll_until(const std::function<bool()>& done,
                  std::chrono::steady_clock::time_point deadline) override;
  void kick() override;

  connection_queue();
  ~connection_queue() override;
  connection_queue(const connection_queue&) = delete;
  connection_queue& operator=(const connection_queue&) = delete;

private:
  enum class reader { none, helper, caller };
  struct kick_completion final : completion {
    connection_queue* queue = nullptr;
    void complete(bool ok) override;
  };
  class lease;

  void help();
  void stop();

  grpc::CompletionQueue cq_;  // declared before kick_: the alarm goes first
  grpc::Alarm kick_;
  kick_completion kick_done_;

  std::mutex mutex_;
  std::condition_variable helper_wake_;
  reader reader_ = reader::none;
  int work_ = 0;  // connections with work, and a kick in flight
  bool kick_pending_ = false;
  bool stopping_ = false;
};

} // namespace snakepit::transport
