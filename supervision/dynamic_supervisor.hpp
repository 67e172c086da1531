#pragma once
// A dynamic supervisor (Elixir's DynamicSupervisor): starts with no children,
// children are added at run time and found by handle; strategy one_for_one.
//
// Talk to it with:
//   start_child_atom, child_spec       -> caf::actor, or max_children /
//                                         invalid_child_spec / start_failed / shutting_down
//   terminate_child_atom, caf::actor   -> ok_atom (after the child is down), or not_found
//   which_children_atom                -> std::vector<child_info>
//   count_children_atom                -> child_counts
//   await_started_atom                 -> ok_atom
// On shutdown all children are stopped concurrently, each by its own spec.

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "supervision/child_spec.hpp"
#include "supervision/supervisor_flags.hpp"

namespace snakepit::supervision {

/// Validates the flags (sup_errc::invalid_flags), then spawns.
caf::expected<caf::actor> spawn_dynamic_supervisor(caf::actor_system& sys,
                                                   dynamic_supervisor_flags flags);

/// A child spec for a nested dynamic supervisor (kind supervisor, shutdown infinity).
child_spec dynamic_supervisor_child(std::string id, dynamic_supervisor_flags flags,
                                    restart_type restart = restart_type::permanent);

} // namespace snakepit::supervision
