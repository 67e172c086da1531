#pragma once
// The session layer of the tree (DESIGN: session_store → session supervisor →
// one session actor per session; session_reaper). Built as one static
// supervisor, "sessions" (one_for_all: its parts depend on each other):
//
//   sessions (one_for_all)
//   ├── session_supervisor   dynamic, transient children, own restart limit
//   ├── session_store        the sessions' registry: id → live session actor,
//   │                        creation (on first use), the cap, listing, reaping
//   └── session_reaper       every reap_interval asks the store to expire
//                            sessions idle longer than ttl
//
// The store is where a session is found by id. It monitors each session: a
// session that ended normally (closed, expired) is forgotten, so its id can
// be used again; one that crashed is restarted by the session supervisor
// (empty: a session's state lives in its actor) and announces its new handle
// to the store. Past the supervisor's restart limit the supervisor exits and
// "sessions" restarts the whole layer (and, past its own limit, escalates).
//
// Store messages:
//   (store_create_atom, id)   -> result<void>   already_exists, session_limit, invalid_argument
//   (store_ensure_atom, id)   -> result<void>   creates it if absent, then touches it (a paused
//                                               or closing session answers invalid_state)
//   (store_ensure_atom, id, ensure_done)        the same, answered by calling the function
//                                               (on the store's thread): the facade's cheap
//                                               crossing, no reply address needed
//   (store_lookup_atom, id)   -> result<caf::actor>          session_not_found
//   (store_close_atom, id)    -> result<void>   once the session has ended (cleanup done,
//                                               id free); session_not_found, invalid_state
//   (store_list_atom)         -> std::vector<std::string>    ids, sorted
//   (store_reap_atom)         -> std::size_t    sessions expired by this scan (the reaper's tick)

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>

#include "actors/current_actor.hpp"
#include "actors/message_types.hpp"
#include "actors/session_event.hpp"
#include "supervision/child_spec.hpp"
#include "supervision/restart_intensity.hpp"
#include "supervision/supervision_event.hpp"

namespace snakepit {

using store_create_atom = caf::atom_constant<caf::atom("st_create")>;
using store_ensure_atom = caf::atom_constant<caf::atom("st_ensure")>;
using store_lookup_atom = caf::atom_constant<caf::atom("st_lookup")>;
using store_close_atom = caf::atom_constant<caf::atom("st_close")>;
using store_list_atom = caf::atom_constant<caf::atom("st_list")>;
using store_reap_atom = caf::atom_constant<caf::atom("st_reap")>;

using ensure_done = std::function<void(result<void>)>;

struct session_store_options {
  std::size_t max_sessions = 100000;              // beyond: session_limit
  std::chrono::milliseconds ttl{30 * 60 * 1000};   // idle longer than this: expired
  std::chrono::milliseconds reap_interval{5 * 60 * 1000};
  std::size_t max_variables = 10000;               // per session
  supervision::intensity_limits session_restarts{3, std::chrono::seconds(5)};
  /// Session clocks (activity, events); unset: system_clock::now. Tests
  /// inject one and drive the reaper by sending store_reap_atom.
  std::function<std::chrono::system_clock::time_point()> clock;
  session_observer observer;                       // every session's events
  supervision::event_observer supervision_observer; // the layer's supervisors
};

/// A valid session id: 1..256 bytes, printable ASCII without spaces.
result<void> validate_session_id(const std::string& id);

/// The "sessions" supervisor spec; `store` is set to each incarnation of the
/// store, which is how the runtime and the bridge reach it.
supervision::child_spec sessions_child(session_store_options options,
                                       std::shared_ptr<detail::current_actor> store);

} // namespace snakepit

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::result<caf::actor>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::ensure_done)
