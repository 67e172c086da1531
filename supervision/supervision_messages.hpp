#pragma once
// The message vocabulary of the supervision actors: atoms and the plain
// structs they answer with. Local only (never serialized), so the structs are
// allowed as unsafe message types instead of writing inspectors.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "supervision/child_spec.hpp"

namespace snakepit::supervision {

// Public requests.
using which_children_atom = caf::atom_constant<caf::atom("which_chld")>;
using count_children_atom = caf::atom_constant<caf::atom("count_chld")>;
using start_child_atom = caf::atom_constant<caf::atom("start_chld")>;
using terminate_child_atom = caf::atom_constant<caf::atom("term_chld")>;
using await_started_atom = caf::atom_constant<caf::atom("await_strt")>;

// Internal to the supervisors (sent to themselves).
using retry_restart_atom = caf::atom_constant<caf::atom("retry_rst")>;
using shutdown_timer_atom = caf::atom_constant<caf::atom("sd_timer")>;

/// One row of which_children (OTP: {Id, Child | restarting | undefined, Type, Modules}).
struct child_info {
  std::string id;
  caf::actor handle;   // invalid when not running (restarting, or ended and kept)
  bool restarting = false;
  child_kind kind = child_kind::worker;
  restart_type restart = restart_type::permanent;
  int restarts = 0;    // how many times this child was started again
};

/// count_children (OTP: specs, active, supervisors, workers).
struct child_counts {
  std::size_t specs = 0;        // children known, running or not
  std::size_t active = 0;       // children running now
  std::size_t supervisors = 0;  // children of kind supervisor, running or not
  std::size_t workers = 0;      // children of kind worker, running or not
};

} // namespace snakepit::supervision

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::supervision::child_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::supervision::child_info)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<snakepit::supervision::child_info>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::supervision::child_counts)
