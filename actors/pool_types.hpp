#pragma once
// Public value types of the pool: per-call options, worker and pool figures.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace snakepit {

/// How strongly a session sticks to the worker that served it last.
enum class affinity_mode {
  hint,              // prefer that worker; if it is busy, any idle worker will do (default)
  strict_queue,      // wait in the queue for that worker
  strict_fail_fast,  // fail with worker_busy if that worker is busy
};

const char* to_string(affinity_mode m);

struct call_options {
  std::optional<std::chrono::milliseconds> timeout;  // default: config.call_timeout
  std::string session_id;                            // empty: no session
  std::optional<affinity_mode> affinity;             // default: config.affinity
  std::map<std::string, std::string> metadata;       // e.g. {"correlation_id", "..."}
};

enum class worker_state { starting, ready, busy, stopping };

const char* to_string(worker_state s);

struct worker_info {
  std::string id;            // stable slot id, e.g. "worker-1"
  int os_pid = 0;            // the Python process
  worker_state state = worker_state::starting;
  int restarts = 0;          // how many times this slot's worker was replaced
  uint64_t requests = 0;     // calls this slot has completed
};

struct pool_stats {
  std::size_t workers = 0;     // workers registered (ready or busy)
  std::size_t available = 0;   // idle and ready
  std::size_t busy = 0;
  std::size_t queued = 0;      // calls waiting for a worker
  uint64_t requests = 0;       // calls accepted
  uint64_t completed = 0;      // calls answered with a value
  uint64_t errors = 0;         // calls answered with an error
  uint64_t queue_timeouts = 0; // calls that timed out before reaching a worker
  uint64_t worker_crashes = 0; // workers that died
  uint64_t batches = 0;        // times a freed worker took several queued calls at once
  uint64_t batched_calls = 0;  // calls dispatched in those batches
};

} // namespace snakepit
