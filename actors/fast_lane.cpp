#include "actors/fast_lane.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "actors/call_port.hpp"

namespace snakepit::detail {

namespace {

using clock_type = std::chrono::steady_clock;

std::chrono::microseconds micros(clock_type::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d);
}

} // namespace

/// One call in the lane: whoever claims it answers it (the outcome, or the
/// deadline).
struct fast_lane::lane_call {
  std::atomic<bool> settled{false};
  answer_fn answer;
  std::shared_ptr<const pool_observer> observer;  // null: nobody listens
  uint64_t call_id = 0;
  uint64_t epoch = 0;
  std::string slot;
  std::string tool;
  clock_type::time_point dispatched_at;
  transport::deadline_timer::timer_id timer = 0;

  bool claim() { return !settled.exchange(true, std::memory_order_acq_rel); }

  void report(const call_outcome& out) const {
    if (!observer)
      return;
    pool_event ev;
    ev.kind = out.value ? pool_event_kind::call_done : pool_event_kind::call_failed;
    ev.worker_id = slot;
    ev.call_id = call_id;
    ev.run_time = micros(clock_type::now() - dispatched_at);
    if (!out.value)
      ev.error = out.error;
    (*observer)(ev);
  }
};

fast_lane::fast_lane() = default;

fast_lane::~fast_lane() {
  timer_.stop();
}

void fast_lane::attach(give_back_fn give_back, std::shared_ptr<const pool_observer> observer) {
  std::lock_guard<std::mutex> guard{mx_};
  lent_.clear();
  idle_.clear();
  give_back_ = std::move(give_back);
  observer_ = std::move(observer);
  ++epoch_;
  open_ = true;
  want_back_ = false;
  figures_ = {};
}

void fast_lane::lend(worker_key key, std::string slot, std::shared_ptr<call_port> port) {
  std::lock_guard<std::mutex> guard{mx_};
  if (!open_ || !port)
    return;
  lent_.insert_or_assign(key, lent_worker{std::move(slot), std::move(port), false});
  std::erase(idle_, key);
  idle_.push_back(key);
}

std::vector<fast_lane::worker_key> fast_lane::recall_idle() {
  std::lock_guard<std::mutex> guard{mx_};
  std::vector<worker_key> out;
  out.swap(idle_);
  for (auto key : out)
    lent_.erase(key);
  return out;
}

void fast_lane::want_back(bool on) {
  std::lock_guard<std::mutex> guard{mx_};
  want_back_ = on;
}

bool fast_lane::revoke(worker_key key) {
  std::lock_guard<std::mutex> guard{mx_};
  std::erase(idle_, key);
  return lent_.erase(key) > 0;
}

void fast_lane::close() {
  std::lock_guard<std::mutex> guard{mx_};
  open_ = false;
  lent_.clear();
  idle_.clear();
}

fast_lane::figures fast_lane::counts() const {
  std::lock_guard<std::mutex> guard{mx_};
  return figures_;
}

bool fast_lane::busy(worker_key key) const {
  std::lock_guard<std::mutex> guard{mx_};
  auto it = lent_.find(key);
  return it != lent_.end() && it->second.busy;
}

bool fast_lane::try_execute(call& c, answer_fn& answer) {
  // Streams answer to a sink actor, and sessions have affinity rules: both
  // are the pool's.
  if (c.stream_sink || !c.session_id.empty())
    return false;
  worker_key key = 0;
  auto st = std::make_shared<lane_call>();
  std::shared_ptr<call_port> port;
  {
    std::lock_guard<std::mutex> guard{mx_};
    if (!open_ || want_back_ || idle_.empty())
      return false;
    key = idle_.back();  // the most recently idle: its process is the warmest
    idle_.pop_back();
    auto& w = lent_.at(key);
    w.busy = true;
    port = w.port;
    st->epoch = epoch_;
    st->observer = observer_;
    if (observer_)
      st->slot = w.slot;
    ++figures_.requests;
  }
  st->answer = std::move(answer);
  st->call_id = c.id;
  st->dispatched_at = clock_type::now();
  if (st->observer) {
    pool_event ev;
    ev.kind = pool_event_kind::call_dispatched;
    ev.worker_id = st->slot;
    ev.call_id = c.id;
    (*st->observer)(ev);
  }
  std::weak_ptr<fast_lane> weak = weak_from_this();
  std::weak_ptr<call_port> weak_port = port;
  st->tool = c.tool;
  // Scheduled before the call goes out, so the outcome always finds the
  // timer's id (it can only come after submit).
  st->timer = timer_.schedule(c.deadline, [weak, weak_port, st] {
    if (!st->claim())
      return;
    auto out = call_outcome::failed(
      {errc::timeout, fmt::format("call {} ('{}') reached its deadline on worker {}; cancelled",
                                  st->call_id, st->tool, st->slot)});
    if (auto lane = weak.lock())
      lane->count(st->epoch, false);
    st->report(out);
    st->answer(std::move(out));
    // The worker stays busy with it until Python answers (it always does).
    if (auto p = weak_port.lock())
      p->cancel(st->call_id);
  });
  auto settle = [weak, st, key](call_outcome out, bool broken) {
    if (auto lane = weak.lock()) {
      // The worker is free again before its caller hears: a lock-step
      // caller's next call finds it idle.
      lane->finished(key, st->epoch, broken);
      if (!st->claim())
        return;
      lane->timer_.cancel(st->timer);
      lane->count(st->epoch, out.value.has_value());
    } else if (!st->claim()) {
      return;
    }
    st->report(out);
    st->answer(std::move(out));
  };
  auto refused = port->submit(std::move(c), [settle, weak_port](call_outcome out) {
    auto p = weak_port.lock();
    settle(std::move(out), !p || p->is_closed());
  });
  if (refused) {
    bool broken = refused->code() == errc::worker_crashed;
    settle(call_outcome::failed(std::move(*refused)), broken);
  }
  return true;
}

void fast_lane::count(uint64_t epoch, bool ok) {
  std::lock_guard<std::mutex> guard{mx_};
  if (epoch != epoch_)
    return;
  if (ok)
    ++figures_.completed;
  else
    ++figures_.errors;
}

void fast_lane::finished(worker_key key, uint64_t epoch, bool broken) {
  give_back_fn back;
  {
    std::lock_guard<std::mutex> guard{mx_};
    if (epoch != epoch_)
      return;  // an older pool's call: nobody counts it
    auto it = lent_.find(key);
    if (it != lent_.end())
      ++figures_.slot_requests[it->second.slot];
    if (it == lent_.end() || !it->second.busy)
      return;  // revoked meanwhile (down, retired, closed)
    if (broken) {
      // Its port is closed: the worker is going; the pool hears its down
      // message.
      lent_.erase(it);
    } else if (want_back_) {
      lent_.erase(it);
      back = give_back_;
    } else {
      it->second.busy = false;
      idle_.push_back(key);
    }
  }
  if (back)
    back(key);
}

} // namespace snakepit::detail
