#pragma once
// Options of the static and the dynamic supervisor, validated before start.

#include <cstddef>
#include <functional>
#include <limits>
#include <string>

#include <caf/error.hpp>

#include "supervision/restart_intensity.hpp"
#include "supervision/supervision_event.hpp"

namespace snakepit::supervision {

/// Which children a crash takes down with it (OTP's strategies).
enum class restart_strategy {
  one_for_one,   // only the crashed child is restarted
  one_for_all,   // every child is stopped (reverse order) and all are restarted
  rest_for_one,  // the children started after it are stopped and restarted with it
};

const char* to_string(restart_strategy s);

struct supervisor_flags {
  std::string name = "supervisor";  // appears in every event it reports
  restart_strategy strategy = restart_strategy::one_for_one;
  intensity_limits intensity{};
  event_observer observer;          // optional; called on the supervisor's thread
};

inline constexpr std::size_t unlimited_children = std::numeric_limits<std::size_t>::max();

struct dynamic_supervisor_flags {
  std::string name = "dynamic_supervisor";
  intensity_limits intensity{};
  std::size_t max_children = unlimited_children;  // restarting children count too
  event_observer observer;
};

caf::error validate(const supervisor_flags& flags);
caf::error validate(const dynamic_supervisor_flags& flags);

} // namespace snakepit::supervision
