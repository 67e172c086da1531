#include "supervision/supervisor_flags.hpp"

#include <fmt/format.h>

#include "supervision/supervision_error.hpp"

namespace snakepit::supervision {

const char* to_string(restart_strategy s) {
  switch (s) {
    case restart_strategy::one_for_one: return "one_for_one";
    case restart_strategy::one_for_all: return "one_for_all";
    case restart_strategy::rest_for_one: return "rest_for_one";
  }
  return "?";
}

namespace {

caf::error validate_intensity(const std::string& name, const intensity_limits& limits) {
  if (limits.max_restarts < 0)
    return make_error(sup_errc::invalid_flags,
                      fmt::format("supervisor '{}': max_restarts must be >= 0, got {}", name,
                                  limits.max_restarts));
  if (limits.period.count() <= 0)
    return make_error(sup_errc::invalid_flags,
                      fmt::format("supervisor '{}': period must be > 0 ms, got {} ms", name,
                                  limits.period.count()));
  return {};
}

} // namespace

caf::error validate(const supervisor_flags& flags) {
  switch (flags.strategy) {
    case restart_strategy::one_for_one:
    case restart_strategy::one_for_all:
    case restart_strategy::rest_for_one: break;
    default:
      return make_error(sup_errc::invalid_flags,
                        fmt::format("supervisor '{}': unknown strategy", flags.name));
  }
  return validate_intensity(flags.name, flags.intensity);
}

caf::error validate(const dynamic_supervisor_flags& flags) {
  if (flags.max_children == 0)
    return make_error(sup_errc::invalid_flags,
                      fmt::format("dynamic supervisor '{}': max_children must be > 0 "
                                  "(use unlimited_children for no limit)",
                                  flags.name));
  return validate_intensity(flags.name, flags.intensity);
}

} // namespace snakepit::supervision
