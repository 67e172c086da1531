#pragma once
// The pool's telemetry hook: one event per lifecycle step of a worker or a call,
// reported synchronously, before the caller hears of it (DESIGN rule 9).

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "actors/error.hpp"

namespace snakepit {

enum class pool_event_kind {
  worker_ready,     // a worker said hello (first start or restart of its slot)
  worker_failed,    // a worker reported a startup failure (error says why)
  worker_down,      // a registered worker's actor ended (detail: the exit reason)
  call_queued,      // no worker could take the call: it waits in the queue
  call_dispatched,  // the call went to a worker (queue_time: time it waited)
  call_done,        // answered with a value (queue_time, run_time)
  call_failed,      // answered with an error, except queue timeouts (error says which)
  queue_timeout,    // the call's deadline passed while it waited in the queue
  batch_dispatched, // a freed worker took several queued calls at once (after their
                    // call_dispatched events; detail: "calls=N bytes~B")
};

const char* to_string(pool_event_kind k);

struct pool_event {
  pool_event_kind kind = pool_event_kind::worker_ready;
  std::string worker_id;                      // slot id, empty when no worker is involved
  uint64_t call_id = 0;                       // 0 for worker events
  std::chrono::microseconds queue_time{0};    // accepted → dispatched (or → timed out)
  std::chrono::microseconds run_time{0};      // dispatched → answered
  std::optional<snakepit::error> error;       // call_failed, queue_timeout, worker_failed
  std::string detail;                         // worker_down: exit reason; worker_ready: "restart"
};

/// One log line, e.g. "call_failed worker=worker-1 call=7 error=timeout: ...".
std::string to_string(const pool_event& ev);

/// Called synchronously for every event, on the pool's thread; except a
/// call's call_done / call_failed when the worker's reader thread answers the
/// caller itself (the hot path, actors/call_port.hpp): that one is reported
/// on the reader thread, still before the caller gets its answer and after
/// the call's call_dispatched. A call the fast lane takes (actors/fast_lane.hpp)
/// never queues: its call_dispatched is reported on the caller's thread, and
/// a deadline's call_failed on the lane's timer thread. Keep it quick, thread-safe (several threads
/// report at the same time) and non-throwing (an exception escaping it ends
/// the pool, or the process when it escapes on a reader thread).
using pool_observer = std::function<void(const pool_event&)>;

} // namespace snakepit
