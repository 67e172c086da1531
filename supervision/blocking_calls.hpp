#pragma once
// Blocking calls into supervision actors for host code outside the actor
// system (main(), tests on the real scheduler, demos). Each call has a
// deadline and returns a typed error (sup_errc::call_timeout) when it passes.
// Never call these from inside an actor: they block the calling thread.

#include <chrono>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "supervision/child_spec.hpp"
#include "supervision/supervision_messages.hpp"
#include "supervision/supervisor_flags.hpp"

namespace snakepit::supervision {

using call_timeout = std::chrono::milliseconds;
inline constexpr call_timeout default_call_timeout{5000};

/// OTP's start_link: spawns a static supervisor and returns once every child
/// has started, or the start error (validation or start_failed).
caf::expected<caf::actor> start_supervisor(caf::actor_system& sys, supervisor_flags flags,
                                           std::vector<child_spec> children,
                                           call_timeout timeout = default_call_timeout);

caf::expected<caf::actor> start_dynamic_supervisor(caf::actor_system& sys,
                                                   dynamic_supervisor_flags flags,
                                                   call_timeout timeout = default_call_timeout);

caf::expected<caf::actor> start_child(caf::actor_system& sys, const caf::actor& sup,
                                      child_spec spec,
                                      call_timeout timeout = default_call_timeout);

caf::error terminate_child(caf::actor_system& sys, const caf::actor& sup,
                           const caf::actor& child,
                           call_timeout timeout = default_call_timeout);

caf::expected<std::vector<child_info>> which_children(caf::actor_system& sys,
                                                      const caf::actor& sup,
                                                      call_timeout timeout = default_call_timeout);

caf::expected<child_counts> count_children(caf::actor_system& sys, const caf::actor& sup,
                                           call_timeout timeout = default_call_timeout);

/// How an actor ended.
struct ended {
  caf::error reason;
};

/// Asks `who` to stop (exit reason user_shutdown) and waits for it to be
/// gone; returns the reason it ended with, or call_timeout.
caf::expected<ended> stop_and_wait(caf::actor_system& sys, const caf::actor& who,
                                        call_timeout timeout = default_call_timeout);

} // namespace snakepit::supervision
