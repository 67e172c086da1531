#include "actors/fast_lane.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "actors/call_port.hpp"
#include "actors/call_size.hpp"

namespace snakepit::detail {

namespace {

using clock_type = std::chrono::steady_clock;

std::chrono::microseconds micros(clock_type::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d);
}

long long millis(clock_type::duration d) {
  return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

} // namespace

/// One call in the lane: whoever claims it answers it (its outcome, its
/// deadline, or the lane closing). Fields below `timer` are guarded by the
/// lane's lock.
struct fast_lane::lane_call {
  std::atomic<bool> settled{false};
  answer_fn answer;
  std::shared_ptr<const pool_observer> observer;  // null: nobody listens
  uint64_t call_id = 0;
  uint64_t epoch = 0;
  std::string tool;
  clock_type::time_point accepted_at;
  transport::deadline_timer::timer_id timer = 0;
  bool queued = false;               // in the lane's queue
  std::string slot;                  // once dispatched
  clock_type::time_point dispatched_at;
  std::weak_ptr<call_port> port;     // once dispatched, for a cancel

  bool claim() { return !settled.exchange(true, std::memory_order_acq_rel); }

  void report(pool_event_kind kind, const snakepit::error* error = nullptr) const {
    if (!observer)
      return;
    pool_event ev;
    ev.kind = kind;
    ev.worker_id = slot;
    ev.call_id = call_id;
    auto now = clock_type::now();
    if (kind == pool_event_kind::call_queued) {
      // nothing measured yet
    } else if (dispatched_at != clock_type::time_point{}) {
      ev.queue_time = micros(dispatched_at - accepted_at);
      if (kind != pool_event_kind::call_dispatched)
        ev.run_time = micros(now - dispatched_at);
    } else {
      ev.queue_time = micros(now - accepted_at);
    }
    if (error)
      ev.error = *error;
    (*observer)(ev);
  }

  void report(const call_outcome& out) const {
    if (out.value)
      report(pool_event_kind::call_done);
    else
      report(pool_event_kind::call_failed, &out.error);
  }
};

fast_lane::fast_lane() = default;

fast_lane::~fast_lane() {
  timer_.stop();
}

void fast_lane::attach(give_back_fn give_back, std::shared_ptr<const pool_observer> observer,
                       limits bounds) {
  std::lock_guard<std::mutex> guard{mx_};
  lent_.clear();
  idle_.clear();
  queue_.clear();  // close() answered them when the last pool ended
  give_back_ = std::move(give_back);
  observer_ = std::move(observer);
  limits_ = bounds;
  ++epoch_;
  open_ = true;
  want_back_ = false;
  figures_ = {};
}

void fast_lane::lend(worker_key key, std::string slot, std::shared_ptr<call_port> port) {
  batch b;
  {
    std::lock_guard<std::mutex> guard{mx_};
    if (!open_ || !port)
      return;
    auto& w = lent_.insert_or_assign(key, lent_worker{std::move(slot), std::move(port), 0})
                .first->second;
    std::erase(idle_, key);
    if (!want_back_ && !queue_.empty())
      take_batch_locked(key, w, b);
    else
      idle_.push_back(key);
  }
  send_batch(std::move(b));
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
  std::deque<queued_call> left;
  {
    std::lock_guard<std::mutex> guard{mx_};
    open_ = false;
    lent_.clear();
    idle_.clear();
    left.swap(queue_);
    give_back_ = nullptr;
    for (auto& q : left)
      q.st->queued = false;
  }
  for (auto& q : left) {
    if (!q.st->claim())
      continue;
    timer_.cancel(q.st->timer);
    auto out = call_outcome::failed({errc::shutting_down, "the pool is shutting down"});
    count(q.st->epoch, false);
    q.st->report(out);
    q.st->answer(std::move(out));
  }
}

fast_lane::figures fast_lane::counts() const {
  std::lock_guard<std::mutex> guard{mx_};
  auto out = figures_;
  out.queued = queue_.size();
  return out;
}

bool fast_lane::busy(worker_key key) const {
  std::lock_guard<std::mutex> guard{mx_};
  auto it = lent_.find(key);
  return it != lent_.end() && it->second.held > 0;
}

bool fast_lane::try_execute(call& c, answer_fn& answer) {
  // Streams answer to a sink actor, and sessions have affinity rules: both
  // are the pool's.
  if (c.stream_sink || !c.session_id.empty())
    return false;
  auto st = std::make_shared<lane_call>();
  std::shared_ptr<call_port> port;
  worker_key key = 0;
  enum { run_now, queued, full } placed = run_now;
  std::size_t waiting = 0;
  std::weak_ptr<fast_lane> weak = weak_from_this();
  auto on_deadline = [weak, st] {
    auto lane = weak.lock();
    expire(st, lane.get());
  };
  {
    std::lock_guard<std::mutex> guard{mx_};
    if (!open_ || want_back_)
      return false;
    st->epoch = epoch_;
    st->observer = observer_;
    st->call_id = c.id;
    st->tool = c.tool;
    st->accepted_at = clock_type::now();
    st->answer = std::move(answer);
    ++figures_.requests;
    if (!idle_.empty()) {
      key = idle_.back();  // the most recently idle: its process is the warmest
      idle_.pop_back();
      auto& w = lent_.at(key);
      w.held = 1;
      port = w.port;
      st->slot = w.slot;
      st->dispatched_at = st->accepted_at;
      st->port = port;
    } else if (queue_.size() >= limits_.max_queue) {
      placed = full;
      waiting = queue_.size();
      ++figures_.errors;
    } else {
      placed = queued;
      st->queued = true;
      // Scheduled under the lock: a worker that takes the call from the
      // queue (under the lock too) finds the timer's id.
      st->timer = timer_.schedule(c.deadline, on_deadline);
      auto bytes = limits_.max_batch > 1 ? estimate_bytes(c) : 0;
      queue_.push_back({std::move(c), st, bytes});
    }
  }
  if (placed == full) {
    snakepit::error why{errc::queue_full,
                        fmt::format("the pool's queue is full ({} calls waiting)", waiting)};
    st->report(pool_event_kind::call_failed, &why);
    st->answer(call_outcome::failed(std::move(why)));
    return true;
  }
  if (placed == queued) {
    st->report(pool_event_kind::call_queued);
    return true;
  }
  // Scheduled before the call goes out, so its outcome finds the timer's id.
  st->timer = timer_.schedule(c.deadline, on_deadline);
  batch one;
  one.key = key;
  one.port = std::move(port);
  one.calls.push_back({std::move(c), st, 0});
  send_batch(std::move(one));
  return true;
}

void fast_lane::expire(const std::shared_ptr<lane_call>& st, fast_lane* lane) {
  if (!st->claim())
    return;
  // The deadline covers queue and run time: a queued call leaves the
  // queue, a dispatched one is cancelled on its worker.
  bool was_queued = false;
  std::shared_ptr<call_port> port;
  if (lane) {
    std::lock_guard<std::mutex> guard{lane->mx_};
    auto& queue = lane->queue_;
    if (st->queued) {
      st->queued = false;
      was_queued = true;
      auto it = std::find_if(queue.begin(), queue.end(),
                             [&](const queued_call& e) { return e.st == st; });
      if (it != queue.end())
        queue.erase(it);
    } else {
      port = st->port.lock();
    }
    if (st->epoch == lane->epoch_) {
      ++lane->figures_.errors;
      lane->figures_.queue_timeouts += was_queued;
    }
  }
  auto waited = millis(clock_type::now() - st->accepted_at);
  snakepit::error why =
    was_queued
      ? snakepit::error{errc::timeout,
                        fmt::format("call {} ('{}') waited {} ms in the queue and reached its "
                                    "deadline",
                                    st->call_id, st->tool, waited)}
      : snakepit::error{errc::timeout,
                        fmt::format("call {} ('{}') reached its deadline after {} ms on worker "
                                    "{}; cancelled",
                                    st->call_id, st->tool, waited, st->slot)};
  st->report(was_queued ? pool_event_kind::queue_timeout : pool_event_kind::call_failed, &why);
  st->answer(call_outcome::failed(std::move(why)));
  // Dispatched: the worker stays busy with it until Python answers (it
  // always does).
  if (port)
    port->cancel(st->call_id);
}

fast_lane::settle_fn fast_lane::settler(std::shared_ptr<lane_call> st, worker_key key) {
  std::weak_ptr<fast_lane> weak = weak_from_this();
  return [weak, st = std::move(st), key](call_outcome out, call_end how) {
    const bool claimed = st->claim();
    if (auto lane = weak.lock()) {
      // The worker is free again (or has its next batch) before its caller
      // hears: a lock-step caller's next call finds it idle. The answer is
      // counted under the same lock.
      lane->finished(key, st->epoch, how, claimed ? std::optional<bool>{out.value.has_value()}
                                                  : std::nullopt);
      if (!claimed)
        return;
      lane->timer_.cancel(st->timer);
    } else if (!claimed) {
      return;
    }
    st->report(out);
    st->answer(std::move(out));
  };
}

void fast_lane::take_batch_locked(worker_key key, lent_worker& w, batch& out) {
  out.key = key;
  out.port = w.port;
  auto now = clock_type::now();
  auto limit = w.held >= limits_.max_in_flight
                 ? std::size_t{0}
                 : std::min(limits_.max_batch, limits_.max_in_flight - w.held);
  while (!queue_.empty() && out.calls.size() < limit) {
    auto& next = queue_.front();
    if (!out.calls.empty() && out.bytes + next.bytes > limits_.max_batch_bytes)
      break;  // FIFO: no smaller call overtakes the one that does not fit
    out.bytes += next.bytes;
    auto& st = *next.st;
    st.queued = false;
    st.slot = w.slot;
    st.dispatched_at = now;
    st.port = w.port;
    out.calls.push_back(std::move(next));
    queue_.pop_front();
  }
  w.held += out.calls.size();
  if (out.calls.size() > 1) {
    ++figures_.batches;
    figures_.batched_calls += out.calls.size();
  }
}

void fast_lane::send_batch(batch b) {
  if (b.calls.empty())
    return;
  auto& first = *b.calls.front().st;
  if (first.observer) {
    for (auto& q : b.calls)
      q.st->report(pool_event_kind::call_dispatched);
    if (b.calls.size() > 1) {
      pool_event ev;
      ev.kind = pool_event_kind::batch_dispatched;
      ev.worker_id = first.slot;
      ev.detail = fmt::format("calls={} bytes~{} held=0", b.calls.size(), b.bytes);
      (*first.observer)(ev);
    }
  }
  std::vector<call_port::submission> subs;
  subs.reserve(b.calls.size());
  std::weak_ptr<call_port> weak_port = b.port;
  for (auto& q : b.calls)
    subs.push_back({std::move(q.c), [settle = settler(q.st, b.key), weak_port](call_outcome out) {
                      auto p = weak_port.lock();
                      settle(std::move(out), !p || p->is_closed() ? call_end::port_closed
                                                                   : call_end::answered);
                    }});
  auto refused = b.port->submit(std::move(subs));
  // A refused call never went out: its settler (made again, off the hot
  // path) frees the worker's place and answers.
  for (std::size_t i = 0; i < refused.size(); ++i)
    if (refused[i]) {
      auto how =
        refused[i]->code() == errc::worker_crashed ? call_end::refused_broken : call_end::refused;
      settler(b.calls[i].st, b.key)(call_outcome::failed(std::move(*refused[i])), how);
    }
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

void fast_lane::finished(worker_key key, uint64_t epoch, call_end how,
                         std::optional<bool> answered_ok) {
  const bool broken = how == call_end::port_closed || how == call_end::refused_broken;
  give_back_fn back;
  batch b;
  {
    std::lock_guard<std::mutex> guard{mx_};
    if (epoch != epoch_)
      return;  // an older pool's call: nobody counts it
    if (answered_ok) {
      if (*answered_ok)
        ++figures_.completed;
      else
        ++figures_.errors;
    }
    auto it = lent_.find(key);
    if (it == lent_.end())
      return;  // revoked meanwhile (down, retired, closed)
    auto& w = it->second;
    if (how == call_end::answered) {
      // The slot's counter is looked up once per lending, not per call (map
      // nodes stay put; attach() clears lent_ and the figures together).
      if (!w.served)
        w.served = &figures_.slot_requests[w.slot];
      ++*w.served;
    }
    if (w.held == 0)
      return;
    if (--w.held > 0) {
      // Still holds others of its batch: with room for a whole batch more,
      // it takes one now, so the next waits inside the worker (pipelining).
      auto batch_room = std::min(limits_.max_batch, limits_.max_in_flight);
      if (!broken && !want_back_ && !queue_.empty() &&
          w.held + batch_room <= limits_.max_in_flight)
        take_batch_locked(key, w, b);
    } else if (broken) {
      // Its port is closed: the worker is going; the pool hears its down
      // message.
      lent_.erase(it);
    } else if (want_back_) {
      lent_.erase(it);
      back = give_back_;
    } else if (!queue_.empty()) {
      take_batch_locked(key, w, b);
    } else {
      idle_.push_back(key);
    }
  }
  if (back)
    back(key);
  send_batch(std::move(b));
}

} // namespace snakepit::detail
