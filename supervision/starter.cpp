#include "supervision/starter.hpp"

#include "supervision/supervisor.hpp"

namespace snakepit::supervision {

child_spec starter_child(std::string id, child_spec child, starter_options options) {
  supervisor_flags flags;
  flags.name = "starter:" + id;
  flags.strategy = restart_strategy::one_for_one;
  flags.intensity = options.intensity;
  flags.observer = std::move(options.observer);
  return supervisor_child(std::move(id), std::move(flags), {std::move(child)},
                          restart_type::permanent);
}

} // namespace snakepit::supervision
