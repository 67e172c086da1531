#pragma once
// The messages a session actor answers (local only, never serialized, so the
// structs are allowed as unsafe message types instead of writing inspectors).
// Every answer is a snakepit::result: errors are values (DESIGN rule 6), so a
// refused request is an ordinary reply, never a caf::error.
//
// variable commands (answered only while active; otherwise invalid_state):
//   (register_var_atom, register_variable_request) -> result<variable>
//   (get_var_atom, std::string name)               -> result<variable>
//   (set_var_atom, set_variable_request)           -> result<variable>      CAS with expected_version
//   (increment_var_atom, increment_request)        -> result<variable>
//   (remove_var_atom, std::string name)            -> result<void>
//   (get_many_atom, std::vector<std::string>)      -> result<std::vector<variable>>
//   (set_many_atom, set_many_request)              -> result<std::vector<variable>>
//   (list_vars_atom)                               -> result<std::vector<variable>>  sorted by name
//   (touch_atom)                                   -> result<void>          only refreshes activity
// lifecycle (a refused transition is invalid_state naming both states):
//   (pause_atom)    -> result<void>    active → paused
//   (resume_atom)   -> result<void>    paused → active
//   (close_atom)    -> result<void>    active|paused → cleanup → terminated, exit normal
//   (expire_atom)   -> result<void>    like close, with an expired event first (the reaper)
// in every state:
//   (info_atom)                        -> result<session_info>
//   (subscribe_atom, caf::actor)       -> result<void>   the actor then receives each
//                                                        session_event as a message
//   (unsubscribe_atom, caf::actor)     -> result<void>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <nlohmann/json.hpp>

#include "actors/error.hpp"
#include "actors/message_types.hpp"  // result<void>
#include "actors/session_event.hpp"
#include "actors/session_state.hpp"
#include "actors/session_variable.hpp"

namespace snakepit::session_protocol {

using register_var_atom = caf::atom_constant<caf::atom("s_register")>;
using get_var_atom = caf::atom_constant<caf::atom("s_get")>;
using set_var_atom = caf::atom_constant<caf::atom("s_set")>;
using increment_var_atom = caf::atom_constant<caf::atom("s_incr")>;
using remove_var_atom = caf::atom_constant<caf::atom("s_remove")>;
using get_many_atom = caf::atom_constant<caf::atom("s_get_many")>;
using set_many_atom = caf::atom_constant<caf::atom("s_set_many")>;
using list_vars_atom = caf::atom_constant<caf::atom("s_list")>;
using touch_atom = caf::atom_constant<caf::atom("s_touch")>;
using info_atom = caf::atom_constant<caf::atom("s_info")>;
using pause_atom = caf::atom_constant<caf::atom("s_pause")>;
using resume_atom = caf::atom_constant<caf::atom("s_resume")>;
using close_atom = caf::atom_constant<caf::atom("s_close")>;
using expire_atom = caf::atom_constant<caf::atom("s_expire")>;
using subscribe_atom = caf::atom_constant<caf::atom("s_sub")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("s_unsub")>;

/// Internal: the session tells itself to finish cleanup, so requests already
/// queued behind close/expire see the cleanup state.
using finish_cleanup_atom = caf::atom_constant<caf::atom("s_cleanup")>;

struct register_variable_request {
  std::string name;
  variable_type type = variable_type::any;
  nlohmann::json value;
  variable_constraints constraints;
};

struct set_variable_request {
  std::string name;
  nlohmann::json value;
  std::optional<uint64_t> expected_version;  // compare-and-set; 0 = create only
};

struct increment_request {
  std::string name;
  nlohmann::json delta;
};

struct set_many_request {
  std::vector<std::pair<std::string, nlohmann::json>> writes;
};

} // namespace snakepit::session_protocol

namespace snakepit {

struct session_info {
  std::string id;
  session_state state = session_state::initializing;
  std::chrono::system_clock::time_point created_at{};
  std::chrono::system_clock::time_point last_activity{};  // last command or touch
  uint64_t command_count = 0;  // commands run while active, accepted or refused by the store
  std::size_t variable_count = 0;
  std::size_t subscriber_count = 0;
};

} // namespace snakepit

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::session_protocol::register_variable_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::session_protocol::set_variable_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::session_protocol::increment_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::session_protocol::set_many_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::session_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::result<snakepit::variable>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::result<std::vector<snakepit::variable>>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::result<snakepit::session_info>)
