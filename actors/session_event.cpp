#include "actors/session_event.hpp"

namespace snakepit {

const char* to_string(session_event_kind k) {
  switch (k) {
    case session_event_kind::created: return "created";
    case session_event_kind::activated: return "activated";
    case session_event_kind::paused: return "paused";
    case session_event_kind::resumed: return "resumed";
    case session_event_kind::command_processed: return "command_processed";
    case session_event_kind::error: return "error";
    case session_event_kind::expired: return "expired";
    case session_event_kind::terminated: return "terminated";
  }
  return "unknown";
}

std::string to_string(const session_event& ev) {
  std::string out = "session " + ev.session_id + " " + to_string(ev.kind);
  if (ev.error)
    out += ": " + ev.error->to_string();
  else if (!ev.detail.empty())
    out += ": " + ev.detail;
  return out;
}

} // namespace snakepit
