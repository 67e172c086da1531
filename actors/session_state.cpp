#include "actors/session_state.hpp"

#include <string>

namespace snakepit {

const char* to_string(session_state s) {
  switch (s) {
    case session_state::initializing: return "initializing";
    case session_state::active: return "active";
    case session_state::paused: return "paused";
    case session_state::cleanup: return "cleanup";
    case session_state::terminated: return "terminated";
  }
  return "unknown";
}

bool can_transition(session_state from, session_state to) {
  using s = session_state;
  switch (from) {
    case s::initializing: return to == s::active;
    case s::active: return to == s::paused || to == s::cleanup;
    case s::paused: return to == s::active || to == s::cleanup;
    case s::cleanup: return to == s::terminated;
    case s::terminated: return false;
  }
  return false;
}

result<void> check_transition(std::string_view session_id, session_state from, session_state to) {
  if (can_transition(from, to))
    return {};
  return error{errc::invalid_state, "session " + std::string(session_id) + " cannot go from "
                                      + to_string(from) + " to " + to_string(to)};
}

result<void> check_accepts_commands(std::string_view session_id, session_state s) {
  if (s == session_state::active)
    return {};
  const std::string id(session_id);
  switch (s) {
    case session_state::initializing:
      return error{errc::invalid_state, "session " + id + " is still initializing"};
    case session_state::paused:
      return error{errc::invalid_state, "session " + id + " is paused"};
    case session_state::cleanup:
      return error{errc::invalid_state, "session " + id + " is closing (cleanup)"};
    default:
      return error{errc::invalid_state, "session " + id + " is terminated"};
  }
}

} // namespace snakepit
