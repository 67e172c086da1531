#pragma once
// Every lifecycle step of a supervisor, reported to an observer the host
// attaches (a telemetry bridge, a log, a test recorder).

#include <cstdint>
#include <functional>
#include <string>

#include <caf/error.hpp>

#include "supervision/exit_class.hpp"

namespace snakepit::supervision {

enum class event_kind {
  child_started,       // first start of a child
  child_exited,        // a child ended on its own (reason, exit class)
  child_restarted,     // a child was started again after it ended
  child_terminated,    // a child was stopped by its supervisor (shutdown, group restart, terminate_child)
  start_failed,        // a start function returned an error
  intensity_exceeded,  // too many restarts: the supervisor gives up
  shutdown_error,      // a child did not stop with the expected reason (e.g. killed after timeout)
  supervisor_stopped,  // the supervisor itself exits (reason)
};

const char* to_string(event_kind k);

struct supervision_event {
  event_kind kind;
  std::string supervisor;   // the reporting supervisor's name
  std::string child_id;     // empty for supervisor-level events
  uint64_t child_actor = 0; // CAF actor id of the child, when there is one
  caf::error reason;        // exit reason or error, when there is one
  exit_class reason_class = exit_class::normal;
};

/// Renders an event as one log line.
std::string to_string(const supervision_event& ev);

/// Called synchronously on the reporting supervisor's thread: keep it quick
/// and thread-safe (several supervisors may report at once).
using event_observer = std::function<void(const supervision_event&)>;

} // namespace snakepit::supervision
