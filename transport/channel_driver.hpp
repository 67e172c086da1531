// transport/channel_driver.hpp — everything one worker connection has in
// flight (unary control calls and the Channel stream), posted on the
// process's connection_queue, which decides who runs the completions: a
// synchronous caller whose poll offer the stream took (caller_poll.hpp),
// until that caller's outcome is in, else the queue's helper thread, while
// any connection has work. gRPC's callback API would run them on the two
// threads of its shared callback queue instead, and on 2 cores every such
// handoff costs about as much as a call (snakepit-bench --only throughput
// prints the host's context switches per call).
//
// Internal to transport/: worker_channel is the interface.
#pragma once

#include "transport/caller_poll.hpp"
#include "transport/connection_queue.hpp"
#include "transport/worker_channel.hpp"

#include "snakepit_bridge.grpc.pb.h"

#include <grpcpp/grpcpp.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

namespace snakepit::transport {

class channel_driver final {
public:
  template <class Rep>
  using done_fn = std::function<void(channel_result<Rep>)>;

  /// The driver owns itself until release() and its last completion.
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
  /// still gets its callback); the driver retires once all has come back.
  void release();

  /// A unary call in flight; its address is its tag.
  struct unary_op : connection_queue::completion {
    virtual ~unary_op() = default;
    // Finish always completes with ok; the status says how the call went.
    void complete(bool) final { driver->on_unary_done(this); }
    /// Delivers the outcome (the call has left the driver's books).
    virtual void answer() = 0;
    channel_driver* driver = nullptr;
    grpc::ClientContext context;
  };

  explicit channel_driver(std::shared_ptr<grpc::Channel> channel);

private:
  enum class op { start, read, write, writes_done, finish, count };
  /// The stream's operations' tags (one of each is in flight at most).
  struct op_tag final : connection_queue::completion {
    void complete(bool ok) override { driver->run(which, ok); }
    channel_driver* driver = nullptr;
    op which = op::start;
  };
  void* tag(op o) {
    return static_cast<connection_queue::completion*>(&tags_[static_cast<std::size_t>(o)]);
  }
  /// The driver itself, once it has retired: the caller drops it after
  /// unlocking (declare it before the lock).
  using retired = std::shared_ptr<channel_driver>;

  template <class Rep, class Prepare>
  void unary(std::chrono::milliseconds timeout, done_fn<Rep> done, const char* operation,
             Prepare prepare);

  bool work_locked() const;
  /// After every change of state, under the lock: tells the queue whether
  /// this connection has work, and retires the driver once nothing can
  /// complete any more.
  void settle_locked(retired& last);
  void run(op which, bool ok);
  void on_unary_done(unary_op* call);
  void on_started(bool ok);
  void on_read(bool ok);
  void on_written(bool ok);
  void on_writes_done();
  void maybe_finish();
  void on_finished();
  bool take_pending_locked();
  bool take_writes_done_locked();
  /// Whether a read is to start now (one is due and none is out); marks it
  /// out.
  bool take_read_locked();

  std::shared_ptr<connection_queue> queue_;
  std::unique_ptr<wire::WorkerService::Stub> stub_;  // holds the channel
  std::array<op_tag, static_cast<std::size_t>(op::count)> tags_;
  std::shared_ptr<channel_driver> self_;  // until retired

  // The stream (touched by the poller only, but rw_ set once by open()).
  channel_callbacks callbacks_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientAsyncReaderWriter<wire::HostFrame, wire::WorkerFrame>> rw_;
  wire::WorkerFrame incoming_;
  grpc::Status status_;

  mutable std::mutex mutex_;  // taken before the queue's
  std::unordered_set<unary_op*> unary_;  // in flight
  bool working_ = false;  // counted as work by the queue
  bool released_ = false;
  bool opened_ = false;
  bool stream_over_ = false;  // on_closed has run
  wire::HostFrame pending_;   // queued, not yet written
  wire::HostFrame in_flight_; // being written (owned by the writer while writing_)
  std::int64_t expected_ = 0; // requests queued or sent without a terminal answer yet
  bool started_ = false;
  bool read_armed_ = false;   // a Read is out, or on_read is still using incoming_
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
