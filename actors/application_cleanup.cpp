#include "actors/application_cleanup.hpp"

#include <signal.h>

#include <cerrno>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "transport/process_registry_proc.hpp"

namespace snakepit::detail {

namespace {

using namespace std::chrono_literals;

cleanup_counts sweep_run(const cleanup_options& o) {
  cleanup_counts counts;
  for (auto pid : transport::live_pids_with_run_id(o.run_id)) {
    ++counts.orphans_found;
    if (o.log)
      o.log(log_level::error,
            fmt::format("application cleanup: process {} of run {} outlived its worker "
                        "(a supervision bug); killing it",
                        pid, o.run_id));
    // Ours lead their own group: take the group (grandchildren) with it. A
    // process already gone (ESRCH) is the one error expected here.
    if (::kill(-pid, SIGKILL) == 0 || ::kill(pid, SIGKILL) == 0 || errno == ESRCH)
      ++counts.orphans_killed;
    else if (o.log)
      o.log(log_level::error, fmt::format("application cleanup: cannot kill {}: {}", pid,
                                          std::strerror(errno)));
  }
  return counts;
}

caf::behavior cleanup_actor(caf::event_based_actor* self, cleanup_options o) {
  self->set_exit_handler([self, o](caf::exit_msg& em) {
    if (!em.reason || em.reason == caf::exit_reason::normal)
      return;
    auto counts = sweep_run(o);
    if (o.report)
      o.report(counts);
    self->quit(em.reason);
  });
  return {[](caf::ok_atom) { /* nothing to do while the runtime runs */ }};
}

} // namespace

supervision::child_spec application_cleanup_child(cleanup_options options) {
  supervision::child_spec spec;
  spec.id = "application_cleanup";
  spec.restart = supervision::restart_type::permanent;
  spec.shutdown = supervision::shutdown_spec::timeout(10s);
  spec.start = [options = std::move(options)](caf::actor_system& sys)
    -> caf::expected<caf::actor> { return sys.spawn<caf::detached>(cleanup_actor, options); };
  return spec;
}

} // namespace snakepit::detail
