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
// The pool stays the owner of every worker and of every rule that needs a
// queue. It lends a worker when the worker has nothing to do and nothing
// waits in the pool's queue; a lent worker is "busy" to the pool's
// dispatcher. A call the lane cannot take (no lent worker idle, the lane
// closed, a session or streaming call) goes to the pool as before. When
// calls wait in the pool's queue, the pool recalls the idle lent workers and
// asks for the busy ones back: each goes back to the pool (a message) when
// it finishes, instead of waiting in the lane. So FIFO order, batching,
// pipelining and affinity are the pool's, unchanged.
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
#include <functional>
#include <map>
#include <memory>
#include <mutex>
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

  /// A (new) pool takes the lane over: every worker lent before is
  /// forgotten, the counters start at zero, calls may come again.
  /// `observer` (may be null) hears lane calls' events, like the pool's.
  void attach(give_back_fn give_back, std::shared_ptr<const pool_observer> observer);

  /// Lends an idle worker; callers may take it at once.
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

  /// Takes no more calls and forgets every worker (the pool is stopping).
  void close();

  struct figures {
    uint64_t requests = 0;
    uint64_t completed = 0;
    uint64_t errors = 0;
    std::map<std::string, uint64_t> slot_requests;  // outcomes per slot
  };
  figures counts() const;

  /// Whether lent worker `key` runs a call now (false: idle or not lent).
  bool busy(worker_key key) const;

  // --- the caller's side -------------------------------------------------------

  /// Runs `c` on an idle lent worker, answering through `answer` (on any
  /// thread, exactly once). False when the lane cannot take it now: then `c`
  /// and `answer` are untouched and the call belongs on the pool's path.
  bool try_execute(call& c, answer_fn& answer);

private:
  struct lent_worker {
    std::string slot;
    std::shared_ptr<call_port> port;
    bool busy = false;
  };
  struct lane_call;

  /// The worker finished a call of epoch `epoch`: idle again, back to the
  /// pool, or (broken: its port closed) forgotten.
  void finished(worker_key key, uint64_t epoch, bool broken);
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
  figures figures_;
};

} // namespace snakepit::detail
