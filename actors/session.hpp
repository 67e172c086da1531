#pragma once
// One actor per session: it owns the session's variables (DESIGN rule 3: the
// host owns state) and walks the lifecycle of actors/session_state.hpp.
// Messages: actors/session_protocol.hpp. Events: actors/session_event.hpp.
//
// Lifecycle as the actor lives it:
//  * spawned: created (initializing), then activated (active) before it
//    reads its first message, so no request ever meets initializing;
//  * pause / resume flip active ⇄ paused; while paused, variable commands
//    and touch are refused (invalid_state "session S is paused") and change
//    nothing, not even last activity or the command count;
//  * close / expire answer ok and move to cleanup; requests already queued
//    behind them are refused ("closing (cleanup)"); then the variables are
//    cleared, terminated is reported and the actor exits with reason normal;
//  * an exit signal other than normal (its supervisor shutting down) does
//    the same cleanup at once and exits with that signal's reason.
// A command that runs (state active) counts and refreshes last activity,
// whatever the store answers: a refused write is still a sign of life.

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/session_event.hpp"
#include "supervision/child_spec.hpp"

namespace snakepit {

struct session_options {
  std::string id;                    // required, non-empty; unique in the session store
  std::size_t max_variables = 10000; // see variable_store
  /// Timestamps of events, activity and variables; unset: system_clock::now.
  /// Tests inject a clock they move by hand.
  std::function<std::chrono::system_clock::time_point()> clock;
  session_observer observer;         // optional telemetry hook, called on the session's thread
};

/// Spawns a session actor (no validation: the id is taken as given).
caf::actor spawn_session(caf::actor_system& sys, session_options options);

/// The spec the session supervisor starts sessions with: transient (a session
/// that crashed is started again, empty; one that closed or expired is not),
/// default worker shutdown. Its start refuses an empty id with a caf::error
/// carrying errc::invalid_argument (see from_caf_error).
supervision::child_spec session_child_spec(session_options options);

} // namespace snakepit
