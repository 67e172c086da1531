#pragma once
// Starting one child, the way both supervisors need it: an error, an
// exception or an invalid handle from the start function all become one start
// error; a child that acknowledges its start is asked, with a deadline,
// whether it finished starting.

#include <functional>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "supervision/child_spec.hpp"

namespace snakepit::supervision {

/// Runs the start function only.
caf::expected<caf::actor> start_child_actor(caf::actor_system& sys, const child_spec& spec);

/// Runs the start function and, for a spec that acknowledges start, waits
/// (without blocking) for the child's answer to await_started_atom. `done`
/// runs exactly once on `self`'s thread: with the handle once the child is
/// up, or with the error (a child that failed its start is killed). While the
/// acknowledgement is outstanding, returns the spawned handle so the caller
/// can kill a child still starting if it has to stop first; returns an
/// invalid handle when `done` has already run.
caf::actor start_child_async(caf::event_based_actor* self, const child_spec& spec,
                             std::function<void(caf::expected<caf::actor>)> done);

} // namespace snakepit::supervision
