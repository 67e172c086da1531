#pragma once
// A static supervisor: a fixed, ordered list of children started in order,
// restarted by strategy (one_for_one, one_for_all, rest_for_one) within a
// restart intensity, and stopped in reverse order by their shutdown specs.
//
// Talk to it with:
//   which_children_atom  -> std::vector<child_info>
//   count_children_atom  -> child_counts
//   await_started_atom   -> ok_atom, or the start error
//   send_exit(sup, exit_reason::user_shutdown)  to stop it (OTP: exit(Sup, shutdown))
// It exits with `user_shutdown` when it gives up after too many restarts, so
// its own parent applies its rules to it (escalation).

#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "supervision/child_spec.hpp"
#include "supervision/supervisor_flags.hpp"

namespace snakepit::supervision {

/// Checks flags and specs (sup_errc::invalid_flags, invalid_child_spec,
/// duplicate_child_id) before spawning anything, then spawns the supervisor.
/// Its children start when it first runs; if one fails to start, the ones
/// already started are stopped in reverse order and the supervisor exits
/// with sup_errc::start_failed (await_started_atom answers with that error).
caf::expected<caf::actor> spawn_supervisor(caf::actor_system& sys, supervisor_flags flags,
                                           std::vector<child_spec> children);

/// A child spec for a nested static supervisor (kind supervisor, shutdown infinity).
child_spec supervisor_child(std::string id, supervisor_flags flags,
                            std::vector<child_spec> children,
                            restart_type restart = restart_type::permanent);

} // namespace snakepit::supervision
