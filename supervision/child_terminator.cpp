#include "supervision/child_terminator.hpp"

#include <caf/exit_reason.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/system_messages.hpp>

#include "supervision/exit_class.hpp"
#include "supervision/supervision_messages.hpp"

namespace snakepit::supervision {

void child_terminator::stop(const caf::actor& child, const shutdown_spec& spec,
                            done_function done) {
  auto token = next_token_++;
  auto [it, inserted] = pending_.emplace(child.address(),
                                         pending_stop{child, spec, token, false, std::move(done)});
  if (!inserted)
    return; // already being stopped; the first request's continuation wins
  switch (spec.kind()) {
    case shutdown_spec::mode::brutal_kill:
      it->second.killed = true;
      self_->send_exit(child, caf::exit_reason::kill);
      break;
    case shutdown_spec::mode::timeout:
      self_->send_exit(child, caf::exit_reason::user_shutdown);
      self_->delayed_send(caf::actor_cast<caf::actor>(self_), spec.timeout_value(),
                          shutdown_timer_atom::value, token);
      break;
    case shutdown_spec::mode::infinity:
      self_->send_exit(child, caf::exit_reason::user_shutdown);
      break;
  }
}

bool child_terminator::on_down(const caf::down_msg& dm) {
  auto it = pending_.find(dm.source);
  if (it == pending_.end())
    return false;
  auto stop = std::move(it->second);
  pending_.erase(it);
  stop_result result;
  result.reason = dm.reason;
  auto cls = classify(dm.reason);
  bool brutal = stop.spec.kind() == shutdown_spec::mode::brutal_kill;
  result.killed_after_timeout = stop.killed && !brutal && cls == exit_class::killed;
  // OTP: a brutally killed child must die `killed`, any other one `shutdown`.
  result.as_expected = brutal ? cls == exit_class::killed : cls == exit_class::shutdown;
  stop.done(result);
  return true;
}

void child_terminator::on_timer(uint64_t token) {
  for (auto& [addr, stop] : pending_) {
    if (stop.token == token && !stop.killed) {
      stop.killed = true;
      self_->send_exit(stop.child, caf::exit_reason::kill);
      return;
    }
  }
  // A stale timer: that child stopped in time.
}

} // namespace snakepit::supervision
