#include "supervision/blocking_calls.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <caf/system_messages.hpp>
#include <fmt/format.h>

#include "supervision/dynamic_supervisor.hpp"
#include "supervision/supervision_error.hpp"
#include "supervision/supervisor.hpp"

namespace snakepit::supervision {

namespace {

caf::error timed_out(const char* what, call_timeout timeout) {
  return make_error(sup_errc::call_timeout,
                    fmt::format("{}: no answer within {} ms", what, timeout.count()));
}

// A request/reply with a deadline that maps CAF's timeout to our typed error.
template <class T, class... Ts>
caf::expected<T> call(caf::actor_system& sys, const caf::actor& dest, call_timeout timeout,
                      const char* what, Ts&&... xs) {
  if (!dest)
    return make_error(sup_errc::not_found, fmt::format("{}: no such actor", what));
  caf::scoped_actor self{sys};
  caf::expected<T> out{caf::error{}};
  self->request(dest, timeout, std::forward<Ts>(xs)...)
    .receive([&](T& value) { out = std::move(value); },
             [&](caf::error& err) {
               out = err == caf::sec::request_timeout ? timed_out(what, timeout) : err;
             });
  return out;
}

// Waits for a freshly spawned supervisor to finish starting its children; if
// it died instead, returns the reason it died with.
caf::expected<caf::actor> await_started(caf::actor_system& sys, const caf::actor& sup,
                                        call_timeout timeout) {
  caf::scoped_actor self{sys};
  self->monitor(sup);
  caf::expected<caf::actor> out{caf::error{}};
  self->request(sup, timeout, await_started_atom::value)
    .receive([&](caf::ok_atom) { out = sup; },
             [&](caf::error& err) {
               if (err == caf::sec::request_timeout)
                 out = timed_out("await_started", timeout);
               else
                 out = err;
             });
  if (out || !(out.error() == caf::sec::request_receiver_down))
    return out;
  // It ended before answering: its down message carries the real reason.
  caf::error reason;
  self->receive([&](caf::down_msg& dm) { reason = dm.reason; },
                caf::after(timeout) >> [&] { reason = timed_out("await_started", timeout); });
  return reason;
}

} // namespace

caf::expected<caf::actor> start_supervisor(caf::actor_system& sys, supervisor_flags flags,
                                           std::vector<child_spec> children,
                                           call_timeout timeout) {
  auto sup = spawn_supervisor(sys, std::move(flags), std::move(children));
  if (!sup)
    return sup.error();
  return await_started(sys, *sup, timeout);
}

caf::expected<caf::actor> start_dynamic_supervisor(caf::actor_system& sys,
                                                   dynamic_supervisor_flags flags,
                                                   call_timeout timeout) {
  auto sup = spawn_dynamic_supervisor(sys, std::move(flags));
  if (!sup)
    return sup.error();
  return await_started(sys, *sup, timeout);
}

caf::expected<caf::actor> start_child(caf::actor_system& sys, const caf::actor& sup,
                                      child_spec spec, call_timeout timeout) {
  return call<caf::actor>(sys, sup, timeout, "start_child", start_child_atom::value,
                          std::move(spec));
}

caf::error terminate_child(caf::actor_system& sys, const caf::actor& sup,
                           const caf::actor& child, call_timeout timeout) {
  auto res = call<caf::ok_atom>(sys, sup, timeout, "terminate_child",
                                terminate_child_atom::value, child);
  return res ? caf::error{} : res.error();
}

caf::expected<std::vector<child_info>> which_children(caf::actor_system& sys,
                                                      const caf::actor& sup,
                                                      call_timeout timeout) {
  return call<std::vector<child_info>>(sys, sup, timeout, "which_children",
                                       which_children_atom::value);
}

caf::expected<child_counts> count_children(caf::actor_system& sys, const caf::actor& sup,
                                           call_timeout timeout) {
  return call<child_counts>(sys, sup, timeout, "count_children", count_children_atom::value);
}

caf::expected<ended> stop_and_wait(caf::actor_system& sys, const caf::actor& who,
                                        call_timeout timeout) {
  if (!who)
    return make_error(sup_errc::not_found, "stop_and_wait: no such actor");
  caf::scoped_actor self{sys};
  self->monitor(who);
  self->send_exit(who, caf::exit_reason::user_shutdown);
  bool down = false;
  ended out;
  self->receive([&](caf::down_msg& dm) {
                  down = true;
                  out.reason = dm.reason;
                },
                caf::after(timeout) >> [] {});
  if (!down)
    return timed_out("stop_and_wait", timeout);
  return out;
}

} // namespace snakepit::supervision
