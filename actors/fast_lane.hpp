#pragma once
// The fast lane: idle workers the pool lends to callers, so that a call
// that finds a worker free costs no actor hop at all (DESIGN rule 7, the
// "cheap crossing").
//
// Measured on 2 cores (snakepit-bench --only latency): every thread handoff
// on a lock-step call costs tens of microseconds here, and the pool's path
// has three (caller → pool actor, reader thread → caller, reader thread →
// pool "settled"). Through the lane the caller's own thread puts the call
// into the worker's port, and the thread that reads the outcome puts the
// worker back and answers the caller: one handoff, the one gRPC imposes.
//
// The pool stays the owner of every worker and of every rule that involves
// sessions or streams. It lends a worker when the worker has nothing to do
// and nothing waits in the pool's queue; a lent worker is "busy" to the
// pool's dispatcher. A call the lane takes finds an idle lent worker, or
// waits in the lane's own FIFO queue (bounded by max_queue: queue_full
// beyond): a lent worker that finishes everything it holds takes the
// oldest queued calls in one batch (max_batch, max_batch_bytes; the first
// goes whatever its size), on the thread that read its last outcome. Calls
// the lane does not take (a session or a stream, the lane closed) go to the
// pool as before. When calls wait in the pool's queue, the pool recalls the
// idle lent workers and asks for the busy ones back: each goes back to the
// pool (a message) when it finishes, and new calls go to the pool's queue
// meanwhile. Calls already in the lane's queue then wait until a worker is
// lent again (the two queues are each FIFO; between them, order is not
// kept). Pipelining follows the pool's rule
// (max_in_flight_per_worker).
//
// Every call through the lane keeps the pool's guarantees: exactly one
// answer (outcome, deadline, crash or shutdown, whichever comes first; an
// atomic flag decides), a deadline that covers the whole call (one timer
// thread for all of them, see transport/deadline_timer), a cancel to the
// worker when the deadline passes (the worker stays busy until Python
// answers), and worker_crashed when the worker dies (its port fails what it
// holds). The pool's counters and events include lane calls.
//
// Threading: every member may be called from any thread; the lock is never
// held while calling out (port, answer, observer, give-back).

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "actors/pool_event.hpp"
#include "actors/worker_protocol.hpp"
#include "transport/deadline_timer.hpp"

namespace snakepit::detail {

class fast_lane : public std::enable_shared_from_this<fast_lane> {
public:
  using worker_key = uint64_t;  // the pool's id of a worker (its actor id)
  using answer_fn = std::function<void(call_outcome)>;
  /// How a lent worker goes back to the pool (the pool's thread takes it).
  using give_back_fn = std::function<void(worker_key)>;

  fast_lane();
  ~fast_lane();
  fast_lane(const fast_lane&) = delete;
  fast_lane& operator=(const fast_lane&) = delete;

  // --- the pool's side ---------------------------------------------------------

  struct limits {
    std::size_t max_queue = 1000;
    std::size_t max_batch = 32;
    std::size_t max_batch_bytes = std::size_t{1} << 20;
    /// Pipelining, as in the pool: a worker that answers a call while it
    /// still holds others takes another batch if a whole one fits below
    /// this many held calls (<= max_batch: off).
    std::size_t max_in_flight = 32;
  };

  /// A (new) pool takes the lane over: every worker lent before is
  /// forgotten, the counters start at zero, calls may come again.
  /// `observer` (may be null) hears lane calls' events, like the pool's.
  void attach(give_back_fn give_back, std::shared_ptr<const pool_observer> observer,
              limits bounds);

  /// Lends an idle worker: it takes a batch of the lane's queued calls at
  /// once (on this thread), or waits for callers.
  void lend(worker_key key, std::string slot, std::shared_ptr<call_port> port);

  /// Takes back every lent worker that is idle now (they are no longer lent),
  /// most recently idle last.
  std::vector<worker_key> recall_idle();

  /// While set, a lent worker that finishes goes back to the pool instead of
  /// waiting in the lane, and the lane takes no calls.
  void want_back(bool on);

  /// Forgets a worker (down, or retired by a newer one of its slot). Calls it
  /// still holds finish through its port. True if it was lent.
  bool revoke(worker_key key);

  /// Takes no more calls, answers the queued ones shutting_down and forgets
  /// every worker (the pool is stopping).
  void close();

  struct figures {
    uint64_t requests = 0;
    uint64_t completed = 0;
    uint64_t errors = 0;
    uint64_t queue_timeouts = 0;
    uint64_t batches = 0;        // times a worker took several queued calls at once
    uint64_t batched_calls = 0;
    std::size_t queued = 0;      // waiting in the lane's queue now
    std::map<std::string, uint64_t> slot_requests;  // outcomes per slot
  };
  figures counts() const;

  /// Whether lent worker `key` runs a call now (false: idle or not lent).
  bool busy(worker_key key) const;

  // --- the caller's side -------------------------------------------------------

  /// Takes `c`: runs it on an idle lent worker, or queues it (queue_full
  /// when the queue is full), answering through `answer` (on any thread,
  /// exactly once). False when the lane does not take it: then `c` and
  /// `answer` are untouched and the call belongs on the pool's path.
  bool try_execute(call& c, answer_fn& answer);

private:
  struct lent_worker {
    std::string slot;
    std::shared_ptr<call_port> port;
    std::size_t held = 0;  // calls sent and not yet answered by Python; busy if any
    uint64_t* served = nullptr;  // figures_.slot_requests[slot], once it served one
  };
  struct lane_call;
  struct queued_call {
    call c;
    std::shared_ptr<lane_call> st;
    std::size_t bytes = 0;
  };
  /// Calls taken from the queue for one worker, to send outside the lock.
  struct batch {
    worker_key key = 0;
    std::shared_ptr<call_port> port;
    std::vector<queued_call> calls;
    std::size_t bytes = 0;
  };

  /// How a call sent to a worker came to an end there.
  enum class call_end {
    answered,        // Python's outcome (counts as a request the slot served)
    port_closed,     // the port failed it: the worker is going
    refused,         // never went out (e.g. its deadline had passed)
    refused_broken,  // never went out: the connection is broken
  };
  using settle_fn = std::function<void(call_outcome, call_end)>;

  /// The worker is done with a call of epoch `epoch`: it takes queued calls,
  /// waits idle, goes back to the pool, or (its port closed or broken) is
  /// forgotten. `answered_ok`: the call's answer to count (set when this
  /// outcome claimed the call: whether it succeeded).
  void finished(worker_key key, uint64_t epoch, call_end how, std::optional<bool> answered_ok);
  /// Moves the oldest queued calls (the batch bounds, and the room below
  /// max_in_flight) onto worker `key`.
  void take_batch_locked(worker_key key, lent_worker& w, batch& out);
  /// Sends calls booked on one worker (a batch taken by take_batch_locked,
  /// or one call that found it idle), reporting their events.
  void send_batch(batch b);
  /// A call's deadline passed: answers timeout (if nobody answered first),
  /// taking it out of the queue or cancelling it on its worker (`lane` is
  /// null when the lane is being destroyed: the caller still hears).
  static void expire(const std::shared_ptr<lane_call>& st, fast_lane* lane);
  /// What the port's thread does with a sent call's outcome.
  settle_fn settler(std::shared_ptr<lane_call> st, worker_key key);
  /// Counts a call's answer (by whoever gave it).
  void count(uint64_t epoch, bool ok);

  transport::deadline_timer timer_;

  mutable std::mutex mx_;  // guards the fields below
  std::map<worker_key, lent_worker> lent_;
  std::vector<worker_key> idle_;  // most recently idle last
  give_back_fn give_back_;
  std::shared_ptr<const pool_observer> observer_;
  uint64_t epoch_ = 0;  // one per attach: outcomes of an older pool's calls count for nobody
  bool open_ = false;
  bool want_back_ = false;
  limits limits_;
  std::deque<queued_call> queue_;  // oldest first
  figures figures_;
};

} // namespace snakepit::detail
