#pragma once
// The worker actor: owns one Python worker process and its gRPC channel.
//
// Life: wait until the previous process of its slot is gone (group and
// socket) → launch → READY line on the notify pipe → health ping → open the
// execute stream → hello to the pool → execute calls. When its process dies
// it answers every call it holds with worker_crashed and exits with a reason
// that says how the process ended, so its starter restarts it. Asked to stop
// (shutdown), it closes the stream, sends SIGTERM to the process group, waits
// the grace period, then SIGKILL, and exits `shutdown` once the group is gone.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/worker_context.hpp"
#include "supervision/child_spec.hpp"

namespace snakepit::transport {
class process_launcher;
}

namespace snakepit {

class worker_adapter;

enum class log_level { debug, info, warning, error };

const char* to_string(log_level l);

/// Where the runtime's log lines go (worker output, lifecycle problems).
/// Called from several threads: it must be thread-safe.
using log_function = std::function<void(log_level, const std::string&)>;

namespace detail {

/// What survives a worker's restart: the slot's identity and the process
/// group of its last process, which the next worker waits out.
struct worker_slot {
  std::string id;
  int last_pgid = 0;
  int starts = 0;
};

struct worker_options {
  worker_context context;                       // the slot, as its adapter sees it
  std::function<caf::actor()> pool;             // the current pool: receives hello / failed
  /// Weak: the runtime alone owns the launcher and destroys it on its own
  /// thread at shutdown (never from a launcher callback that happens to drop
  /// the last reference to a worker).
  std::weak_ptr<transport::process_launcher> launcher;
  /// The current process_registry actor: every process is recorded before it
  /// is spawned. Empty function or null handle: no registry.
  std::function<caf::actor()> registry;
  std::chrono::milliseconds registry_timeout{2000};  // reserve round trip
  /// The current tool registry: told the tools each started process offers
  /// (empty function or null handle: nobody to tell).
  std::function<caf::actor()> tools;
  std::shared_ptr<const worker_adapter> adapter;  // how to launch, connect, execute
  /// Added to every process's environment besides the run id: the instance
  /// and the host's identity, by which a boot sweep finds orphans the
  /// registry lost (transport/orphan_sweep.hpp).
  std::vector<std::pair<std::string, std::string>> environment;
  std::chrono::milliseconds startup_timeout{15000};
  std::chrono::milliseconds health_timeout{5000};
  std::chrono::milliseconds previous_process_wait{5000};  // bound on waiting for the old group
  log_function log;
};

/// Spawns a worker actor for `slot` (shared by every restart of the slot).
caf::actor spawn_worker(caf::actor_system& sys, worker_options options,
                        std::shared_ptr<worker_slot> slot);

/// The child spec the starter uses: a permanent worker whose shutdown
/// timeout covers the process's grace period.
supervision::child_spec worker_child_spec(worker_options options);

} // namespace detail
} // namespace snakepit
