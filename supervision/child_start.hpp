#pragma once
// Runs a child spec's start function the way both supervisors need it: an
// error, an exception or an invalid handle all become one start error.

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "supervision/child_spec.hpp"

namespace snakepit::supervision {

caf::expected<caf::actor> start_child_actor(caf::actor_system& sys, const child_spec& spec);

} // namespace snakepit::supervision
