#include "actors/process_registry_actor.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>

#include "transport/process_registry.hpp"

namespace snakepit::detail {

namespace {

using namespace std::chrono_literals;

caf::behavior registry_actor(caf::event_based_actor* self, registry_actor_options o) {
  auto warn = [o](const std::string& what, const transport::registry_error& e) {
    if (o.log)
      o.log(log_level::warning, fmt::format("process registry: {}: {}", what,
                                            transport::to_string(e)));
  };
  (void) self;
  return {
    [o, warn](registry_reserve_atom, const std::string& worker_id,
              const std::string& command_line) -> caf::result<int64_t> {
      if (auto r = o.registry->reserve(o.run_id, worker_id, command_line))
        return *r;
      else {
        warn("reserve for " + worker_id, r.error());
        // The worker still spawns (the process is then only protected by the
        // death signal, the watchdog and application_cleanup).
        return caf::make_error(caf::sec::runtime_error, transport::to_string(r.error()));
      }
    },
    [o, warn](registry_complete_atom, int64_t row, int pid, int pgid, uint64_t start_ticks) {
      if (auto r = o.registry->complete(row, pid, pgid, start_ticks); !r)
        warn(fmt::format("complete row {} (pid {})", row, pid), r.error());
    },
    [o, warn](registry_exited_atom, int64_t row, const std::string& description) {
      if (auto r = o.registry->mark_exited(row, description); !r)
        warn(fmt::format("mark row {} exited", row), r.error());
    },
  };
}

} // namespace

supervision::child_spec process_registry_child(registry_actor_options options) {
  supervision::child_spec spec;
  spec.id = "process_registry";
  spec.restart = supervision::restart_type::permanent;
  spec.shutdown = supervision::shutdown_spec::timeout(5s);
  spec.start = [options = std::move(options)](caf::actor_system& sys)
    -> caf::expected<caf::actor> { return sys.spawn<caf::detached>(registry_actor, options); };
  return spec;
}

} // namespace snakepit::detail
