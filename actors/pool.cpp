#include "actors/pool.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/response_promise.hpp>
#include <caf/sec.hpp>
#include <caf/system_messages.hpp>
#include <fmt/format.h>

#include "actors/call_port.hpp"
#include "actors/call_size.hpp"
#include "actors/fast_lane.hpp"
#include "actors/pool_error.hpp"
#include "actors/worker_protocol.hpp"
#include "supervision/exit_class.hpp"
#include "supervision/supervision_error.hpp"

namespace snakepit {

namespace {

// The pool's own timers (never sent by anyone else).
using deadline_tick_atom = caf::atom_constant<caf::atom("pool_tick")>;
using await_timeout_atom = caf::atom_constant<caf::atom("pool_await")>;
// A lent worker the fast lane gives back (sent from whichever thread it
// finished on).
using lane_return_atom = caf::atom_constant<caf::atom("pool_lane")>;

using clock_type = std::chrono::steady_clock;
using time_point = clock_type::time_point;

std::chrono::microseconds micros(clock_type::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d);
}

long long millis(clock_type::duration d) {
  return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

/// "worker-2" < "worker-10": runs of digits compare as numbers.
bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0;
  std::size_t j = 0;
  auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      auto i0 = i;
      auto j0 = j;
      while (i0 < a.size() && a[i0] == '0')
        ++i0;
      while (j0 < b.size() && b[j0] == '0')
        ++j0;
      auto i1 = i0;
      auto j1 = j0;
      while (i1 < a.size() && digit(a[i1]))
        ++i1;
      while (j1 < b.size() && digit(b[j1]))
        ++j1;
      if (i1 - i0 != j1 - j0)
        return i1 - i0 < j1 - j0;
      auto cmp = a.compare(i0, i1 - i0, b, j0, j1 - j0);
      if (cmp != 0)
        return cmp < 0;
      i = i1;
      j = j1;
      continue;
    }
    if (a[i] != b[j])
      return a[i] < b[j];
    ++i;
    ++j;
  }
  if (a.size() - i != b.size() - j)
    return a.size() - i < b.size() - j;
  return a < b;
}

/// A call whose caller may be answered off the pool's thread: by whichever
/// comes first, the thread that reads its outcome from the worker's port, or
/// the pool (deadline, cancel, crash, shutdown). The flag decides.
struct direct_answer {
  std::atomic<bool> settled{false};
  std::function<void(detail::call_outcome)> reply;  // the caller's, thread-safe
  // For the call's event when the port's thread answers.
  std::shared_ptr<const pool_observer> observer;    // null: nobody listens
  uint64_t call_id = 0;
  std::string slot;
  time_point accepted_at;
  time_point dispatched_at;

  /// Claims the answer; false when someone else has it.
  bool claim() { return !settled.exchange(true, std::memory_order_acq_rel); }
};

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

/// pool_call::affinity is a plain affinity_mode today; should it become
/// optional, an unset one takes the pool's default.
template <class A>
affinity_mode resolve_affinity(const A& a, affinity_mode fallback) {
  if constexpr (is_optional<A>::value) {
    return a.value_or(fallback);
  } else {
    (void) fallback;
    return a;
  }
}

class pool_actor : public caf::event_based_actor {
public:
  pool_actor(caf::actor_config& cfg, pool_options opts)
    : caf::event_based_actor(cfg), opts_(std::move(opts)) {
    if (opts_.observer)
      observer_ = std::make_shared<const pool_observer>(opts_.observer);
  }

  caf::behavior make_behavior() override {
    if (opts_.lane) {
      caf::actor_addr me = address();  // weak: the lane outlives this pool
      opts_.lane->attach(
        [me](uint64_t key) {
          if (auto pool = caf::actor_cast<caf::actor>(me))
            caf::anon_send(pool, lane_return_atom::value, key);
        },
        observer_,
        {opts_.max_queue, opts_.max_batch, opts_.max_batch_bytes, opts_.max_in_flight_per_worker});
    }
    set_down_handler([this](caf::down_msg& dm) { on_down(dm); });
    set_exit_handler([this](caf::exit_msg& em) {
      // OTP: a `normal` exit signal is not a request to stop.
      if (em.reason && em.reason != caf::exit_reason::normal)
        begin_shutdown(std::move(em.reason));
    });
    return {
      [this](detail::worker_ready_atom, detail::worker_hello& hello) {
        on_hello(std::move(hello), nullptr);
      },
      [this](detail::worker_ready_atom, detail::worker_hello& hello, detail::port_handle& port) {
        on_hello(std::move(hello), std::move(port));
      },
      [this](detail::worker_failed_atom, std::string& id, snakepit::error& err) {
        on_worker_failed(id, std::move(err));
      },
      [this](detail::pool_execute_atom, detail::pool_call& pc) -> caf::response_promise {
        return accept(std::move(pc));
      },
      [this](detail::await_ready_atom, std::chrono::milliseconds timeout) -> caf::response_promise {
        return await_ready(timeout);
      },
      [this](detail::pool_stats_atom) { return stats(); },
      [this](detail::list_workers_atom) { return list_workers(); },
      // A session that ended keeps no affinity: the map would otherwise grow
      // with every session ever served.
      [this](detail::forget_session_atom, const std::string& session) { sessions_.erase(session); },
      [this](detail::cancel_call_atom, uint64_t call_id) { cancel(call_id); },
      [this](detail::call_settled_atom, uint64_t ticket, bool ok) { on_settled(ticket, ok); },
      [this](detail::call_outcome_atom, uint64_t ticket, detail::call_outcome& out) {
        on_outcome(ticket, std::move(out));
      },
      [this](lane_return_atom, uint64_t key) { on_lane_return(key); },
      [this](deadline_tick_atom, uint64_t generation) { on_deadline_tick(generation); },
      [this](await_timeout_atom, uint64_t id) { on_await_timeout(id); },
    };
  }

  void on_exit() override {
    if (opts_.lane)
      opts_.lane->close();
    // Killed (e.g. after the shutdown timeout) or quitting: nobody may be left
    // waiting for an answer that will never come.
    for (auto& [ticket, p] : calls_)
      if (!p.answered)
        answer(p, detail::call_outcome::failed(shutting_down_error()));
    calls_.clear();
    for (auto& [id, a] : awaiters_)
      a.rp.deliver(to_caf_error(shutting_down_error()));
    awaiters_.clear();
    // Drop every handle: workers hold the pool's handle too, and a cycle of
    // handles would keep both actors' memory alive after they end.
    queue_.clear();
    deadlines_.clear();
    workers_.clear();
    idle_.clear();
  }

private:
  // --- state ------------------------------------------------------------------

  /// A call the pool has taken and not yet let go: queued, in flight, or
  /// answered (timed out) while its worker still runs it.
  struct pending_call {
    uint64_t ticket = 0;     // the pool's own key (call ids come from outside)
    uint64_t call_id = 0;
    std::string tool;
    std::string session;
    affinity_mode affinity = affinity_mode::hint;
    time_point deadline;
    time_point accepted_at;
    time_point dispatched_at;
    caf::response_promise rp;
    std::function<void(detail::call_outcome)> reply;  // instead of rp, when set
    std::shared_ptr<direct_answer> direct;  // replaces `reply` once sent through a port
    std::optional<detail::call> body;                    // until dispatched
    std::optional<std::list<uint64_t>::iterator> queued; // position in queue_
    caf::actor_id worker = 0;                            // set once dispatched
    std::string slot;                                    // the worker's slot
    std::size_t bytes = 0;  // rough size, set only while queued (batch byte bound)
    bool answered = false;
  };

  /// A registered worker actor (the current one of its slot, or a retired one
  /// still finishing its calls after its slot said hello with a new actor).
  struct worker_entry {
    std::string slot;
    caf::actor handle;
    std::vector<uint64_t> tickets;  // the calls it holds, answered or not; busy if any
    std::shared_ptr<detail::call_port> port;  // null: execute requests instead
    bool broken = false;  // its port refused a call as broken: no more calls until it is down
    bool lent = false;    // in the fast lane: the pool dispatches nothing to it

    bool busy() const { return broken || lent || !tickets.empty(); }
  };

  struct slot_record {
    caf::actor_id current = 0;  // 0: no worker of this slot registered now
    bool seen = false;          // said hello at least once
    int os_pid = 0;
    int restarts = 0;
    uint64_t requests = 0;      // outcomes received from this slot's workers
    std::optional<snakepit::error> startup_error;  // cleared by the next hello
    uint64_t startup_error_seq = 0;
  };

  pool_options opts_;
  std::shared_ptr<const pool_observer> observer_;  // opts_.observer, shared with port threads
  std::map<uint64_t, pending_call> calls_;
  std::list<uint64_t> queue_;                                // tickets, oldest first
  std::set<std::pair<time_point, uint64_t>> deadlines_;      // unanswered tickets
  std::map<caf::actor_id, worker_entry> workers_;
  std::map<std::string, slot_record> slots_;
  std::deque<caf::actor_id> idle_;                           // longest idle first
  std::map<std::string, std::string> sessions_;              // session id -> slot id
  struct awaiter {
    caf::response_promise rp;
    std::chrono::milliseconds timeout;
  };
  std::map<uint64_t, awaiter> awaiters_;
  pool_stats stats_;
  uint64_t next_ticket_ = 1;
  uint64_t next_awaiter_ = 1;
  uint64_t next_error_seq_ = 1;
  uint64_t timer_generation_ = 0;
  std::optional<time_point> timer_at_;
  bool stopping_ = false;
  caf::error stop_reason_;
  bool lane_wants_back_ = false;  // last want_back told to the lane

  // --- helpers ----------------------------------------------------------------

  time_point now() {
    return clock().now();
  }

  bool observed() const {
    return observer_ != nullptr;
  }

  void emit(const pool_event& ev) {
    if (observer_)
      (*observer_)(ev);
  }

  static snakepit::error shutting_down_error() {
    return snakepit::error{errc::shutting_down, "the pool is shutting down"};
  }

  bool is_current(caf::actor_id wid, const worker_entry& w) const {
    auto it = slots_.find(w.slot);
    return it != slots_.end() && it->second.current == wid;
  }

  std::size_t ready_count() const {
    std::size_t n = 0;
    for (auto& [id, s] : slots_)
      n += s.current != 0;
    return n;
  }

  /// Answers a call once; later answers are ignored. Counts and reports it.
  void answer(pending_call& p, detail::call_outcome out,
              pool_event_kind error_kind = pool_event_kind::call_failed) {
    if (p.answered)
      return;
    p.answered = true;
    deadlines_.erase({p.deadline, p.ticket});
    if (p.direct && !p.direct->claim())
      return; // the port's thread answered first; its call_settled counts it
    auto t = now();
    pool_event ev;
    ev.call_id = p.call_id;
    ev.worker_id = p.slot;
    if (p.worker != 0) {
      ev.queue_time = micros(p.dispatched_at - p.accepted_at);
      ev.run_time = micros(t - p.dispatched_at);
    } else {
      ev.queue_time = micros(t - p.accepted_at);
    }
    if (out.value) {
      ++stats_.completed;
      ev.kind = pool_event_kind::call_done;
    } else {
      ++stats_.errors;
      ev.kind = error_kind;
      ev.error = out.error;
      if (error_kind == pool_event_kind::queue_timeout)
        ++stats_.queue_timeouts;
    }
    // Report first: whoever gets the answer may look at the events at once.
    emit(ev);
    if (p.direct)
      p.direct->reply(std::move(out));
    else if (p.reply)
      p.reply(std::move(out));
    else
      p.rp.deliver(std::move(out));
  }

  void fail(pending_call& p, errc code, std::string message,
            pool_event_kind kind = pool_event_kind::call_failed) {
    answer(p, detail::call_outcome::failed(snakepit::error{code, std::move(message)}), kind);
  }

  // --- calls ------------------------------------------------------------------

  /// The caller gave up on a call (e.g. a stream consumer that stopped early).
  /// Queued: answered `cancelled` at once. In flight: the worker is told and
  /// answers it (cancelled, or its result if it was faster).
  void cancel(uint64_t call_id) {
    for (auto it = calls_.begin(); it != calls_.end(); ++it) {
      auto& p = it->second;
      if (p.call_id != call_id || p.answered)
        continue;
      if (p.queued) {
        queue_.erase(*p.queued);
        p.queued.reset();
        sync_lane();
        fail(p, errc::cancelled, fmt::format("call {} cancelled by its caller", call_id));
        calls_.erase(it);
      } else if (auto w = workers_.find(p.worker); w != workers_.end()) {
        cancel_on(w->second, call_id);
      }
      return;
    }
  }

  caf::response_promise accept(detail::pool_call pc) {
    auto rp = make_response_promise();
    ++stats_.requests;
    pending_call p;
    p.ticket = next_ticket_++;
    p.call_id = pc.c.id;
    p.tool = pc.c.tool;
    p.session = pc.c.session_id;
    p.affinity = resolve_affinity(pc.affinity, opts_.default_affinity);
    p.deadline = pc.c.deadline;
    p.accepted_at = now();
    p.rp = rp;
    p.reply = std::move(pc.reply);
    p.body = std::move(pc.c);
    if (stopping_) {
      answer(p, detail::call_outcome::failed(shutting_down_error()));
      return rp;
    }
    if (p.deadline <= p.accepted_at) {
      // Counted as a queue timeout: it never reached a worker.
      fail(p, errc::timeout,
           fmt::format("call {} ('{}') arrived after its deadline", p.call_id, p.tool),
           pool_event_kind::queue_timeout);
      return rp;
    }
    recall_lent();
    // Where may it go?
    std::optional<caf::actor_id> target;
    bool must_queue = false;
    if (auto pinned = pinned_slot(p); pinned) {
      auto& s = slots_[*pinned];
      auto w = s.current != 0 ? workers_.find(s.current) : workers_.end();
      bool idle = w != workers_.end() && !w->second.busy();
      if (idle) {
        target = s.current;
      } else {
        switch (p.affinity) {
          case affinity_mode::hint:
            break; // any idle worker will do
          case affinity_mode::strict_queue:
            // Decision: a session whose worker is gone (down, not back yet)
            // waits in the queue for its slot's next worker, like a busy one;
            // the deadline bounds the wait.
            must_queue = true;
            break;
          case affinity_mode::strict_fail_fast:
            // Decision: a session whose worker is gone fails like a busy one
            // (worker_busy), the message says which.
            fail(p, errc::worker_busy,
                 s.current != 0
                   ? fmt::format("session '{}': its worker {} is busy", p.session, *pinned)
                   : fmt::format("session '{}': its worker {} is not available (restarting)",
                                 p.session, *pinned));
            return rp;
        }
      }
    }
    if (!target && !must_queue && !idle_.empty())
      target = idle_.front();
    auto ticket = p.ticket;
    if (target) {
      auto& stored = calls_.emplace(ticket, std::move(p)).first->second;
      deadlines_.emplace(stored.deadline, ticket);
      arm_deadline_timer();
      dispatch(stored, *target);
      relend_idle();
      return rp;
    }
    if (queue_.size() >= opts_.max_queue) {
      fail(p, errc::queue_full,
           fmt::format("the pool's queue is full ({} calls waiting)", queue_.size()));
      return rp;
    }
    auto& stored = calls_.emplace(ticket, std::move(p)).first->second;
    if (opts_.max_batch > 1)
      stored.bytes = detail::estimate_bytes(*stored.body);
    stored.queued = queue_.insert(queue_.end(), ticket);
    sync_lane();
    deadlines_.emplace(stored.deadline, ticket);
    arm_deadline_timer();
    pool_event ev;
    ev.kind = pool_event_kind::call_queued;
    ev.call_id = stored.call_id;
    emit(ev);
    return rp;
  }

  /// The slot a strict or hinted session sticks to, if it has one.
  std::optional<std::string> pinned_slot(const pending_call& p) const {
    if (p.session.empty())
      return std::nullopt;
    auto it = sessions_.find(p.session);
    if (it == sessions_.end())
      return std::nullopt;
    return it->second;
  }

  /// Whether a worker of `slot` may take queued call `p`.
  bool may_serve(const pending_call& p, const std::string& slot) const {
    if (p.affinity == affinity_mode::hint)
      return true;
    auto pinned = pinned_slot(p);
    return !pinned || *pinned == slot;
  }

  /// Books `p` (no longer queued) on worker `wid` and returns its body.
  detail::call assign(pending_call& p, caf::actor_id wid, worker_entry& w) {
    std::erase(idle_, wid);
    p.worker = wid;
    p.slot = w.slot;
    p.dispatched_at = now();
    w.tickets.push_back(p.ticket);
    if (!p.session.empty())
      sessions_[p.session] = w.slot;
    if (observed()) {
      pool_event ev;
      ev.kind = pool_event_kind::call_dispatched;
      ev.worker_id = w.slot;
      ev.call_id = p.call_id;
      ev.queue_time = micros(p.dispatched_at - p.accepted_at);
      emit(ev);
    }
    auto body = std::move(*p.body);
    p.body.reset();
    return body;
  }

  void dispatch(pending_call& p, caf::actor_id wid) {
    auto& w = workers_.at(wid);
    std::vector<uint64_t> tickets{p.ticket};
    std::vector<detail::call> bodies;
    bodies.push_back(assign(p, wid, w));
    send_calls(wid, std::move(tickets), std::move(bodies));
  }

  /// What a port's thread does with the outcome of a call the pool put into
  /// the port: answer the caller itself when it may (a `reply` function and
  /// nobody answered first), reporting the call's event first, and tell the
  /// pool; else hand the outcome to the pool.
  detail::call_port::outcome_fn port_answer(std::shared_ptr<direct_answer> d, uint64_t ticket) {
    return [d = std::move(d), me = caf::actor_cast<caf::actor>(this),
            ticket](detail::call_outcome out) {
      if (d && d->claim()) {
        bool ok = out.value.has_value();
        if (d->observer) {
          pool_event ev;
          ev.kind = ok ? pool_event_kind::call_done : pool_event_kind::call_failed;
          ev.worker_id = d->slot;
          ev.call_id = d->call_id;
          ev.queue_time = micros(d->dispatched_at - d->accepted_at);
          ev.run_time = micros(clock_type::now() - d->dispatched_at);
          if (!ok)
            ev.error = out.error;
          (*d->observer)(ev);
        }
        // The pool hears first, so whoever got the answer and asks for the
        // pool's stats next finds this call counted.
        caf::anon_send(me, detail::call_settled_atom::value, ticket, ok);
        d->reply(std::move(out));
        return;
      }
      caf::anon_send(me, detail::call_outcome_atom::value, ticket, std::move(out));
    };
  }

  /// Sends calls booked on worker `wid` (by assign), in order: through its
  /// port in one go when it has one, else as execute requests.
  void send_calls(caf::actor_id wid, std::vector<uint64_t> tickets,
                  std::vector<detail::call> bodies) {
    auto& w = workers_.at(wid);
    if (!w.port) {
      for (std::size_t i = 0; i < tickets.size(); ++i) {
        auto ticket = tickets[i];
        // No request timeout: a timed-out response handler would drop the
        // worker's late outcome, and the pool needs that outcome to know when the
        // worker is free again. The deadline is the pool's own timer
        // (on_deadline_tick), which answers the caller and cancels the call.
        request(w.handle, caf::infinite, detail::execute_atom::value, std::move(bodies[i]))
          .then([this, ticket](detail::call_outcome& out) { on_outcome(ticket, std::move(out)); },
                [this, ticket](caf::error& err) { on_request_error(ticket, err); });
      }
      return;
    }
    std::vector<detail::call_port::submission> subs;
    subs.reserve(tickets.size());
    for (std::size_t i = 0; i < tickets.size(); ++i) {
      auto& p = calls_.at(tickets[i]);
      std::shared_ptr<direct_answer> d;
      if (p.reply) {
        d = std::make_shared<direct_answer>();
        d->reply = std::move(p.reply);
        d->observer = observer_;
        d->call_id = p.call_id;
        if (observer_)
          d->slot = p.slot;
        d->accepted_at = p.accepted_at;
        d->dispatched_at = p.dispatched_at;
        p.direct = d;
      }
      subs.push_back({std::move(bodies[i]), port_answer(std::move(d), tickets[i])});
    }
    auto port = w.port;  // `w` may go while failures are handled
    auto errors = port->submit(std::move(subs));
    bool failed = false;
    for (std::size_t i = 0; i < tickets.size(); ++i) {
      if (!errors[i])
        continue;
      failed = true;
      auto it = calls_.find(tickets[i]);
      if (it == calls_.end())
        continue;
      bool broken = errors[i]->code() == errc::worker_crashed;
      answer(it->second, detail::call_outcome::failed(std::move(*errors[i])));
      calls_.erase(it);
      if (broken) {
        // Its connection is broken: no more calls until its down message.
        if (auto wi = workers_.find(wid); wi != workers_.end()) {
          wi->second.broken = true;
          std::erase(wi->second.tickets, tickets[i]);
        }
      } else {
        release(wid, tickets[i]);
      }
    }
    if (failed)
      maybe_finish_shutdown();
  }

  /// The port's thread answered the caller of `ticket` (ok: with a value).
  void on_settled(uint64_t ticket, bool ok) {
    auto it = calls_.find(ticket);
    if (it == calls_.end())
      return; // settled already (its worker's down message came first)
    auto& p = it->second;
    auto wid = p.worker;
    if (!p.answered) {
      p.answered = true;
      deadlines_.erase({p.deadline, p.ticket});
    }
    if (ok)
      ++stats_.completed;
    else
      ++stats_.errors;
    if (auto s = slots_.find(p.slot); s != slots_.end())
      ++s->second.requests;
    calls_.erase(it);
    release(wid, ticket);
    maybe_finish_shutdown();
  }

  void on_outcome(uint64_t ticket, detail::call_outcome out) {
    auto it = calls_.find(ticket);
    if (it == calls_.end())
      return; // settled already (its worker's down message came first)
    auto& p = it->second;
    auto wid = p.worker;
    if (auto s = slots_.find(p.slot); s != slots_.end())
      ++s->second.requests;
    answer(p, std::move(out));
    calls_.erase(it);
    release(wid, ticket);
    maybe_finish_shutdown();
  }

  void on_request_error(uint64_t ticket, caf::error& err) {
    auto it = calls_.find(ticket);
    if (it == calls_.end())
      return;
    auto& p = it->second;
    auto wid = p.worker;
    bool gone = err == caf::sec::request_receiver_down;
    if (gone)
      fail(p, errc::worker_crashed, fmt::format("worker {} is gone", p.slot));
    else
      fail(p, errc::internal, fmt::format("worker {} failed the execute request: {}", p.slot,
                                          supervision::describe(err)));
    calls_.erase(it);
    // A worker that is gone stays marked busy until its down message removes
    // it, so no other call is sent its way meanwhile.
    if (!gone)
      release(wid, ticket);
    maybe_finish_shutdown();
  }

  /// The worker finished `ticket`. With none left it is free for the next
  /// call (or batch); still holding calls, it takes more queued ones once it
  /// has room for a whole batch below max_in_flight_per_worker (pipelining).
  void release(caf::actor_id wid, uint64_t ticket) {
    auto it = workers_.find(wid);
    if (it == workers_.end())
      return;
    auto& held = it->second.tickets;
    auto pos = std::find(held.begin(), held.end(), ticket);
    if (pos == held.end())
      return;
    held.erase(pos);
    if (it->second.broken)
      return; // waiting for its down message
    if (!is_current(wid, it->second)) {
      // Retired: its slot has a newer worker. It takes nothing more and is
      // forgotten once it has answered everything.
      if (held.empty()) {
        demonitor(it->second.handle);
        workers_.erase(it);
      }
      return;
    }
    if (held.empty())
      became_idle(wid);
    else if (!queue_.empty() && may_take_more(it->second))
      take_queued(wid);
  }

  /// How many calls one refill may hand a worker: a whole batch, never more
  /// than the worker's bound.
  std::size_t batch_room() const {
    return std::min(opts_.max_batch, opts_.max_in_flight_per_worker);
  }

  /// Whether a worker may take queued calls now: it holds none, or it has
  /// room for a whole batch below its in-flight bound.
  bool may_take_more(const worker_entry& w) const {
    return !w.broken && w.tickets.size() + batch_room() <= opts_.max_in_flight_per_worker;
  }

  /// The worker holds nothing: it takes the queued calls it may serve (see
  /// take_queued), or waits in idle_.
  void became_idle(caf::actor_id wid) {
    if (take_queued(wid) == 0 && !lend(wid))
      idle_.push_back(wid);
  }

  // --- the fast lane ----------------------------------------------------------

  /// Lends an idle worker to the lane when nothing waits for it here.
  bool lend(caf::actor_id wid) {
    auto& w = workers_.at(wid);
    if (!opts_.lane || stopping_ || !w.port || w.broken || !queue_.empty())
      return false;
    w.lent = true;
    opts_.lane->lend(wid, w.slot, w.port);
    return true;
  }

  /// A call came through the mailbox: the lane's idle workers serve here
  /// again (it may want one of them, or queue behind busy ones).
  void recall_lent() {
    if (!opts_.lane)
      return;
    for (auto wid : opts_.lane->recall_idle())
      if (auto it = workers_.find(wid); it != workers_.end() && it->second.lent) {
        it->second.lent = false;
        idle_.push_back(wid);
      }
  }

  /// Idle workers go (back) to the lane once nothing waits.
  void relend_idle() {
    if (!opts_.lane || !queue_.empty())
      return;
    for (auto it = idle_.begin(); it != idle_.end();)
      it = lend(*it) ? idle_.erase(it) : std::next(it);
  }

  /// Tells the lane whether the pool wants its workers back (calls wait).
  void sync_lane() {
    bool want = !queue_.empty();
    if (!opts_.lane || want == lane_wants_back_)
      return;
    lane_wants_back_ = want;
    opts_.lane->want_back(want);
  }

  /// Stops lending (a worker that goes or is replaced).
  void unlend(caf::actor_id wid, worker_entry& w) {
    if (!w.lent)
      return;
    w.lent = false;
    opts_.lane->revoke(wid);
  }

  void on_lane_return(uint64_t key) {
    auto it = workers_.find(key);
    // A worker that went down or was retired was unlent then: a lent one is
    // always its slot's current worker.
    if (it == workers_.end() || !it->second.lent)
      return;
    it->second.lent = false;
    if (!it->second.busy())
      became_idle(key);
    sync_lane();
  }

  /// Whether the worker runs anything now (through the pool or the lane).
  bool reported_busy(caf::actor_id wid, const worker_entry& w) const {
    if (w.lent)
      return opts_.lane->busy(wid);
    return w.busy();
  }

  /// Hands the worker the oldest queued calls it may serve — up to
  /// max_batch of them, the room left below max_in_flight_per_worker, and
  /// max_batch_bytes (estimated; the first call goes whatever its size), in
  /// FIFO order, each with its own outcome. Through a port they go out
  /// together (one frame); as execute requests they reach the worker back
  /// to back, so its channel packs them. Returns how many it took.
  std::size_t take_queued(caf::actor_id wid) {
    auto& w = workers_.at(wid);
    auto held = w.tickets.size();
    auto limit = held >= opts_.max_in_flight_per_worker
                   ? std::size_t{0}
                   : std::min(opts_.max_batch, opts_.max_in_flight_per_worker - held);
    std::size_t taken = 0;
    std::size_t bytes = 0;
    std::vector<uint64_t> tickets;
    std::vector<detail::call> bodies;
    for (auto it = queue_.begin(); it != queue_.end() && taken < limit;) {
      auto& p = calls_.at(*it);
      if (!may_serve(p, w.slot)) {
        ++it;
        continue;
      }
      if (taken > 0 && bytes + p.bytes > opts_.max_batch_bytes)
        break; // FIFO: no smaller call overtakes the one that does not fit
      bytes += p.bytes;
      it = queue_.erase(it);
      p.queued.reset();
      tickets.push_back(p.ticket);
      bodies.push_back(assign(p, wid, w));
      ++taken;
    }
    if (taken == 0)
      return 0;
    sync_lane();
    if (taken > 1) {
      ++stats_.batches;
      stats_.batched_calls += taken;
      pool_event ev;
      ev.kind = pool_event_kind::batch_dispatched;
      ev.worker_id = w.slot;
      ev.detail = fmt::format("calls={} bytes~{} held={}", taken, bytes, held);
      emit(ev);
    }
    send_calls(wid, std::move(tickets), std::move(bodies));
    return taken;
  }

  // --- deadlines --------------------------------------------------------------
  // One timer for all calls, set for the earliest unanswered deadline (a
  // timer per call would be one clock entry and one message per call on the
  // hot path). Timers carry a generation; a superseded one is ignored.

  void arm_deadline_timer() {
    if (deadlines_.empty())
      return;
    auto first = deadlines_.begin()->first;
    if (timer_at_ && *timer_at_ <= first)
      return; // the pending timer fires first; it re-arms
    timer_at_ = first;
    auto generation = ++timer_generation_;
    auto t = now();
    if (first <= t)
      send(this, deadline_tick_atom::value, generation);
    else
      delayed_send(this, first - t, deadline_tick_atom::value, generation);
  }

  void on_deadline_tick(uint64_t generation) {
    if (generation != timer_generation_)
      return;
    timer_at_.reset();
    auto t = now();
    while (!deadlines_.empty() && deadlines_.begin()->first <= t)
      expire(deadlines_.begin()->second);
    arm_deadline_timer();
    maybe_finish_shutdown();
  }

  void expire(uint64_t ticket) {
    auto it = calls_.find(ticket);
    if (it == calls_.end()) {
      // Cannot happen (answer() removes the deadline); never loop on it.
      deadlines_.erase(deadlines_.begin());
      return;
    }
    auto& p = it->second;
    auto waited = millis(now() - p.accepted_at);
    if (p.queued) {
      queue_.erase(*p.queued);
      p.queued.reset();
      sync_lane();
      fail(p, errc::timeout,
           fmt::format("call {} ('{}') waited {} ms in the queue and reached its deadline",
                       p.call_id, p.tool, waited),
           pool_event_kind::queue_timeout);
      calls_.erase(it);
      return;
    }
    // In flight: the caller hears now; the worker stays busy with it until its
    // outcome comes (it always answers) or it dies.
    fail(p, errc::timeout,
         fmt::format("call {} ('{}') reached its deadline after {} ms on worker {}; cancelled",
                     p.call_id, p.tool, waited, p.slot));
    if (auto w = workers_.find(p.worker); w != workers_.end())
      cancel_on(w->second, p.call_id);
  }

  void cancel_on(worker_entry& w, uint64_t call_id) {
    if (w.port)
      w.port->cancel(call_id);
    else
      send(w.handle, detail::cancel_call_atom::value, call_id);
  }

  // --- workers ----------------------------------------------------------------

  void on_hello(detail::worker_hello hello, detail::port_handle port) {
    if (!hello.worker)
      return; // nothing to monitor or call
    auto wid = hello.worker.id();
    auto& s = slots_[hello.worker_id];
    if (workers_.count(wid) != 0) {
      s.os_pid = hello.os_pid; // repeated hello: nothing else changes
      return;
    }
    if (s.current != 0)
      retire(s.current); // the new worker's hello overtook the old one's down message
    if (s.seen)
      ++s.restarts;
    s.seen = true;
    s.current = wid;
    s.os_pid = hello.os_pid;
    s.startup_error.reset();
    monitor(hello.worker);
    workers_.emplace(wid, worker_entry{hello.worker_id, hello.worker, {}, std::move(port), false});
    pool_event ev;
    ev.kind = pool_event_kind::worker_ready;
    ev.worker_id = hello.worker_id;
    if (s.restarts > 0)
      ev.detail = fmt::format("restart {}", s.restarts);
    emit(ev);
    became_idle(wid);
    if (ready_count() >= opts_.size) {
      for (auto& [id, a] : awaiters_)
        a.rp.deliver(caf::ok_atom::value);
      awaiters_.clear();
    }
  }

  /// The slot got a new worker while the old one is still registered.
  void retire(caf::actor_id old) {
    std::erase(idle_, old);
    auto it = workers_.find(old);
    if (it == workers_.end())
      return;
    unlend(old, it->second);
    if (!it->second.busy()) {
      demonitor(it->second.handle);
      workers_.erase(it);
    }
    // else: it finishes (or fails) its calls first; release() forgets it.
  }

  void on_down(caf::down_msg& dm) {
    auto wid = dm.source.id();
    auto it = workers_.find(wid);
    if (it == workers_.end())
      return;
    unlend(wid, it->second);
    auto w = std::move(it->second);
    workers_.erase(it);
    std::erase(idle_, wid);
    if (auto s = slots_.find(w.slot); s != slots_.end() && s->second.current == wid)
      s->second.current = 0;
    // Decision: a clean exit (normal, shutdown) is a worker being stopped,
    // not a crash.
    if (!supervision::is_clean(supervision::classify(dm.reason)))
      ++stats_.worker_crashes;
    pool_event ev;
    ev.kind = pool_event_kind::worker_down;
    ev.worker_id = w.slot;
    ev.detail = supervision::describe(dm.reason);
    emit(ev);
    // Every call it still held fails, each on its own (calls a gone request
    // already failed, or answered by their deadline, are skipped or silent).
    for (auto ticket : w.tickets) {
      if (auto c = calls_.find(ticket); c != calls_.end()) {
        fail(c->second, errc::worker_crashed,
             fmt::format("worker {} died during call {}: {}", w.slot, c->second.call_id,
                         ev.detail));
        calls_.erase(c);
      }
    }
    maybe_finish_shutdown();
  }

  void on_worker_failed(const std::string& id, snakepit::error err) {
    auto& s = slots_[id];
    s.startup_error = err;
    s.startup_error_seq = next_error_seq_++;
    pool_event ev;
    ev.kind = pool_event_kind::worker_failed;
    ev.worker_id = id;
    ev.error = err;
    emit(ev);
    if (ready_count() < opts_.size) {
      auto e = startup_failed_error(id, err);
      for (auto& [key, a] : awaiters_)
        a.rp.deliver(to_caf_error(e));
      awaiters_.clear();
    }
  }

  static snakepit::error startup_failed_error(const std::string& id, const snakepit::error& err) {
    return snakepit::error{errc::startup_failed, fmt::format("{}: {}", id, err.message()),
                           err.python_type(), err.traceback()};
  }

  // --- await_ready ------------------------------------------------------------

  caf::response_promise await_ready(std::chrono::milliseconds timeout) {
    auto rp = make_response_promise();
    if (stopping_) {
      rp.deliver(to_caf_error(shutting_down_error()));
      return rp;
    }
    if (ready_count() >= opts_.size) {
      rp.deliver(caf::ok_atom::value);
      return rp;
    }
    // Decision: a startup failure reported before this request (and not yet
    // followed by a hello of the same slot) fails it at once, so a caller
    // that asks late still hears why.
    const slot_record* failed = nullptr;
    std::string failed_id;
    for (auto& [id, s] : slots_) {
      if (s.startup_error && (!failed || s.startup_error_seq > failed->startup_error_seq)) {
        failed = &s;
        failed_id = id;
      }
    }
    if (failed) {
      rp.deliver(to_caf_error(startup_failed_error(failed_id, *failed->startup_error)));
      return rp;
    }
    if (timeout <= std::chrono::milliseconds::zero()) {
      rp.deliver(to_caf_error(not_ready_error(timeout)));
      return rp;
    }
    auto id = next_awaiter_++;
    awaiters_.emplace(id, awaiter{rp, timeout});
    delayed_send(this, timeout, await_timeout_atom::value, id);
    return rp;
  }

  snakepit::error not_ready_error(std::chrono::milliseconds waited) const {
    return snakepit::error{errc::not_ready,
                           fmt::format("{} of {} workers ready after {} ms", ready_count(),
                                       opts_.size, static_cast<long long>(waited.count()))};
  }

  void on_await_timeout(uint64_t id) {
    auto it = awaiters_.find(id);
    if (it == awaiters_.end())
      return; // answered already
    auto a = std::move(it->second);
    awaiters_.erase(it);
    a.rp.deliver(to_caf_error(not_ready_error(a.timeout)));
  }

  // --- figures ----------------------------------------------------------------

  pool_stats stats() const {
    auto s = stats_;
    s.queued = queue_.size();
    if (opts_.lane) {
      auto lane = opts_.lane->counts();
      s.queued += lane.queued;
      s.requests += lane.requests;
      s.completed += lane.completed;
      s.errors += lane.errors;
      s.queue_timeouts += lane.queue_timeouts;
      s.batches += lane.batches;
      s.batched_calls += lane.batched_calls;
    }
    s.workers = 0;
    s.busy = 0;
    for (auto& [id, slot] : slots_) {
      if (slot.current == 0)
        continue;
      ++s.workers;
      if (auto w = workers_.find(slot.current);
          w != workers_.end() && reported_busy(slot.current, w->second))
        ++s.busy;
    }
    s.available = s.workers - s.busy;
    return s;
  }

  std::vector<worker_info> list_workers() const {
    std::vector<worker_info> out;
    out.reserve(slots_.size());
    std::map<std::string, uint64_t> lane_requests;
    if (opts_.lane)
      lane_requests = opts_.lane->counts().slot_requests;
    for (auto& [id, slot] : slots_) {
      worker_info info;
      info.id = id;
      info.os_pid = slot.os_pid;
      info.restarts = slot.restarts;
      info.requests = slot.requests;
      if (auto l = lane_requests.find(id); l != lane_requests.end())
        info.requests += l->second;
      info.state = worker_state::starting; // slot without a worker: (re)starting
      if (slot.current != 0) {
        auto w = workers_.find(slot.current);
        info.state = w != workers_.end() && reported_busy(slot.current, w->second)
                       ? worker_state::busy
                       : worker_state::ready;
      }
      out.push_back(std::move(info));
    }
    std::sort(out.begin(), out.end(),
              [](const worker_info& a, const worker_info& b) { return natural_less(a.id, b.id); });
    return out;
  }

  // --- shutdown ---------------------------------------------------------------

  void begin_shutdown(caf::error reason) {
    if (stopping_)
      return;
    stopping_ = true;
    stop_reason_ = std::move(reason);
    if (opts_.lane) {
      // Lane calls in flight finish through their ports; no new ones start.
      opts_.lane->close();
      for (auto& [wid, w] : workers_)
        w.lent = false;
    }
    for (auto ticket : queue_) {
      auto it = calls_.find(ticket);
      it->second.queued.reset();
      answer(it->second, detail::call_outcome::failed(shutting_down_error()));
      calls_.erase(it);
    }
    queue_.clear();
    for (auto& [id, a] : awaiters_)
      a.rp.deliver(to_caf_error(shutting_down_error()));
    awaiters_.clear();
    maybe_finish_shutdown();
  }

  /// Stopping and every call answered (a call answered by its deadline may
  /// still run on its worker; nobody waits for it): quit.
  void maybe_finish_shutdown() {
    if (!stopping_)
      return;
    for (auto& [ticket, p] : calls_)
      if (!p.answered)
        return;
    quit(stop_reason_);
  }
};

} // namespace

caf::expected<caf::actor> spawn_pool(caf::actor_system& sys, pool_options options) {
  if (options.size == 0)
    return to_caf_error(snakepit::error{errc::invalid_argument, "pool size must be > 0"});
  if (options.max_queue == 0)
    return to_caf_error(snakepit::error{errc::invalid_argument, "pool max_queue must be > 0"});
  if (options.max_batch == 0)
    return to_caf_error(snakepit::error{errc::invalid_argument, "pool max_batch must be > 0"});
  if (options.max_batch_bytes == 0)
    return to_caf_error(
      snakepit::error{errc::invalid_argument, "pool max_batch_bytes must be > 0"});
  if (options.max_in_flight_per_worker == 0)
    return to_caf_error(
      snakepit::error{errc::invalid_argument, "pool max_in_flight_per_worker must be > 0"});
  return sys.spawn<pool_actor>(std::move(options));
}

} // namespace snakepit
