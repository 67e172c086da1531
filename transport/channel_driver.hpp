// transport/channel_driver.hpp — everything one worker connection has in
// flight (unary control calls and the Channel stream) on one completion
// queue of its own, and who runs its completions.
//
// The completions are run by one thread at a time, the "poller": a
// synchronous caller whose poll offer the stream took (caller_poll.hpp),
// until that caller's outcome is in; else the driver's helper thread, which
// polls while anything is in flight and sleeps on a condition variable
// otherwise. gRPC's callback API would run them on the two threads of its
// shared callback queue instead, and on 2 cores every such handoff costs
// about as much as a call (snakepit-bench --only throughput prints the
// host's context switches per call).
//
// Internal to transport/: worker_channel is the interface.
#pragma once

#include "transport/caller_poll.hpp"
#include "transport/worker_channel.hpp"

#include "snakepit_bridge.grpc.pb.h"

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

namespace snakepit::transport {

class channel_driver final : public polled_connection,
                             public std::enable_shared_from_this<channel_driver> {
public:
  template <class Rep>
  using done_fn = std::function<void(channel_result<Rep>)>;

  /// Starts the helper thread, which owns the driver until the queue is shut
  /// down and drained (after release() and the last completion).
  static std::shared_ptr<channel_driver> start(std::shared_ptr<grpc::Channel> channel);

  // --- unary control calls --------------------------------------------------
  void ping(std::chrono::milliseconds timeout, done_fn<wire::PingReply> done);
  void describe_tools(std::chrono::milliseconds timeout, done_fn<wire::DescribeToolsReply> done);
  void shutdown(std::chrono::milliseconds grace, std::chrono::milliseconds timeout,
                done_fn<wire::ShutdownReply> done);

  // --- the Channel stream (see worker_channel.hpp) --------------------------
  channel_result<channel_ok> open(channel_callbacks callbacks);
  channel_result<channel_ok> enqueue(std::vector<wire::Request>* requests,
                                     std::vector<std::uint64_t>* cancels, const char* op);
  void close();
  void abort();
  worker_channel::stream_stats stats() const;

  /// The worker_channel is gone: everything in flight is cancelled (each
  /// still gets its callback); the queue shuts down once all has come back.
  void release();

  // --- polled_connection ------------------------------------------------------
  void poll_until(const std::function<bool()>& done,
                  std::chrono::steady_clock::time_point deadline) override;
  void kick() override;

  /// A unary call in flight; its address is its tag.
  struct unary_op {
    virtual ~unary_op() = default;
    virtual void complete(bool ok) = 0;
    grpc::ClientContext context;
  };

  explicit channel_driver(std::shared_ptr<grpc::Channel> channel);

private:
  enum class op : std::uintptr_t { start = 1, read, write, writes_done, finish, kick, last };
  enum class poller { none, helper, caller };
  static void* tag(op o) { return reinterpret_cast<void*>(static_cast<std::uintptr_t>(o)); }

  template <class Rep, class Prepare>
  void unary(std::chrono::milliseconds timeout, done_fn<Rep> done, const char* operation,
             Prepare prepare);

  void help();
  bool work_locked() const;
  void maybe_shut_down_locked();
  void run(void* t, bool ok);
  void on_started(bool ok);
  void on_read(bool ok);
  void on_written(bool ok);
  void on_writes_done();
  void maybe_finish();
  void on_finished();
  bool take_pending_locked();
  bool take_writes_done_locked();

  std::unique_ptr<wire::WorkerService::Stub> stub_;  // holds the channel
  grpc::CompletionQueue cq_;
  grpc::Alarm kick_;

  // The stream (touched by the poller only, but rw_ set once by open()).
  channel_callbacks callbacks_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientAsyncReaderWriter<wire::HostFrame, wire::WorkerFrame>> rw_;
  wire::WorkerFrame incoming_;
  grpc::Status status_;

  mutable std::mutex mutex_;
  std::condition_variable helper_wake_;
  poller poller_ = poller::none;
  std::unordered_set<unary_op*> unary_;  // in flight
  bool released_ = false;
  bool shut_down_ = false;
  bool kick_pending_ = false;
  bool opened_ = false;
  bool stream_over_ = false;  // on_closed has run
  wire::HostFrame pending_;   // queued, not yet written
  wire::HostFrame in_flight_; // being written (owned by the writer while writing_)
  std::int64_t expected_ = 0; // requests queued or sent without a terminal answer yet
  bool started_ = false;
  bool writing_ = false;      // a Write or WritesDone is in flight
  bool closing_ = false;
  bool aborted_ = false;
  bool writes_done_issued_ = false;
  bool read_closed_ = false;
  bool write_failed_ = false;
  bool finish_issued_ = false;

  std::atomic<std::uint64_t> frames_written_{0};
  std::atomic<std::uint64_t> requests_written_{0};
  std::atomic<std::uint64_t> frames_read_{0};
};

} // namespace snakepit::transport
