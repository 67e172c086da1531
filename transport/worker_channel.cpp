// transport/worker_channel.cpp — see worker_channel.hpp.
//
// Unary calls: one heap-allocated call object per call (ClientContext,
// request, reply, user callback), owned by the completion lambda that gRPC
// holds; a registry of in-flight calls lets the destructor TryCancel them.
//
// The stream: the async API on a completion queue of the stream's own (see
// stream_driver), so that a synchronous caller can run its completions
// itself. Writes start on whichever thread queued them; Finish waits until
// the reads have ended and no write is in flight; the queue is shut down
// after on_closed and drained by the helper thread. Our mutex is held while
// calling into gRPC only to set the kick alarm and to shut the queue down
// (neither calls back into us).
#include "transport/worker_channel.hpp"

#include "transport/caller_poll.hpp"
#include "transport/grpc_status_map.hpp"

#include "snakepit_bridge.grpc.pb.h"

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <utility>

namespace snakepit::transport {

std::string_view to_string(channel_errc code) noexcept {
  switch (code) {
    case channel_errc::timeout:
      return "timeout";
    case channel_errc::worker_unavailable:
      return "worker unavailable";
    case channel_errc::cancelled:
      return "cancelled";
    case channel_errc::invalid_argument:
      return "invalid argument";
    case channel_errc::resource_exhausted:
      return "resource exhausted";
    case channel_errc::unimplemented:
      return "unimplemented";
    case channel_errc::rpc_failed:
      return "rpc failed";
    case channel_errc::invalid_address:
      return "invalid address";
    case channel_errc::not_open:
      return "stream not open";
    case channel_errc::already_open:
      return "stream already open";
    case channel_errc::stream_closed:
      return "stream closed";
  }
  return "unknown channel error";
}

std::string to_string(const channel_error& error) {
  std::string out{to_string(error.code)};
  if (!error.operation.empty()) {
    out += ": ";
    out += error.operation;
  }
  if (!error.message.empty()) {
    out += ": ";
    out += error.message;
  }
  if (error.grpc_code != 0) {
    out += " (grpc ";
    out += std::to_string(error.grpc_code);
    out += ')';
  }
  return out;
}

namespace {

using stub_t = wire::WorkerService::Stub;

/// What every call of one worker_channel shares; outlives the channel object
/// while calls are in flight.
struct connection {
  std::string address;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<stub_t> stub;
};

struct call_base {
  grpc::ClientContext context;
};

/// The unary calls in flight, so that the destructor can cancel them.
struct call_registry {
  std::mutex mutex;
  std::unordered_set<call_base*> calls;
};

/// The Channel stream on a completion queue of its own. Its completions are
/// run by one thread at a time, the "poller": a synchronous caller whose
/// offer it took (see caller_poll.hpp) until that caller's outcome is in, or
/// else its helper thread, which polls while anything is in flight and
/// sleeps otherwise. Ops are tagged with their kind: at most one of each is
/// outstanding (one read, one write or WritesDone, start, finish, kick).
class stream_driver final : public polled_connection,
                            public std::enable_shared_from_this<stream_driver> {
public:
  stream_driver(std::shared_ptr<connection> conn, channel_callbacks callbacks)
    : conn_(std::move(conn)), callbacks_(std::move(callbacks)) {}

  /// Starts the call and the helper thread, which owns `self` until every op
  /// has come back and the queue is drained.
  static void start(const std::shared_ptr<stream_driver>& self) {
    self->rw_ = self->conn_->stub->PrepareAsyncChannel(&self->context_, &self->cq_);
    self->rw_->StartCall(tag(op::start));
    std::thread{[self] { self->help(); }}.detach();
  }

  channel_result<channel_ok> enqueue(std::vector<wire::Request>* requests,
                                     std::vector<std::uint64_t>* cancels, const char* op) {
    bool write = false;
    bool wake_helper = false;
    bool caller_polls = false;
    {
      std::lock_guard guard{mutex_};
      if (closing_ || read_closed_ || write_failed_)
        return channel_error{channel_errc::stream_closed, op, 0,
                             closing_ ? "close() was called" : "the stream has ended"};
      // A synchronous caller reads the stream itself if it would be the only
      // one waiting on it.
      caller_polls = requests && poller_ == poller::none && started_ && !writing_ &&
                     expected_ == 0 && caller_poll_offer::open_offer();
      if (requests) {
        auto* out = pending_.mutable_requests();
        out->Reserve(out->size() + static_cast<int>(requests->size()));
        for (auto& r : *requests)
          *out->Add() = std::move(r);
        expected_ += static_cast<std::int64_t>(requests->size());
      }
      if (cancels) {
        auto* out = pending_.mutable_cancel();
        for (auto id : *cancels)
          out->Add(id);
      }
      write = take_pending_locked();
      if (caller_polls)
        poller_ = poller::caller;
      else
        wake_helper = poller_ == poller::none;
    }
    if (caller_polls)
      caller_poll_offer::take(shared_from_this());
    if (write)
      rw_->Write(in_flight_, tag(op::write));
    if (wake_helper)
      helper_wake_.notify_one();
    return channel_ok{};
  }

  void close() {
    bool writes_done = false;
    {
      std::lock_guard guard{mutex_};
      if (closing_)
        return;
      closing_ = true;
      writes_done = take_writes_done_locked();
    }
    if (writes_done)
      rw_->WritesDone(tag(op::writes_done));
    helper_wake_.notify_one();
  }

  void abort() {
    {
      std::lock_guard guard{mutex_};
      aborted_ = true;
    }
    context_.TryCancel();
    helper_wake_.notify_one();
  }

  worker_channel::stream_stats stats() const {
    return {frames_written_.load(std::memory_order_relaxed),
            requests_written_.load(std::memory_order_relaxed),
            frames_read_.load(std::memory_order_relaxed)};
  }

  void poll_until(const std::function<bool()>& done,
                  std::chrono::steady_clock::time_point deadline) override {
    const auto until = std::chrono::system_clock::now() +
                       std::chrono::duration_cast<std::chrono::system_clock::duration>(
                         deadline - std::chrono::steady_clock::now());
    while (!done()) {
      void* t = nullptr;
      bool ok = false;
      auto status = cq_.AsyncNext(&t, &ok, until);
      if (status != grpc::CompletionQueue::GOT_EVENT)
        break;  // the deadline, or the queue shut down
      if (run(t, ok))
        break;  // the stream is over
    }
    bool wake = false;
    {
      std::lock_guard guard{mutex_};
      poller_ = poller::none;
      wake = work_locked();
    }
    if (wake)
      helper_wake_.notify_one();
  }

  void kick() override {
    std::lock_guard guard{mutex_};
    // Set under the lock: the queue cannot be shut down meanwhile.
    if (poller_ != poller::caller || kick_pending_ || shut_down_)
      return;
    kick_pending_ = true;
    kick_.Set(&cq_, gpr_now(GPR_CLOCK_MONOTONIC), tag(op::kick));
  }

private:
  enum class op : std::uintptr_t { start = 1, read, write, writes_done, finish, kick };
  enum class poller { none, helper, caller };
  static void* tag(op o) { return reinterpret_cast<void*>(static_cast<std::uintptr_t>(o)); }

  /// Whether completions are still to come that someone must run.
  bool work_locked() const {
    return !started_ || writing_ || expected_ > 0 || kick_pending_ || closing_ || aborted_ ||
           read_closed_ || write_failed_ || shut_down_;
  }

  /// The helper thread: polls while there is work and no caller does.
  void help() {
    std::unique_lock lock{mutex_};
    while (true) {
      helper_wake_.wait(lock, [&] { return poller_ == poller::none && work_locked(); });
      poller_ = poller::helper;
      do {
        lock.unlock();
        void* t = nullptr;
        bool ok = false;
        if (!cq_.Next(&t, &ok))
          return;  // drained after shutdown: nothing refers to this stream now
        run(t, ok);
        lock.lock();
      } while (work_locked());
      poller_ = poller::none;
    }
  }

  /// Runs one completion; true once the stream has closed (on_closed ran).
  bool run(void* t, bool ok) {
    switch (static_cast<op>(reinterpret_cast<std::uintptr_t>(t))) {
      case op::start:
        on_started(ok);
        break;
      case op::read:
        on_read(ok);
        break;
      case op::write:
        on_written(ok);
        break;
      case op::writes_done:
        on_writes_done();
        break;
      case op::finish:
        on_finished();
        return true;
      case op::kick: {
        std::lock_guard guard{mutex_};
        kick_pending_ = false;
        break;
      }
    }
    return false;
  }

  void on_started(bool ok) {
    bool read = false, write = false, writes_done = false;
    {
      std::lock_guard guard{mutex_};
      started_ = true;
      if (!ok) {
        // The call never started (no connection, or aborted): its status
        // says why.
        read_closed_ = true;
      } else {
        read = true;
        write = take_pending_locked();
        if (!write)
          writes_done = take_writes_done_locked();
      }
    }
    if (read)
      rw_->Read(&incoming_, tag(op::read));
    if (write)
      rw_->Write(in_flight_, tag(op::write));
    if (writes_done)
      rw_->WritesDone(tag(op::writes_done));
    if (!ok)
      maybe_finish();
  }

  void on_read(bool ok) {
    if (!ok) {
      {
        std::lock_guard guard{mutex_};
        read_closed_ = true;
      }
      maybe_finish();
      return;
    }
    frames_read_.fetch_add(1, std::memory_order_relaxed);
    std::int64_t answered = incoming_.replies_size();
    for (const auto& chunk : incoming_.chunks())
      answered += chunk.final() ? 1 : 0;
    {
      std::lock_guard guard{mutex_};
      expected_ = std::max<std::int64_t>(0, expected_ - answered);
    }
    if (callbacks_.on_reply)
      for (auto& reply : *incoming_.mutable_replies())
        callbacks_.on_reply(std::move(reply));
    if (callbacks_.on_chunk)
      for (auto& chunk : *incoming_.mutable_chunks())
        callbacks_.on_chunk(std::move(chunk));
    incoming_.Clear();
    rw_->Read(&incoming_, tag(op::read));
  }

  void on_written(bool ok) {
    bool write = false, writes_done = false;
    {
      std::lock_guard guard{mutex_};
      in_flight_.Clear(); // keeps its allocations for the next frame
      writing_ = false;
      if (!ok) {
        write_failed_ = true;
      } else if (!read_closed_) {
        write = take_pending_locked();
        if (!write)
          writes_done = take_writes_done_locked();
      }
    }
    if (write)
      rw_->Write(in_flight_, tag(op::write));
    if (writes_done)
      rw_->WritesDone(tag(op::writes_done));
    maybe_finish();
  }

  void on_writes_done() {
    {
      std::lock_guard guard{mutex_};
      writing_ = false;
    }
    maybe_finish();
  }

  /// Finish once the reads have ended and no write is in flight (Finish
  /// must not race a Write).
  void maybe_finish() {
    {
      std::lock_guard guard{mutex_};
      if (finish_issued_ || !read_closed_ || writing_)
        return;
      finish_issued_ = true;
    }
    rw_->Finish(&status_, tag(op::finish));
  }

  /// Finish was issued after every other op had come back: this is the
  /// stream's last completion but a kick's.
  void on_finished() {
    auto on_closed = std::move(callbacks_.on_closed);
    callbacks_ = {};
    if (on_closed) {
      if (status_.ok())
        on_closed(channel_ok{});
      else
        on_closed(make_channel_error(status_.error_code(), "Channel", status_.error_message()));
    }
    std::lock_guard guard{mutex_};
    shut_down_ = true;
    if (kick_pending_)
      kick_.Cancel();
    cq_.Shutdown();
  }

  /// Moves the queued frame into the write slot if a write may start now.
  bool take_pending_locked() {
    if (!started_ || writing_ || read_closed_ || write_failed_ || writes_done_issued_ ||
        (pending_.requests_size() == 0 && pending_.cancel_size() == 0))
      return false;
    in_flight_.Swap(&pending_);
    writing_ = true;
    frames_written_.fetch_add(1, std::memory_order_relaxed);
    requests_written_.fetch_add(static_cast<std::uint64_t>(in_flight_.requests_size()),
                                std::memory_order_relaxed);
    return true;
  }

  /// After close(), once what was queued is written: the half-close.
  bool take_writes_done_locked() {
    if (!closing_ || !started_ || writing_ || writes_done_issued_ || read_closed_ ||
        write_failed_ || pending_.requests_size() != 0 || pending_.cancel_size() != 0)
      return false;
    writes_done_issued_ = true;
    writing_ = true; // WritesDone occupies the write slot
    return true;
  }

  std::shared_ptr<connection> conn_;
  channel_callbacks callbacks_; // touched by the poller only
  grpc::ClientContext context_;
  grpc::CompletionQueue cq_;
  std::unique_ptr<grpc::ClientAsyncReaderWriter<wire::HostFrame, wire::WorkerFrame>> rw_;
  wire::WorkerFrame incoming_;
  grpc::Status status_;
  grpc::Alarm kick_;

  std::mutex mutex_;
  std::condition_variable helper_wake_;
  poller poller_ = poller::none;
  wire::HostFrame pending_;   // queued, not yet written
  wire::HostFrame in_flight_; // being written (owned by the writer while writing_)
  std::int64_t expected_ = 0; // requests sent or queued without a terminal answer yet
  bool started_ = false;
  bool writing_ = false;      // a Write or WritesDone is in flight
  bool closing_ = false;
  bool aborted_ = false;
  bool writes_done_issued_ = false;
  bool read_closed_ = false;
  bool write_failed_ = false;
  bool finish_issued_ = false;
  bool kick_pending_ = false;
  bool shut_down_ = false;

  std::atomic<std::uint64_t> frames_written_{0};
  std::atomic<std::uint64_t> requests_written_{0};
  std::atomic<std::uint64_t> frames_read_{0};
};

/// Works around a gRPC 1.51 race: without a background poller, callback-API
/// completions run on the threads of a shared "callback alternative" CQ that
/// is reference-counted by the channels that used it. When the last such
/// channel is destroyed (which for us happens inside a completion, when a
/// call's state is released), gRPC shuts that CQ down from one of its own
/// threads and trips `grpc_cq_internal_unref: prior > 0`. A channel that
/// lives as long as the process and has made one callback call keeps the
/// count above zero. It is deliberately leaked; it never connects anywhere.
void pin_callback_cq() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct keeper {
      std::shared_ptr<grpc::Channel> channel;
      std::unique_ptr<stub_t> stub;
      grpc::ClientContext context;
      wire::PingRequest request;
      wire::PingReply reply;
    };
    auto* k = new keeper; // NOLINT: intentionally leaked, see above
    k->channel = grpc::CreateChannel("unix:/nonexistent/snakepit-cq-keeper",
                                     grpc::InsecureChannelCredentials());
    k->stub = wire::WorkerService::NewStub(k->channel);
    k->context.set_deadline(std::chrono::system_clock::now());
    k->stub->async()->Ping(&k->context, &k->request, &k->reply, [](grpc::Status) {});
  });
}

template <class Rep>
using reply_callback = std::function<void(channel_result<Rep>)>;

} // namespace

struct worker_channel::impl {
  std::shared_ptr<connection> conn;
  std::shared_ptr<call_registry> registry = std::make_shared<call_registry>();
  std::mutex stream_mutex;
  std::shared_ptr<stream_driver> stream; // set once by open()

  template <class Req, class Rep, class Start>
  void unary(const char* operation, std::chrono::milliseconds timeout, Req request,
             reply_callback<Rep> done, Start start) {
    struct call : call_base {
      Req request;
      Rep reply;
      reply_callback<Rep> done;
      std::shared_ptr<connection> conn; // the stub must outlive the call
      std::shared_ptr<call_registry> registry;
    };
    auto c = std::make_shared<call>();
    c->request = std::move(request);
    c->done = std::move(done);
    c->conn = conn;
    c->registry = registry;
    c->context.set_deadline(std::chrono::system_clock::now() + timeout);
    {
      std::lock_guard guard{registry->mutex};
      registry->calls.insert(c.get());
    }
    start(conn->stub->async(), &c->context, &c->request, &c->reply,
          [c, operation](grpc::Status status) {
            {
              std::lock_guard guard{c->registry->mutex};
              c->registry->calls.erase(c.get());
            }
            auto done = std::move(c->done);
            if (!done)
              return;
            if (status.ok())
              done(std::move(c->reply));
            else
              done(make_channel_error(status.error_code(), operation, status.error_message()));
          });
  }

  std::shared_ptr<stream_driver> current_stream() {
    std::lock_guard guard{stream_mutex};
    return stream;
  }
};

channel_result<std::unique_ptr<worker_channel>>
worker_channel::connect(worker_channel_options options) {
  if (options.address.empty())
    return channel_error{channel_errc::invalid_address, "connect", 0, "empty address"};
  if (options.address.rfind("unix:", 0) == 0 && options.address.size() == 5)
    return channel_error{channel_errc::invalid_address, "connect", 0, "unix: without a path"};
  pin_callback_cq();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  // One connection per worker: no sharing of subchannels (and their backoff
  // state) with an earlier worker that listened on the same path.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  const int backoff = static_cast<int>(options.reconnect_backoff.count());
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, backoff);
  // gRPC core also uses the minimum backoff as the connect timeout: 100 ms
  // is too short for a busy Python server to answer the HTTP/2 handshake
  // (seen in the bench starting 8 workers). Keep the minimum at 1 s.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, std::max(backoff, 1000));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, std::max(backoff, 1000));
  auto conn = std::make_shared<connection>();
  conn->address = options.address;
  conn->channel =
    grpc::CreateCustomChannel(options.address, grpc::InsecureChannelCredentials(), args);
  if (!conn->channel)
    return channel_error{channel_errc::invalid_address, "connect", 0,
                         "cannot create a channel to " + options.address};
  conn->stub = wire::WorkerService::NewStub(conn->channel);
  auto state = std::make_unique<impl>();
  state->conn = std::move(conn);
  return std::unique_ptr<worker_channel>{new worker_channel{std::move(state)}};
}

worker_channel::worker_channel(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

worker_channel::~worker_channel() {
  if (auto s = impl_->current_stream())
    s->abort();
  std::lock_guard guard{impl_->registry->mutex};
  for (auto* c : impl_->registry->calls)
    c->context.TryCancel();
}

const std::string& worker_channel::address() const noexcept {
  return impl_->conn->address;
}

void worker_channel::ping(std::chrono::milliseconds timeout, callback<wire::PingReply> done) {
  impl_->unary<wire::PingRequest, wire::PingReply>(
    "Ping", timeout, {}, std::move(done), [](auto* async, auto* ctx, auto* req, auto* rep, auto cb) {
      async->Ping(ctx, req, rep, std::move(cb));
    });
}

void worker_channel::describe_tools(std::chrono::milliseconds timeout,
                                    callback<wire::DescribeToolsReply> done) {
  impl_->unary<wire::DescribeToolsRequest, wire::DescribeToolsReply>(
    "DescribeTools", timeout, {}, std::move(done),
    [](auto* async, auto* ctx, auto* req, auto* rep, auto cb) {
      async->DescribeTools(ctx, req, rep, std::move(cb));
    });
}

void worker_channel::shutdown(std::chrono::milliseconds grace, std::chrono::milliseconds timeout,
                              callback<wire::ShutdownReply> done) {
  wire::ShutdownRequest request;
  request.set_grace_ms(static_cast<std::uint32_t>(grace.count()));
  impl_->unary<wire::ShutdownRequest, wire::ShutdownReply>(
    "Shutdown", timeout, std::move(request), std::move(done),
    [](auto* async, auto* ctx, auto* req, auto* rep, auto cb) {
      async->Shutdown(ctx, req, rep, std::move(cb));
    });
}

channel_result<channel_ok> worker_channel::open(channel_callbacks callbacks) {
  // Started under the lock, so no send() can reach the reactor before it is
  // bound to its call (reactions never take this lock).
  std::lock_guard guard{impl_->stream_mutex};
  if (impl_->stream)
    return channel_error{channel_errc::already_open, "open", 0,
                         "a worker_channel opens its stream once"};
  auto driver = std::make_shared<stream_driver>(impl_->conn, std::move(callbacks));
  impl_->stream = driver;
  stream_driver::start(driver);
  return channel_ok{};
}

channel_result<channel_ok> worker_channel::send(std::vector<wire::Request> requests) {
  auto s = impl_->current_stream();
  if (!s)
    return channel_error{channel_errc::not_open, "send", 0, "open() was not called"};
  return s->enqueue(&requests, nullptr, "send");
}

channel_result<channel_ok> worker_channel::send(wire::Request request) {
  std::vector<wire::Request> one;
  one.push_back(std::move(request));
  return send(std::move(one));
}

channel_result<channel_ok> worker_channel::cancel(std::vector<std::uint64_t> ids) {
  auto s = impl_->current_stream();
  if (!s)
    return channel_error{channel_errc::not_open, "cancel", 0, "open() was not called"};
  return s->enqueue(nullptr, &ids, "cancel");
}

void worker_channel::close() {
  if (auto s = impl_->current_stream())
    s->close();
}

void worker_channel::abort() {
  if (auto s = impl_->current_stream())
    s->abort();
}

worker_channel::stream_stats worker_channel::stats() const {
  if (auto s = impl_->current_stream())
    return s->stats();
  return {};
}

} // namespace snakepit::transport
