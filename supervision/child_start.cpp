#include "supervision/child_start.hpp"

#include <exception>

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>
#include <fmt/format.h>

#include "supervision/supervision_error.hpp"
#include "supervision/supervision_messages.hpp"

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

caf::actor start_child_async(caf::event_based_actor* self, const child_spec& spec,
                             std::function<void(caf::expected<caf::actor>)> done) {
  auto started = start_child_actor(self->system(), spec);
  if (!started) {
    done(started.error());
    return {};
  }
  auto child = *started;
  if (!spec.acknowledges_start) {
    done(child);
    return {};
  }
  auto timeout = spec.start_timeout;
  self->request(child, timeout, await_started_atom::value)
    .then([done, child](caf::ok_atom) { done(child); },
          [self, done, child, timeout, id = spec.id](caf::error& err) {
            self->send_exit(child, caf::exit_reason::kill);
            if (err == caf::sec::request_timeout)
              done(make_error(sup_errc::start_failed,
                              fmt::format("child '{}' did not finish starting within {} ms", id,
                                          timeout.count())));
            else if (err == caf::sec::request_receiver_down)
              done(make_error(sup_errc::start_failed,
                              fmt::format("child '{}' ended before it finished starting", id)));
            else
              done(std::move(err));
          });
  return child;
}

} // namespace snakepit::supervision
