#pragma once
// Unique names for actors. CAF's own actor_registry never forgets a dead actor
// and ignores a second put under a name; this one monitors every registered
// actor and drops its names when it dies, so a name is free again at once.
//
//   register_name_atom, name, actor -> ok_atom | already_registered | invalid_name
//   whereis_atom, name              -> caf::actor | not_found
//   unregister_name_atom, name      -> ok_atom | not_found
//   registered_names_atom           -> std::vector<std::string> (sorted)

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

namespace snakepit::supervision {

using register_name_atom = caf::atom_constant<caf::atom("reg_name")>;
using unregister_name_atom = caf::atom_constant<caf::atom("unreg_name")>;
using whereis_atom = caf::atom_constant<caf::atom("whereis")>;
using registered_names_atom = caf::atom_constant<caf::atom("reg_names")>;

caf::actor spawn_name_registry(caf::actor_system& sys);

} // namespace snakepit::supervision
