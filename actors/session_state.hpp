#pragma once
// A session's lifecycle (DESIGN: the session refactor):
//
//   initializing → active ⇄ paused → cleanup → terminated
//                     └──────────────↗
//
// Pure rules, no actor: the session actor asks them before every step, and
// tests can walk the whole table.

#include <string_view>

#include "actors/error.hpp"

namespace snakepit {

enum class session_state { initializing, active, paused, cleanup, terminated };

inline constexpr session_state all_session_states[] = {
  session_state::initializing, session_state::active, session_state::paused,
  session_state::cleanup, session_state::terminated};

/// "initializing", "active", "paused", "cleanup", "terminated".
const char* to_string(session_state s);

/// Whether the lifecycle has an edge from → to (see the diagram above).
bool can_transition(session_state from, session_state to);

/// ok if the edge exists; otherwise invalid_state naming the session and both
/// states, e.g. "session s1 cannot go from active to active".
result<void> check_transition(std::string_view session_id, session_state from, session_state to);

/// ok if a command (a variable operation or touch) may run now, i.e. the
/// session is active; otherwise invalid_state, e.g. "session s1 is paused".
result<void> check_accepts_commands(std::string_view session_id, session_state s);

} // namespace snakepit
