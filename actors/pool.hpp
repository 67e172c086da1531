#pragma once
// The pool: queue, dispatch, session affinity, stats and await_ready for the
// workers the worker supervisor starts. The pool never starts or restarts a
// worker; workers introduce themselves and the pool monitors them.
//
// Talk to it with (messages in actors/worker_protocol.hpp):
//   worker → pool  (worker_ready_atom, worker_hello)          register + monitor; same slot
//                                                             id again counts a restart
//   worker → pool  (worker_failed_atom, std::string id, error) remember the startup error
//   (pool_execute_atom, pool_call)      -> call_outcome       always exactly one answer; errors
//                                                             (timeout, queue_full, worker_busy,
//                                                             worker_crashed, shutting_down, ...)
//                                                             are inside the outcome
//   (await_ready_atom, milliseconds)    -> caf::ok_atom, or a caf::error carrying a
//                                          snakepit::error (startup_failed, not_ready,
//                                          shutting_down): unwrap with from_caf_error
//   (pool_stats_atom)                   -> pool_stats
//   (forget_session_atom, std::string)  the session ended: it no longer sticks to a slot
//   (list_workers_atom)                 -> std::vector<worker_info>, natural order of id
//                                          ("worker-2" before "worker-10")
//
// Calls:
//  * a worker that says hello with a call_port gets its calls put straight
//    into the port from the pool's thread, and the thread that reads a
//    call's outcome answers a caller that gave a `reply` function itself
//    (first telling the pool, which then frees the worker); a flag shared
//    with the pool makes sure a call is answered once (outcome, deadline,
//    cancel, crash or shutdown, whichever comes first). Other workers get
//    execute requests.
//  * an idle worker takes a new call at once, alone (no added latency);
//    otherwise the call waits in a FIFO queue (at most max_queue, beyond →
//    queue_full at once).
//  * adaptive batching: a worker that becomes idle (its last outstanding call
//    answered, or it just said hello) takes the oldest queued calls it may
//    serve, up to max_batch calls and max_batch_bytes (a rough size: string
//    and binary payloads, keys, a few bytes per other value; the first call
//    goes whatever its size), in FIFO order. Each is its own execute request
//    (own outcome, deadline, cancel, errors); they reach the worker back to
//    back, so its channel sends them in one frame. max_batch = 1: one call
//    per refill.
//  * pipelining when saturated: a worker "holds" every call sent to it whose
//    outcome has not come back (including calls already answered to their
//    caller by deadline or cancel: Python still has them). When one of its
//    calls is answered and it still holds others, it takes more queued calls
//    (same rules, same batch bounds) if it has room for a whole batch:
//    held + min(max_batch, max_in_flight_per_worker) <= max_in_flight_per_worker.
//    It never holds more than max_in_flight_per_worker. So while calls wait,
//    the next batch is already inside the worker when it finishes the one
//    it runs. A worker pulls only when it answers a call: a new call never
//    goes straight to a worker that holds calls (it queues), and only the
//    slot's current worker pulls (a retired one finishes what it holds).
//    max_in_flight_per_worker <= max_batch: no pipelining (a worker takes
//    calls only when it holds none), the behaviour before this option.
//  * busy means "holds at least one call" (stats busy/available,
//    worker_state::busy, affinity): an idle worker holds none. Pipelined
//    calls wait inside the worker behind the ones it holds, which is what
//    strict_fail_fast refuses to do: it fails with worker_busy whenever the
//    session's worker holds any call, bound or not; strict_queue calls wait
//    in the pool's queue and only their slot's worker takes them (by the
//    rules above, pipelined too).
//  * the deadline (call.deadline, absolute, on the actor system's clock) covers
//    queue and run time. Queued past it → timeout, removed. Running past it →
//    timeout to the caller and (cancel_call_atom, id) to the worker, which
//    holds the call (busy, a place in its pipeline) until its outcome for
//    that call arrives or it dies; a call still waiting inside the worker's
//    pipeline is refused there unrun (cancelled, or out of its budget).
//  * a worker that goes down fails each call it still holds with
//    worker_crashed (those it answered first keep their answer).
//  * session affinity (call.session_id non-empty): the session sticks to the
//    worker *slot* that last took one of its calls, see affinity_mode.
//
//  * the fast lane (pool_options::lane): a worker with a port that becomes
//    idle while nothing waits in the queue is lent to the lane, where a
//    caller's thread takes it directly (no message to the pool), and where
//    calls that find every lent worker busy wait in the lane's own queue;
//    to the dispatcher a lent worker is busy. A call that reaches the pool
//    recalls the idle lent workers; while calls wait in the pool's queue,
//    lent workers come back to the pool as they finish (lane_return_atom).
//    Stats, list_workers and events include lane calls (busy = holding one,
//    queued = both queues).
//
// Shutdown: on an exit message (not `normal`) the pool refuses new calls
// (shutting_down), answers queued calls shutting_down, lets calls in flight get
// their outcome, then quits with the exit message's reason. Whatever is still
// unanswered when the pool ends (killed, e.g. after its shutdown timeout) is
// answered shutting_down.

#include <chrono>
#include <cstddef>
#include <memory>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/pool_event.hpp"
#include "actors/pool_types.hpp"

namespace snakepit::detail {
class fast_lane;
}

namespace snakepit {

struct pool_options {
  std::size_t size = 0;          // workers expected: await_ready waits for this many
  std::size_t max_queue = 1000;  // calls that may wait for a worker
  /// At most this many queued calls go to a freed worker at once (> 0; 1: one
  /// call per worker at a time). 32: snakepit-bench --only saturated
  /// --max-batch N --max-in-flight N, alternating, gave 53k/59k calls/s
  /// with 16 and 70k/65k with 32 (p99 1.7 ms against 2.0-2.3 ms); a Python
  /// frame answers its calls together, so larger batches hold a slow call's
  /// neighbours back longer.
  std::size_t max_batch = 32;
  /// ...and at most about this many bytes of them (> 0; estimated, see above;
  /// the Python worker batches its replies up to the same 1 MiB).
  std::size_t max_batch_bytes = std::size_t{1} << 20;
  /// At most this many calls held by one worker at once (> 0): with room for
  /// a whole batch below it, a worker that answers a call takes more queued
  /// ones (pipelining, see above). <= max_batch: no pipelining. Default off:
  /// snakepit-bench --only saturated measured less with it (16 + 32 in
  /// flight: 48k against 56k calls/s; 48: 35k): the refills come smaller
  /// and every frame costs the Python worker the same.
  std::size_t max_in_flight_per_worker = 32;
  /// Used when a pool_call carries no affinity of its own (needs
  /// pool_call::affinity to become optional; until then the facade resolves it).
  affinity_mode default_affinity = affinity_mode::hint;
  pool_observer observer;        // telemetry hook (threads: see pool_event.hpp)
  /// Where idle workers with a port are lent to callers (actors/fast_lane.hpp);
  /// null: every call comes through the pool's mailbox.
  std::shared_ptr<detail::fast_lane> lane;
};

/// Validates the options (size, max_queue, max_batch, max_batch_bytes and
/// max_in_flight_per_worker > 0; else a caf::error carrying
/// errc::invalid_argument, see from_caf_error), then spawns the pool.
caf::expected<caf::actor> spawn_pool(caf::actor_system& sys, pool_options options);

} // namespace snakepit
