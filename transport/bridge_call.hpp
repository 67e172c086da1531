// transport/bridge_call.hpp — one unary call of the host bridge, finished
// exactly once by whichever comes first: the handler's answer, the request
// deadline, the caller cancelling, or shutdown. Internal to
// bridge_server.cpp (it brings in gRPC's core API).
//
// Ownership: every batch in flight holds the call (a shared_ptr in its tag);
// so do the handler's `done` and (weakly) the deadline timer. The grpc_call
// is released once the call has finished and both of its batches (the
// close-watch and the answer) have come back, so a late `done` touches
// nothing gRPC has freed.
#pragma once

#include "transport/deadline_timer.hpp"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/slice.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace snakepit::transport::bridge_detail {

/// Something the bridge's completion queue hands back: its address is the tag.
struct completion {
  virtual ~completion() = default;
  virtual void complete(bool ok) = 0;
};

/// What shutdown and the deadline timer see of a call.
class call_base {
public:
  virtual ~call_base() = default;
  /// Finishes the call with a non-OK status unless it has finished already.
  virtual void fail(grpc_status_code code, const std::string& message) = 0;
};

/// The calls in flight, the deadline timer, and whether new calls are taken.
class call_registry {
public:
  explicit call_registry(std::chrono::milliseconds request_deadline)
    : request_deadline_(request_deadline) {}

  [[nodiscard]] std::chrono::milliseconds request_deadline() const noexcept {
    return request_deadline_;
  }
  [[nodiscard]] deadline_timer& timer() noexcept { return timer_; }

  /// An id for a new call, or 0 once closed (the call is then refused).
  std::uint64_t add(const std::shared_ptr<call_base>& call) {
    std::lock_guard g{mutex_};
    if (closed_)
      return 0;
    const auto id = next_id_++;
    calls_.emplace(id, call);
    return id;
  }

  void remove(std::uint64_t id) {
    std::lock_guard g{mutex_};
    calls_.erase(id);
  }

  /// Refuses new calls from now on and hands over those in flight.
  std::vector<std::shared_ptr<call_base>> close() {
    std::vector<std::shared_ptr<call_base>> out;
    std::lock_guard g{mutex_};
    closed_ = true;
    for (auto& [id, weak] : calls_)
      if (auto call = weak.lock())
        out.push_back(std::move(call));
    return out;
  }

  [[nodiscard]] std::size_t size() const {
    std::lock_guard g{mutex_};
    return calls_.size();
  }

private:
  const std::chrono::milliseconds request_deadline_;
  deadline_timer timer_;
  mutable std::mutex mutex_;
  std::unordered_map<std::uint64_t, std::weak_ptr<call_base>> calls_;
  std::uint64_t next_id_ = 1;
  bool closed_ = false;
};

/// The request's bytes as a message; false if they do not parse.
template <class Message>
bool parse_payload(grpc_byte_buffer* payload, Message& out) {
  if (payload == nullptr)
    return false;
  grpc_byte_buffer_reader reader;
  if (!grpc_byte_buffer_reader_init(&reader, payload))
    return false;
  grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
  const bool ok = out.ParseFromArray(GRPC_SLICE_START_PTR(all),
                                     static_cast<int>(GRPC_SLICE_LENGTH(all)));
  grpc_slice_unref(all);
  grpc_byte_buffer_reader_destroy(&reader);
  return ok;
}

template <class Message>
grpc_byte_buffer* serialize(const Message& message) {
  grpc_slice slice = grpc_slice_malloc(message.ByteSizeLong());
  message.SerializeWithCachedSizesToArray(GRPC_SLICE_START_PTR(slice));
  grpc_byte_buffer* buffer = grpc_raw_byte_buffer_create(&slice, 1);
  grpc_slice_unref(slice);
  return buffer;
}

/// One call, whatever its reply type: the wire side.
class call_state : public call_base, public std::enable_shared_from_this<call_state> {
public:
  call_state(grpc_call* call, std::shared_ptr<call_registry> registry, std::string method)
    : call_(call), registry_(std::move(registry)), method_(std::move(method)) {}

  ~call_state() override {
    if (call_ != nullptr)
      grpc_call_unref(call_);
    if (reply_ != nullptr)
      grpc_byte_buffer_destroy(reply_);
    grpc_slice_unref(details_);
  }

  /// Watches for the caller going away (cancel, its deadline, a broken
  /// connection), registers the call and arms its deadline. False (and the
  /// call finished) if the server is shutting down.
  bool start() {
    close_.owner = shared_from_this();
    grpc_op op{};
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &cancelled_;
    {
      std::lock_guard g{mutex_};
      if (grpc_call_start_batch(call_, &op, 1, &close_, nullptr) != GRPC_CALL_OK) {
        close_.owner.reset();
        finished_ = true;
        return false;
      }
      ++batches_;
    }
    const auto id = registry_->add(shared_from_this());
    if (id == 0) {
      fail(GRPC_STATUS_UNAVAILABLE, "the host bridge is shutting down");
      return false;
    }
    std::lock_guard g{mutex_};
    registry_id_ = id;
    if (finished_) { // finished between add() and here
      registry_->remove(id);
      return true;
    }
    const auto limit = registry_->request_deadline();
    std::weak_ptr<call_state> weak = shared_from_this();
    timer_id_ = registry_->timer().schedule(
      deadline_timer::clock::now() + limit, [weak, limit, method = method_] {
        if (auto self = weak.lock())
          self->fail(GRPC_STATUS_DEADLINE_EXCEEDED,
                     "the host did not answer " + method + " within "
                       + std::to_string(limit.count()) + " ms");
      });
    return true;
  }

  /// Sends `reply` with status OK unless the call has finished already.
  template <class Reply>
  void answer(const Reply& reply) {
    std::lock_guard g{mutex_};
    if (finished_)
      return;
    finish_locked(GRPC_STATUS_OK, {}, serialize(reply));
  }

  void fail(grpc_status_code code, const std::string& message) override {
    std::lock_guard g{mutex_};
    if (finished_)
      return;
    finish_locked(code, message, nullptr);
  }

  /// The `done` given to the handler: safe to call from any thread, at any
  /// time, also after the server is gone; only the first answer counts.
  template <class Reply>
  std::function<void(Reply)> done() {
    return [self = shared_from_this()](Reply reply) { self->answer(reply); };
  }

private:
  struct batch final : completion {
    explicit batch(bool watches_close) : watches_close(watches_close) {}
    const bool watches_close;
    std::shared_ptr<call_state> owner; // the call stays alive while gRPC has the batch
    void complete(bool) override {
      auto keep = std::move(owner);
      keep->batch_done(watches_close);
    }
  };

  // The call is over for us: out of the registry, its deadline dropped.
  void end_locked() {
    finished_ = true;
    if (registry_id_ != 0)
      registry_->remove(registry_id_);
    if (timer_id_ != 0)
      registry_->timer().cancel(timer_id_);
  }

  void finish_locked(grpc_status_code code, const std::string& message, grpc_byte_buffer* reply) {
    end_locked();
    // Both must live until the batch is back (the destructor frees them).
    reply_ = reply;
    details_ = grpc_slice_from_copied_buffer(message.data(), message.size());
    grpc_op ops[3]{};
    std::size_t n = 0;
    ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
    ++n;
    if (reply_ != nullptr) {
      ops[n].op = GRPC_OP_SEND_MESSAGE;
      ops[n].data.send_message.send_message = reply_;
      ++n;
    }
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = code;
    ops[n].data.send_status_from_server.status_details = message.empty() ? nullptr : &details_;
    ++n;
    send_.owner = shared_from_this();
    if (grpc_call_start_batch(call_, ops, n, &send_, nullptr) == GRPC_CALL_OK)
      ++batches_;
    else
      send_.owner.reset();
  }

  void batch_done(bool close_watch) {
    std::lock_guard g{mutex_};
    if (close_watch && cancelled_ != 0 && !finished_)
      end_locked(); // the caller went away first: nothing will read an answer now
    // Free gRPC's call now, even if the handler keeps `done` for long.
    if (--batches_ == 0 && finished_) {
      grpc_call_unref(call_);
      call_ = nullptr;
    }
  }

  std::mutex mutex_;
  grpc_call* call_;
  std::shared_ptr<call_registry> registry_;
  std::string method_;
  batch close_{true};
  batch send_{false};
  int cancelled_ = 0;
  int batches_ = 0;
  bool finished_ = false;
  grpc_byte_buffer* reply_ = nullptr;
  grpc_slice details_ = grpc_empty_slice();
  std::uint64_t registry_id_ = 0;
  deadline_timer::timer_id timer_id_ = 0;
};

} // namespace snakepit::transport::bridge_detail
