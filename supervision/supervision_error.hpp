#pragma once
// Typed errors of the supervision library. They travel as caf::error values
// (category atom "supervisio") whose context carries a human-readable message,
// so `describe(err)` can print "invalid_child_spec: child 'db': shutdown timeout must be > 0".

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace caf {
class actor_system_config;
}

namespace snakepit::supervision {

enum class sup_errc : uint8_t {
  none = 0,
  invalid_child_spec,   // a child spec broke a rule (empty id, no start function, bad shutdown)
  invalid_flags,        // supervisor flags broke a rule (negative intensity, zero period, ...)
  duplicate_child_id,   // two children of one static supervisor share an id
  start_failed,         // a child's start function returned an error (or threw)
  max_children,         // a dynamic supervisor is at its max_children limit
  not_found,            // no such child / no such name
  already_registered,   // a name registry entry exists and is alive
  shutting_down,        // the supervisor is stopping and refuses new work
  call_timeout,         // a blocking call to a supervision actor got no answer in time
  invalid_name,         // an empty name or an invalid actor given to the name registry
};

/// The category atom of sup_errc errors (CAF allows at most 10 characters).
constexpr caf::atom_value sup_category = caf::atom("supervisio");

const char* to_string(sup_errc code);

/// A supervision error with a message (stored in the error's context).
caf::error make_error(sup_errc code, std::string message = {});

/// Whether `err` is of our category and has `code`.
bool is(const caf::error& err, sup_errc code);

/// The message stored in one of our errors, or empty.
std::string message_of(const caf::error& err);

/// Renders any error met in supervision: ours, CAF exit reasons, CAF system
/// errors, or anything else (falls back to CAF's own rendering).
std::string describe(const caf::error& err);

/// Lets `caf::to_string(err)` and CAF's own logging render our errors.
void register_error_category(caf::actor_system_config& cfg);

} // namespace snakepit::supervision
