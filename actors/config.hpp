#pragma once
// Everything a host program can set when it embeds the runtime. Every field
// has a default that works on a Debian 12 machine with this repository built.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "actors/host_tool.hpp"
#include "actors/pool_event.hpp"
#include "actors/pool_types.hpp"
#include "actors/session_event.hpp"
#include "actors/telemetry.hpp"
#include "actors/worker.hpp"
#include "supervision/restart_intensity.hpp"
#include "supervision/supervision_event.hpp"

namespace snakepit {

class worker_adapter;

struct config {
  std::size_t pool_size = 2;
  std::string adapter = "snakepit_bridge.adapters.showcase";  // MODULE[:CLASS]
  std::string python = "/usr/bin/python3";  // Debian's interpreter has grpcio and protobuf
  /// Where snakepit_bridge and its generated stubs are; empty: the build's
  /// own (or the install's) folders, compiled in.
  std::vector<std::string> python_path;
  /// Parent of the private runtime directory (mode 0700) holding the
  /// workers' sockets; empty: $XDG_RUNTIME_DIR, else /tmp.
  std::string runtime_parent;
  std::string run_id;  // empty: a fresh random id per runtime
  /// The durable process registry lives in <data_dir>/<instance>.sqlite.
  /// data_dir empty: $XDG_STATE_HOME/snakepit, else ~/.local/state/snakepit,
  /// else /tmp/snakepit-<uid>. instance empty: $SNAKEPIT_INSTANCE, else
  /// "default". Two hosts (or test runs) with different instances never
  /// touch each other's processes.
  std::string data_dir;
  std::string instance;
  /// At start-up, kill the processes earlier runs of this instance left
  /// behind (only those whose command line still carries that run's id).
  bool boot_sweep = true;
  /// How the host reaches workers: Unix sockets in the private runtime
  /// directory (default: no port races, no other user can connect), or TCP on
  /// 127.0.0.1 with a port each worker lets the kernel choose.
  enum class worker_transport { unix_socket, tcp_loopback };
  worker_transport transport = worker_transport::unix_socket;
  /// How workers reach their processes; empty: the gRPC Python adapter
  /// (`adapter` above is then the Python module it serves).
  std::shared_ptr<const snakepit::worker_adapter> worker_adapter;

  std::chrono::milliseconds startup_timeout{15000};  // launch → ready, per worker
  std::chrono::milliseconds call_timeout{30000};     // default per call (queue + run)
  std::chrono::milliseconds shutdown_grace{2000};    // SIGTERM → SIGKILL
  std::size_t max_queue = 1000;
  /// Adaptive batching (DESIGN.md rule 7): an idle worker gets a call at
  /// once; a worker that frees up while calls wait takes up to this many of
  /// them (and about this many bytes) in one go. 1 turns batching off.
  /// 32 measured faster than 16 when saturated (see actors/pool.hpp).
  std::size_t max_batch = 32;
  std::size_t max_batch_bytes = 1 << 20;
  /// Pipelining when saturated: a worker that answers a call while it still
  /// holds others takes more queued calls if a whole batch fits below this
  /// many held calls, so the next batch already waits inside the worker.
  /// <= max_batch turns pipelining off (take calls only when holding none),
  /// the default: on 2 cores the saturated bench measured less with it.
  std::size_t max_in_flight_per_worker = 32;
  /// A call (outside a session, not a stream) that finds a worker idle goes
  /// from the caller's thread straight into that worker's connection, and
  /// the thread that reads its outcome answers the caller; one that finds
  /// every worker busy waits in the lane's own queue, batched the same way:
  /// no actor hop either way (actors/fast_lane.hpp). false: every call
  /// through the pool actor.
  bool fast_lane = true;
  affinity_mode affinity = affinity_mode::hint;

  /// Each worker slot's own restart budget (its starter's intensity).
  supervision::intensity_limits worker_restarts{10, std::chrono::seconds(5)};
  /// The worker supervisor's budget across all slots.
  supervision::intensity_limits pool_restarts{20, std::chrono::seconds(5)};

  /// Sessions (host-owned state, DESIGN rule 3): at most max_sessions at once
  /// (session_limit beyond); a session idle longer than session_ttl is
  /// expired by a scan every session_reap_interval; a session actor that
  /// crashes is restarted (empty) within session_restarts, past which the
  /// session layer restarts.
  std::size_t max_sessions = 100000;
  std::chrono::milliseconds session_ttl{30 * 60 * 1000};
  std::chrono::milliseconds session_reap_interval{5 * 60 * 1000};
  std::size_t max_variables_per_session = 10000;
  supervision::intensity_limits session_restarts{3, std::chrono::seconds(5)};
  /// Every session's events (created, activated, paused, resumed,
  /// command_processed, error, expired, terminated), on the session's thread.
  session_observer session_events;
  /// Host-side tools Python may call (SessionContext.call_host_tool),
  /// registered at start; more with runtime::register_host_tool.
  std::vector<host_tool> host_tools;
  /// How long the host bridge (state and host tools for Python) gives one call.
  std::chrono::milliseconds bridge_deadline{10000};

  /// CAF scheduler: "sharing" crosses into the actor system ~4x cheaper than
  /// "stealing" for blocking callers (TOOLCHAIN.md); both are valid.
  std::string scheduler_policy = "sharing";

  log_function log;  // empty: warnings and errors to stderr
  pool_observer pool_events;  // optional: every pool event (queued, dispatched, done, ...)
  /// Optional: named events with measurements (boot sweep, cleanup, process
  /// registry, sessions); see telemetry.hpp and the README for the names.
  telemetry_handler telemetry;
  supervision::event_observer supervision_observer;  // optional: every supervision event
};

} // namespace snakepit
