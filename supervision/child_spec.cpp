#include "supervision/child_spec.hpp"

#include <fmt/format.h>

#include "supervision/supervision_error.hpp"

namespace snakepit::supervision {

std::string to_string(const shutdown_spec& s) {
  switch (s.kind()) {
    case shutdown_spec::mode::brutal_kill: return "brutal_kill";
    case shutdown_spec::mode::infinity: return "infinity";
    case shutdown_spec::mode::timeout: return fmt::format("{} ms", s.timeout_value().count());
  }
  return "?";
}

const char* to_string(restart_type r) {
  switch (r) {
    case restart_type::permanent: return "permanent";
    case restart_type::transient: return "transient";
    case restart_type::temporary: return "temporary";
  }
  return "?";
}

const char* to_string(child_kind k) {
  return k == child_kind::supervisor ? "supervisor" : "worker";
}

caf::error validate(const child_spec& spec, bool require_id) {
  auto invalid = [&](std::string_view rule) {
    return make_error(sup_errc::invalid_child_spec,
                      fmt::format("child '{}': {}", spec.id, rule));
  };
  if (require_id && spec.id.empty())
    return invalid("id must not be empty");
  if (!spec.start)
    return invalid("start function is missing");
  switch (spec.restart) {
    case restart_type::permanent:
    case restart_type::transient:
    case restart_type::temporary: break;
    default: return invalid("restart type is not permanent, transient or temporary");
  }
  switch (spec.kind) {
    case child_kind::worker:
    case child_kind::supervisor: break;
    default: return invalid("kind is not worker or supervisor");
  }
  if (spec.acknowledges_start && spec.start_timeout.count() <= 0)
    return invalid("start_timeout must be > 0 ms");
  if (spec.shutdown) {
    switch (spec.shutdown->kind()) {
      case shutdown_spec::mode::brutal_kill:
      case shutdown_spec::mode::infinity: break;
      case shutdown_spec::mode::timeout:
        if (spec.shutdown->timeout_value().count() <= 0)
          return invalid("shutdown timeout must be > 0 ms (use brutal_kill to kill at once)");
        break;
      default: return invalid("shutdown mode is not brutal_kill, timeout or infinity");
    }
  }
  return {};
}

} // namespace snakepit::supervision
