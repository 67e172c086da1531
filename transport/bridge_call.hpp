// transport/bridge_call.hpp — one unary call of the host bridge, finished
// exactly once by whichever comes first: the handler's answer, the request
// deadline, the caller cancelling, or shutdown. Internal to
// bridge_server.cpp (it brings in gRPC).
//
// Ownership: gRPC owns the reactor until OnDone; the reactor, the handler's
// `done` and the deadline timer share the call state, which holds only a raw
// pointer to the reactor and drops it when it finishes. The response message
// (owned by gRPC until OnDone) is written only before Finish, under the lock,
// so a late `done` touches nothing gRPC has freed.
#pragma once

#include "transport/deadline_timer.hpp"

#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace snakepit::transport::bridge_detail {

/// What shutdown and the deadline timer see of a call of any reply type.
class call_base {
public:
  virtual ~call_base() = default;
  /// Finishes the call with a non-OK status unless it has finished already.
  virtual void fail(const grpc::Status& status) = 0;
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

/// The reactor gRPC owns: forwards a cancel to the call and frees itself.
class call_reactor final : public grpc::ServerUnaryReactor {
public:
  std::shared_ptr<call_base> call;

  void OnCancel() override {
    call->fail(grpc::Status(grpc::StatusCode::CANCELLED, "the caller cancelled the call"));
  }
  void OnDone() override { delete this; }
};

template <class Reply>
class unary_call final : public call_base,
                         public std::enable_shared_from_this<unary_call<Reply>> {
public:
  unary_call(call_reactor* reactor, Reply* response, std::shared_ptr<call_registry> registry,
             std::string method)
    : reactor_(reactor),
      response_(response),
      registry_(std::move(registry)),
      method_(std::move(method)) {}

  /// Answers with the handler's reply unless the call has finished already.
  void answer(Reply reply) {
    call_reactor* reactor = nullptr;
    {
      std::lock_guard g{mutex_};
      if (reactor_ == nullptr)
        return;
      *response_ = std::move(reply);
      reactor = release_locked();
    }
    reactor->Finish(grpc::Status::OK);
  }

  void fail(const grpc::Status& status) override {
    call_reactor* reactor = nullptr;
    {
      std::lock_guard g{mutex_};
      if (reactor_ == nullptr)
        return;
      reactor = release_locked();
    }
    reactor->Finish(status);
  }

  /// Registers the call and arms its deadline; false (and the call finished
  /// UNAVAILABLE) once the server is shutting down.
  bool arm() {
    const auto id = registry_->add(this->shared_from_this());
    if (id == 0) {
      fail(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the host bridge is shutting down"));
      return false;
    }
    std::lock_guard g{mutex_};
    registry_id_ = id;
    if (reactor_ == nullptr) { // finished between add() and here
      registry_->remove(id);
      return true;
    }
    const auto limit = registry_->request_deadline();
    std::weak_ptr<unary_call> weak = this->shared_from_this();
    timer_id_ = registry_->timer().schedule(
      deadline_timer::clock::now() + limit, [weak, limit, method = method_] {
        if (auto self = weak.lock())
          self->fail(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                  "the host did not answer " + method + " within "
                                    + std::to_string(limit.count()) + " ms"));
      });
    return true;
  }

  /// The `done` given to the handler: safe to call from any thread, at any
  /// time, also after the server is gone; only the first answer counts.
  std::function<void(Reply)> done() {
    return [self = this->shared_from_this()](Reply reply) { self->answer(std::move(reply)); };
  }

private:
  // Marks the call finished; the caller calls Finish outside the lock (OnDone
  // may run inline and free the reactor).
  call_reactor* release_locked() {
    auto* reactor = reactor_;
    reactor_ = nullptr;
    response_ = nullptr;
    if (registry_id_ != 0)
      registry_->remove(registry_id_);
    if (timer_id_ != 0)
      registry_->timer().cancel(timer_id_);
    return reactor;
  }

  std::mutex mutex_;
  call_reactor* reactor_;
  Reply* response_;
  std::shared_ptr<call_registry> registry_;
  std::string method_;
  std::uint64_t registry_id_ = 0;
  deadline_timer::timer_id timer_id_ = 0;
};

/// Starts one call: `dispatch(done)` hands it to the handler. Returns the
/// reactor for gRPC. An exception thrown by the handler (std::exception) is
/// reported to the caller as INTERNAL rather than taking down gRPC's thread.
template <class Reply, class Dispatch>
grpc::ServerUnaryReactor* start_call(const std::shared_ptr<call_registry>& registry,
                                     std::string method, Reply* response, Dispatch&& dispatch) {
  auto* reactor = new call_reactor;
  auto call = std::make_shared<unary_call<Reply>>(reactor, response, registry, method);
  reactor->call = call;
  if (!call->arm())
    return reactor;
  try {
    dispatch(call->done());
  } catch (const std::exception& e) {
    call->fail(grpc::Status(grpc::StatusCode::INTERNAL,
                            "the host's " + method + " handler threw: " + e.what()));
  }
  return reactor;
}

} // namespace snakepit::transport::bridge_detail
