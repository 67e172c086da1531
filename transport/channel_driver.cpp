#include "transport/channel_driver.hpp"

#include "transport/grpc_status_map.hpp"

#include <algorithm>
#include <utility>

namespace snakepit::transport {

channel_driver::channel_driver(std::shared_ptr<grpc::Channel> channel)
  : queue_(connection_queue::acquire()), stub_(wire::WorkerService::NewStub(std::move(channel))) {
  for (std::size_t i = 0; i < tags_.size(); ++i) {
    tags_[i].driver = this;
    tags_[i].which = static_cast<op>(i);
  }
}

std::shared_ptr<channel_driver> channel_driver::start(std::shared_ptr<grpc::Channel> channel) {
  auto self = std::make_shared<channel_driver>(std::move(channel));
  self->self_ = self;
  return self;
}

// --- work and retirement ----------------------------------------------------------

bool channel_driver::work_locked() const {
  if (!unary_.empty())
    return true;
  if (!opened_ || stream_over_)
    return false;
  return !started_ || writing_ || expected_ > 0 || closing_ || aborted_ || read_closed_ ||
         write_failed_ || finish_issued_;
}

void channel_driver::settle_locked(retired& last) {
  const bool work = work_locked();
  if (work != working_) {
    working_ = work;
    if (work)
      queue_->add_work();
    else
      queue_->remove_work();
  }
  if (released_ && unary_.empty() && (!opened_ || stream_over_) && self_)
    last = std::move(self_);
}

void channel_driver::run(op which, bool ok) {
  switch (which) {
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
      break;
    case op::count:
      break;
  }
}

void channel_driver::on_unary_done(unary_op* call) {
  retired last;  // may be the last reference: dropped after everything below
  {
    std::lock_guard guard{mutex_};
    unary_.erase(call);
    settle_locked(last);
  }
  call->answer();
  delete call;
}

void channel_driver::release() {
  bool read = false;
  retired last;
  {
    std::lock_guard guard{mutex_};
    released_ = true;
    for (auto* call : unary_)
      call->context.TryCancel();
    if (opened_ && !stream_over_) {
      aborted_ = true;
      context_.TryCancel();
      read = take_read_locked();  // the cancelled stream completes it with !ok
    }
    settle_locked(last);
  }
  // The worker_channel still holds the driver while it calls release().
  if (read)
    rw_->Read(&incoming_, tag(op::read));
}

// --- unary calls ----------------------------------------------------------------

template <class Rep, class Prepare>
void channel_driver::unary(std::chrono::milliseconds timeout, done_fn<Rep> done,
                           const char* operation, Prepare prepare) {
  struct call final : unary_op {
    Rep reply;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<Rep>> rpc;
    done_fn<Rep> done;
    const char* operation = "";
    void answer() override {
      if (status.ok())
        done(std::move(reply));
      else
        done(make_channel_error(status.error_code(), operation, status.error_message()));
    }
  };
  auto* c = new call;
  c->done = std::move(done);
  c->operation = operation;
  c->context.set_deadline(std::chrono::system_clock::now() + timeout);
  c->driver = this;
  std::lock_guard guard{mutex_};
  if (released_) {
    delete c;  // unreachable through worker_channel: it is being destroyed
    return;
  }
  unary_.insert(c);
  c->rpc = prepare(&c->context);
  c->rpc->StartCall();
  c->rpc->Finish(&c->reply, &c->status, static_cast<connection_queue::completion*>(c));
  retired none;  // not released: nothing retires here
  settle_locked(none);
}

void channel_driver::ping(std::chrono::milliseconds timeout, done_fn<wire::PingReply> done) {
  unary<wire::PingReply>(timeout, std::move(done), "Ping", [this](grpc::ClientContext* ctx) {
    return stub_->PrepareAsyncPing(ctx, wire::PingRequest{}, queue_->cq());
  });
}

void channel_driver::describe_tools(std::chrono::milliseconds timeout,
                                    done_fn<wire::DescribeToolsReply> done) {
  unary<wire::DescribeToolsReply>(timeout, std::move(done), "DescribeTools",
                                  [this](grpc::ClientContext* ctx) {
                                    return stub_->PrepareAsyncDescribeTools(
                                      ctx, wire::DescribeToolsRequest{}, queue_->cq());
                                  });
}

void channel_driver::shutdown(std::chrono::milliseconds grace, std::chrono::milliseconds timeout,
                              done_fn<wire::ShutdownReply> done) {
  wire::ShutdownRequest request;
  request.set_grace_ms(static_cast<std::uint32_t>(grace.count()));
  unary<wire::ShutdownReply>(timeout, std::move(done), "Shutdown",
                             [this, &request](grpc::ClientContext* ctx) {
                               return stub_->PrepareAsyncShutdown(ctx, request, queue_->cq());
                             });
}

// --- the stream -------------------------------------------------------------------

channel_result<channel_ok> channel_driver::open(channel_callbacks callbacks) {
  retired last;
  {
    std::lock_guard guard{mutex_};
    if (opened_)
      return channel_error{channel_errc::already_open, "open", 0,
                           "a worker_channel opens its stream once"};
    opened_ = true;
    callbacks_ = std::move(callbacks);
    // Under the lock: no enqueue() reaches rw_ before it is set.
    rw_ = stub_->PrepareAsyncChannel(&context_, queue_->cq());
    rw_->StartCall(tag(op::start));
    settle_locked(last);
  }
  return channel_ok{};
}

channel_result<channel_ok> channel_driver::enqueue(std::vector<wire::Request>* requests,
                                                   std::vector<std::uint64_t>* cancels,
                                                   const char* op) {
  bool write = false;
  bool read = false;
  bool caller_polls = false;
  retired last;
  {
    std::lock_guard guard{mutex_};
    if (!opened_)
      return channel_error{channel_errc::not_open, op, 0, "open() was not called"};
    if (closing_ || read_closed_ || write_failed_ || stream_over_)
      return channel_error{channel_errc::stream_closed, op, 0,
                           closing_ ? "close() was called" : "the stream has ended"};
    // A synchronous caller reads the queue itself if its call would be the
    // only one in flight here (a last write's completion still to come is no
    // other caller's: the caller runs it, and it starts this frame's write)
    // and nobody reads the queue now.
    caller_polls = requests && started_ && expected_ == 0 && caller_poll_offer::open_offer() &&
                   queue_->take_for_caller();
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
    read = take_read_locked();
    settle_locked(last);
  }
  if (caller_polls)
    caller_poll_offer::take(queue_);
  if (write)
    rw_->Write(in_flight_, tag(op::write));
  if (read)
    rw_->Read(&incoming_, tag(op::read));
  return channel_ok{};
}

void channel_driver::close() {
  bool writes_done = false;
  bool read = false;
  retired last;
  {
    std::lock_guard guard{mutex_};
    if (!opened_ || closing_)
      return;
    closing_ = true;
    writes_done = take_writes_done_locked();
    read = take_read_locked();
    settle_locked(last);
  }
  if (writes_done)
    rw_->WritesDone(tag(op::writes_done));
  if (read)
    rw_->Read(&incoming_, tag(op::read));
}

void channel_driver::abort() {
  bool read = false;
  retired last;
  {
    std::lock_guard guard{mutex_};
    if (!opened_ || stream_over_)
      return;
    aborted_ = true;
    read = take_read_locked();
    settle_locked(last);
  }
  context_.TryCancel();
  if (read)
    rw_->Read(&incoming_, tag(op::read));
}

worker_channel::stream_stats channel_driver::stats() const {
  return {frames_written_.load(std::memory_order_relaxed),
          requests_written_.load(std::memory_order_relaxed),
          frames_read_.load(std::memory_order_relaxed)};
}

void channel_driver::on_started(bool ok) {
  bool read = false, write = false, writes_done = false;
  retired last;
  {
    std::lock_guard guard{mutex_};
    started_ = true;
    if (!ok) {
      // The call never started (no connection, or aborted): its status says
      // why.
      read_closed_ = true;
    } else {
      write = take_pending_locked();
      if (!write)
        writes_done = take_writes_done_locked();
      read = take_read_locked();
    }
    settle_locked(last);
  }
  if (write)
    rw_->Write(in_flight_, tag(op::write));
  if (writes_done)
    rw_->WritesDone(tag(op::writes_done));
  if (read)
    rw_->Read(&incoming_, tag(op::read));
  if (!ok)
    maybe_finish();
}

void channel_driver::on_read(bool ok) {
  retired last;
  if (!ok) {
    {
      std::lock_guard guard{mutex_};
      read_armed_ = false;
      read_closed_ = true;
      settle_locked(last);
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
    settle_locked(last);
  }
  if (callbacks_.on_reply)
    for (auto& reply : *incoming_.mutable_replies())
      callbacks_.on_reply(std::move(reply));
  if (callbacks_.on_chunk)
    for (auto& chunk : *incoming_.mutable_chunks())
      callbacks_.on_chunk(std::move(chunk));
  incoming_.Clear();
  // The next read starts only once a reply is due (or the stream ends): a
  // read started at once makes gRPC send the flow-control update for this
  // frame by itself, a write that wakes the worker's gRPC thread for
  // nothing; started after the next request, the update rides with it.
  bool read = false;
  {
    std::lock_guard guard{mutex_};
    read_armed_ = false;
    read = take_read_locked();
  }
  if (read)
    rw_->Read(&incoming_, tag(op::read));
}

void channel_driver::on_written(bool ok) {
  bool write = false, writes_done = false, read = false;
  retired last;
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
    read = take_read_locked();
    settle_locked(last);
  }
  if (write)
    rw_->Write(in_flight_, tag(op::write));
  if (writes_done)
    rw_->WritesDone(tag(op::writes_done));
  if (read)
    rw_->Read(&incoming_, tag(op::read));
  maybe_finish();
}

void channel_driver::on_writes_done() {
  retired last;
  {
    std::lock_guard guard{mutex_};
    writing_ = false;
    settle_locked(last);
  }
  maybe_finish();
}

void channel_driver::maybe_finish() {
  retired last;
  {
    std::lock_guard guard{mutex_};
    if (finish_issued_ || !read_closed_ || writing_)
      return;
    finish_issued_ = true;
    settle_locked(last);
  }
  rw_->Finish(&status_, tag(op::finish));
}

void channel_driver::on_finished() {
  // Finish was issued after the stream's other ops had come back: this is
  // its last completion.
  auto on_closed = std::move(callbacks_.on_closed);
  callbacks_ = {};
  if (on_closed) {
    if (status_.ok())
      on_closed(channel_ok{});
    else
      on_closed(make_channel_error(status_.error_code(), "Channel", status_.error_message()));
  }
  retired last;  // may be the last reference: dropped after the lock
  std::lock_guard guard{mutex_};
  stream_over_ = true;
  settle_locked(last);
}

bool channel_driver::take_pending_locked() {
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

bool channel_driver::take_read_locked() {
  if (read_armed_ || !started_ || read_closed_ || finish_issued_ || !rw_)
    return false;
  if (expected_ == 0 && !closing_ && !aborted_ && !write_failed_)
    return false;
  read_armed_ = true;
  return true;
}

bool channel_driver::take_writes_done_locked() {
  if (!closing_ || !started_ || writing_ || writes_done_issued_ || read_closed_ ||
      write_failed_ || pending_.requests_size() != 0 || pending_.cancel_size() != 0)
    return false;
  writes_done_issued_ = true;
  writing_ = true; // WritesDone occupies the write slot
  return true;
}

} // namespace snakepit::transport
