#pragma once
// One telemetry hook for the whole runtime (DESIGN rule 9), in the manner of
// Erlang's :telemetry: every event has a dotted name, numeric measurements
// and string metadata, and the handler runs synchronously where the event
// happens. The pool and the supervisors keep their own typed observers
// (config.pool_events, config.supervision_observer); this hook carries what
// has no typed observer of its own: the boot sweep, application cleanup, the
// process registry, sessions.

#include <chrono>
#include <functional>
#include <map>
#include <string>

namespace snakepit {

struct telemetry_event {
  /// e.g. "snakepit.boot_sweep.done", "snakepit.cleanup.done",
  /// "snakepit.session.created". The names in use are listed in the README.
  std::string name;
  std::map<std::string, double> measurements;  // counts, durations (…_ms, …_us)
  std::map<std::string, std::string> metadata; // run_id, instance, session_id, ...
  std::chrono::system_clock::time_point at = std::chrono::system_clock::now();
};

/// "snakepit.cleanup.done orphans_found=0 orphans_killed=0 run_id=ab12"
std::string to_string(const telemetry_event& ev);

/// Called synchronously on the reporting thread (an actor's, or the host's
/// during construction): keep it quick, thread-safe and non-throwing.
using telemetry_handler = std::function<void(const telemetry_event&)>;

} // namespace snakepit
