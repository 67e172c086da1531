// transport/worker_channel.cpp — see worker_channel.hpp.
//
// Unary calls: one heap-allocated call object per call (ClientContext,
// request, reply, user callback), owned by the completion lambda that gRPC
// holds; a registry of in-flight calls lets the destructor TryCancel them.
//
// The stream: a ClientBidiReactor kept alive by a self-reference until OnDone
// (its last reaction). Writes come from any thread, so a hold (AddHold before
// StartCall) keeps OnDone from running while a thread may still call
// StartWrite/StartWritesDone; the hold is removed exactly once, when no write
// is in flight and no further write can start (reads ended, a write failed,
// or WritesDone was issued). Our mutex is never held while calling into gRPC.
#include "transport/worker_channel.hpp"

#include "transport/grpc_status_map.hpp"

#include "snakepit_bridge.grpc.pb.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <mutex>
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

class stream_reactor final : public grpc::ClientBidiReactor<wire::HostFrame, wire::WorkerFrame> {
public:
  stream_reactor(std::shared_ptr<connection> conn, channel_callbacks callbacks)
    : conn_(std::move(conn)), callbacks_(std::move(callbacks)) {}

  void start(std::shared_ptr<stream_reactor> self) {
    self_ = std::move(self);
    conn_->stub->async()->Channel(&context_, this);
    AddHold();
    StartRead(&incoming_);
    StartCall();
  }

  channel_result<channel_ok> enqueue(std::vector<wire::Request>* requests,
                                     std::vector<std::uint64_t>* cancels, const char* op) {
    bool write = false;
    {
      std::lock_guard guard{mutex_};
      if (closing_ || read_closed_ || write_failed_)
        return channel_error{channel_errc::stream_closed, op, 0,
                             closing_ ? "close() was called" : "the stream has ended"};
      if (requests) {
        auto* out = pending_.mutable_requests();
        out->Reserve(out->size() + static_cast<int>(requests->size()));
        for (auto& r : *requests)
          *out->Add() = std::move(r);
      }
      if (cancels) {
        auto* out = pending_.mutable_cancel();
        for (auto id : *cancels)
          out->Add(id);
      }
      write = take_pending_locked();
    }
    if (write)
      StartWrite(&in_flight_);
    return channel_ok{};
  }

  void close() {
    bool writes_done = false;
    bool release = false;
    {
      std::lock_guard guard{mutex_};
      if (closing_)
        return;
      closing_ = true;
      if (!writing_ && !read_closed_ && !write_failed_) {
        writes_done_issued_ = true;
        writes_done = true;
      }
      release = release_locked();
    }
    if (writes_done)
      StartWritesDone();
    if (release)
      RemoveHold();
  }

  void abort() { context_.TryCancel(); }

  worker_channel::stream_stats stats() const {
    return {frames_written_.load(std::memory_order_relaxed),
            requests_written_.load(std::memory_order_relaxed),
            frames_read_.load(std::memory_order_relaxed)};
  }

  void OnWriteDone(bool ok) override {
    bool write = false;
    bool writes_done = false;
    bool release = false;
    {
      std::lock_guard guard{mutex_};
      in_flight_.Clear(); // keeps its allocations for the next frame
      writing_ = false;
      if (!ok) {
        write_failed_ = true;
      } else if (!read_closed_) {
        write = take_pending_locked();
        if (!write && closing_ && !writes_done_issued_) {
          writes_done_issued_ = true;
          writes_done = true;
        }
      }
      release = release_locked();
    }
    if (write)
      StartWrite(&in_flight_);
    if (writes_done)
      StartWritesDone();
    if (release)
      RemoveHold();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      bool release = false;
      {
        std::lock_guard guard{mutex_};
        read_closed_ = true;
        release = release_locked();
      }
      if (release)
        RemoveHold();
      return;
    }
    frames_read_.fetch_add(1, std::memory_order_relaxed);
    if (callbacks_.on_reply)
      for (auto& reply : *incoming_.mutable_replies())
        callbacks_.on_reply(std::move(reply));
    if (callbacks_.on_chunk)
      for (auto& chunk : *incoming_.mutable_chunks())
        callbacks_.on_chunk(std::move(chunk));
    incoming_.Clear();
    StartRead(&incoming_);
  }

  void OnDone(const grpc::Status& status) override {
    auto keep = std::move(self_); // this reaction is the last: we may go now
    auto on_closed = std::move(callbacks_.on_closed);
    callbacks_ = {};
    if (on_closed) {
      if (status.ok())
        on_closed(channel_ok{});
      else
        on_closed(make_channel_error(status.error_code(), "Channel", status.error_message()));
    }
  }

private:
  /// Moves the queued frame into the write slot if no write is in flight.
  bool take_pending_locked() {
    if (writing_ || (pending_.requests_size() == 0 && pending_.cancel_size() == 0))
      return false;
    in_flight_.Swap(&pending_);
    writing_ = true;
    frames_written_.fetch_add(1, std::memory_order_relaxed);
    requests_written_.fetch_add(static_cast<std::uint64_t>(in_flight_.requests_size()),
                                std::memory_order_relaxed);
    return true;
  }

  /// True exactly once: when no write is in flight and none can start.
  bool release_locked() {
    if (hold_released_ || writing_)
      return false;
    if (!(read_closed_ || write_failed_ || writes_done_issued_))
      return false;
    hold_released_ = true;
    return true;
  }

  std::shared_ptr<connection> conn_;
  channel_callbacks callbacks_; // touched by reactions only (serialized)
  std::shared_ptr<stream_reactor> self_;
  grpc::ClientContext context_;
  wire::WorkerFrame incoming_;

  std::mutex mutex_;
  wire::HostFrame pending_;   // queued, not yet written
  wire::HostFrame in_flight_; // being written (owned by the writer while writing_)
  bool writing_ = false;
  bool closing_ = false;
  bool writes_done_issued_ = false;
  bool read_closed_ = false;
  bool write_failed_ = false;
  bool hold_released_ = false;

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
  std::shared_ptr<stream_reactor> stream; // set once by open()

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

  std::shared_ptr<stream_reactor> current_stream() {
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
  auto reactor = std::make_shared<stream_reactor>(impl_->conn, std::move(callbacks));
  impl_->stream = reactor;
  reactor->start(reactor);
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
