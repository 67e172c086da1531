#include "supervision/supervision_event.hpp"

#include <fmt/format.h>

#include "supervision/supervision_error.hpp"

namespace snakepit::supervision {

const char* to_string(event_kind k) {
  switch (k) {
    case event_kind::child_started: return "child_started";
    case event_kind::child_exited: return "child_exited";
    case event_kind::child_restarted: return "child_restarted";
    case event_kind::child_terminated: return "child_terminated";
    case event_kind::start_failed: return "start_failed";
    case event_kind::intensity_exceeded: return "intensity_exceeded";
    case event_kind::shutdown_error: return "shutdown_error";
    case event_kind::supervisor_stopped: return "supervisor_stopped";
  }
  return "?";
}

std::string to_string(const supervision_event& ev) {
  std::string out = fmt::format("[{}] {}", ev.supervisor, to_string(ev.kind));
  if (!ev.child_id.empty())
    out += fmt::format(" child '{}'", ev.child_id);
  if (ev.child_actor != 0)
    out += fmt::format(" (actor #{})", ev.child_actor);
  if (ev.reason || ev.kind == event_kind::child_exited
      || ev.kind == event_kind::supervisor_stopped)
    out += fmt::format(": {}", describe(ev.reason));
  return out;
}

} // namespace snakepit::supervision
