#include "transport/channel_driver.hpp"

#include "transport/grpc_status_map.hpp"
#include "transport/standby_poller.hpp"

#include <pthread.h>

#include <algorithm>
#include <thread>
#include <utility>

namespace snakepit::transport {

channel_driver::channel_driver(std::shared_ptr<grpc::Channel> channel)
  : stub_(wire::WorkerService::NewStub(std::move(channel))) {}

std::shared_ptr<channel_driver> channel_driver::start(std::shared_ptr<grpc::Channel> channel) {
  auto self = std::make_shared<channel_driver>(std::move(channel));
  std::thread{[self] { self->help(); }}.detach();
  return self;
}

// --- who polls ----------------------------------------------------------------

bool channel_driver::work_locked() const {
  if (shut_down_)
    return true;  // the queue must be drained
  if (!unary_.empty() || kick_pending_)
    return true;
  if (!opened_ || stream_over_)
    return false;
  return !started_ || writing_ || expected_ > 0 || closing_ || aborted_ || read_closed_ ||
         write_failed_ || finish_issued_;
}

void channel_driver::maybe_shut_down_locked() {
  if (shut_down_ || !released_ || !unary_.empty() || (opened_ && !stream_over_))
    return;
  shut_down_ = true;
  if (kick_pending_)
    kick_.Cancel();
  cq_.Shutdown();
}

void channel_driver::help() {
  // Named for ps/perf (it would inherit its creator's name).
  ::pthread_setname_np(::pthread_self(), "sp-channel");
  std::unique_lock lock{mutex_};
  while (true) {
    helper_wake_.wait(lock, [&] { return poller_ == poller::none && work_locked(); });
    poller_ = poller::helper;
    do {
      lock.unlock();
      void* t = nullptr;
      bool ok = false;
      bool got = false;
      {
        const polling_scope polling;  // not around run(): a slow callback does not poll
        got = cq_.Next(&t, &ok);
      }
      if (!got)
        return;  // drained after shutdown: nothing refers to the driver now
      run(t, ok);
      lock.lock();
    } while (work_locked());
    poller_ = poller::none;
  }
}

void channel_driver::poll_until(const std::function<bool()>& done,
                                std::chrono::steady_clock::time_point deadline) {
  const auto until = std::chrono::system_clock::now() +
                     std::chrono::duration_cast<std::chrono::system_clock::duration>(
                       deadline - std::chrono::steady_clock::now());
  while (!done()) {
    void* t = nullptr;
    bool ok = false;
    grpc::CompletionQueue::NextStatus status;
    {
      const polling_scope polling;  // not around run(): a slow callback does not poll
      status = cq_.AsyncNext(&t, &ok, until);
    }
    if (status != grpc::CompletionQueue::GOT_EVENT)
      break;  // the deadline, or the queue shut down
    run(t, ok);
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

void channel_driver::kick() {
  std::lock_guard guard{mutex_};
  // Set under the lock, so the queue cannot be shut down meanwhile.
  if (poller_ != poller::caller || kick_pending_ || shut_down_)
    return;
  kick_pending_ = true;
  kick_.Set(&cq_, gpr_now(GPR_CLOCK_MONOTONIC), tag(op::kick));
}

void channel_driver::run(void* t, bool ok) {
  const auto value = reinterpret_cast<std::uintptr_t>(t);
  if (value >= static_cast<std::uintptr_t>(op::last)) {
    auto* call = static_cast<unary_op*>(t);
    {
      std::lock_guard guard{mutex_};
      unary_.erase(call);
      maybe_shut_down_locked();
    }
    call->complete(ok);
    delete call;
    return;
  }
  switch (static_cast<op>(value)) {
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
    case op::kick: {
      std::lock_guard guard{mutex_};
      kick_pending_ = false;
      break;
    }
    case op::last:
      break;
  }
}

void channel_driver::release() {
  {
    std::lock_guard guard{mutex_};
    released_ = true;
    for (auto* call : unary_)
      call->context.TryCancel();
    if (opened_ && !stream_over_) {
      aborted_ = true;
      context_.TryCancel();
    }
    maybe_shut_down_locked();
  }
  helper_wake_.notify_one();
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
    void complete(bool) override {
      // Finish always completes with ok; the status says how the call went.
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
  bool wake = false;
  {
    std::lock_guard guard{mutex_};
    if (released_) {
      delete c;  // unreachable through worker_channel: it is being destroyed
      return;
    }
    unary_.insert(c);
    c->rpc = prepare(&c->context);
    c->rpc->StartCall();
    c->rpc->Finish(&c->reply, &c->status, c);
    wake = poller_ == poller::none;
  }
  if (wake)
    helper_wake_.notify_one();
}

void channel_driver::ping(std::chrono::milliseconds timeout, done_fn<wire::PingReply> done) {
  unary<wire::PingReply>(timeout, std::move(done), "Ping", [this](grpc::ClientContext* ctx) {
    return stub_->PrepareAsyncPing(ctx, wire::PingRequest{}, &cq_);
  });
}

void channel_driver::describe_tools(std::chrono::milliseconds timeout,
                                    done_fn<wire::DescribeToolsReply> done) {
  unary<wire::DescribeToolsReply>(timeout, std::move(done), "DescribeTools",
                                  [this](grpc::ClientContext* ctx) {
                                    return stub_->PrepareAsyncDescribeTools(
                                      ctx, wire::DescribeToolsRequest{}, &cq_);
                                  });
}

void channel_driver::shutdown(std::chrono::milliseconds grace, std::chrono::milliseconds timeout,
                              done_fn<wire::ShutdownReply> done) {
  wire::ShutdownRequest request;
  request.set_grace_ms(static_cast<std::uint32_t>(grace.count()));
  unary<wire::ShutdownReply>(timeout, std::move(done), "Shutdown",
                             [this, &request](grpc::ClientContext* ctx) {
                               return stub_->PrepareAsyncShutdown(ctx, request, &cq_);
                             });
}

// --- the stream -------------------------------------------------------------------

channel_result<channel_ok> channel_driver::open(channel_callbacks callbacks) {
  {
    std::lock_guard guard{mutex_};
    if (opened_)
      return channel_error{channel_errc::already_open, "open", 0,
                           "a worker_channel opens its stream once"};
    opened_ = true;
    callbacks_ = std::move(callbacks);
    // Under the lock: no enqueue() reaches rw_ before it is set.
    rw_ = stub_->PrepareAsyncChannel(&context_, &cq_);
    rw_->StartCall(tag(op::start));
  }
  helper_wake_.notify_one();
  return channel_ok{};
}

channel_result<channel_ok> channel_driver::enqueue(std::vector<wire::Request>* requests,
                                                   std::vector<std::uint64_t>* cancels,
                                                   const char* op) {
  bool write = false;
  bool wake_helper = false;
  bool caller_polls = false;
  {
    std::lock_guard guard{mutex_};
    if (!opened_)
      return channel_error{channel_errc::not_open, op, 0, "open() was not called"};
    if (closing_ || read_closed_ || write_failed_ || stream_over_)
      return channel_error{channel_errc::stream_closed, op, 0,
                           closing_ ? "close() was called" : "the stream has ended"};
    // A synchronous caller reads the stream itself if its call would be the
    // only one in flight (a last write's completion still to come is no
    // other caller's: the caller runs it, and it starts this frame's write).
    caller_polls = requests && poller_ == poller::none && started_ && expected_ == 0 &&
                   caller_poll_offer::open_offer();
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

void channel_driver::close() {
  bool writes_done = false;
  {
    std::lock_guard guard{mutex_};
    if (!opened_ || closing_)
      return;
    closing_ = true;
    writes_done = take_writes_done_locked();
  }
  if (writes_done)
    rw_->WritesDone(tag(op::writes_done));
  helper_wake_.notify_one();
}

void channel_driver::abort() {
  {
    std::lock_guard guard{mutex_};
    if (!opened_ || stream_over_)
      return;
    aborted_ = true;
  }
  context_.TryCancel();
  helper_wake_.notify_one();
}

worker_channel::stream_stats channel_driver::stats() const {
  return {frames_written_.load(std::memory_order_relaxed),
          requests_written_.load(std::memory_order_relaxed),
          frames_read_.load(std::memory_order_relaxed)};
}

void channel_driver::on_started(bool ok) {
  bool read = false, write = false, writes_done = false;
  {
    std::lock_guard guard{mutex_};
    started_ = true;
    if (!ok) {
      // The call never started (no connection, or aborted): its status says
      // why.
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

void channel_driver::on_read(bool ok) {
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

void channel_driver::on_written(bool ok) {
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

void channel_driver::on_writes_done() {
  {
    std::lock_guard guard{mutex_};
    writing_ = false;
  }
  maybe_finish();
}

void channel_driver::maybe_finish() {
  {
    std::lock_guard guard{mutex_};
    if (finish_issued_ || !read_closed_ || writing_)
      return;
    finish_issued_ = true;
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
  std::lock_guard guard{mutex_};
  stream_over_ = true;
  maybe_shut_down_locked();
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

bool channel_driver::take_writes_done_locked() {
  if (!closing_ || !started_ || writing_ || writes_done_issued_ || read_closed_ ||
      write_failed_ || pending_.requests_size() != 0 || pending_.cancel_size() != 0)
    return false;
  writes_done_issued_ = true;
  writing_ = true; // WritesDone occupies the write slot
  return true;
}

} // namespace snakepit::transport
