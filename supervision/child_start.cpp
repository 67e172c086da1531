#include "supervision/child_start.hpp"

#include <exception>

#include <fmt/format.h>

#include "supervision/supervision_error.hpp"

namespace snakepit::supervision {

caf::expected<caf::actor> start_child_actor(caf::actor_system& sys, const child_spec& spec) {
  caf::expected<caf::actor> started{caf::error{}};
  try {
    started = spec.start(sys);
  } catch (const std::exception& ex) {
    // A start function that throws is a failed start, reported like OTP's
    // {error, Reason}; it must not take the supervisor down with it.
    return make_error(sup_errc::start_failed,
                      fmt::format("child '{}': start function threw: {}", spec.id, ex.what()));
  }
  if (!started)
    return started.error() ? started.error()
                           : make_error(sup_errc::start_failed,
                                        fmt::format("child '{}': start failed", spec.id));
  if (!*started)
    return make_error(sup_errc::start_failed,
                      fmt::format("child '{}': start function returned no actor", spec.id));
  return started;
}

} // namespace snakepit::supervision
