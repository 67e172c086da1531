#include "actors/telemetry.hpp"

#include <fmt/format.h>

namespace snakepit {

std::string to_string(const telemetry_event& ev) {
  std::string out = ev.name;
  for (auto& [k, v] : ev.measurements)
    out += fmt::format(" {}={}", k, v);
  for (auto& [k, v] : ev.metadata)
    out += fmt::format(" {}={}", k, v);
  return out;
}

} // namespace snakepit
