#pragma once
// OTP's way of stopping one child, made asynchronous for an event-based actor:
// (the child is already monitored) → send `shutdown` → wait for its down
// message up to the timeout → kill → wait for the down message.
// Several stops may be pending at once (the dynamic supervisor stops all its
// children concurrently); a static supervisor runs them one after another.

#include <cstdint>
#include <functional>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>

#include "supervision/child_spec.hpp"

namespace snakepit::supervision {

struct stop_result {
  caf::error reason;                  // the reason the child died with
  bool killed_after_timeout = false;  // it ignored shutdown and was killed
  bool as_expected = true;            // shutdown (or kill, for brutal_kill) and not killed late
};

class child_terminator {
public:
  using done_function = std::function<void(const stop_result&)>;

  /// `self` must route its down messages to on_down() and its
  /// (shutdown_timer_atom, token) messages to on_timer() before anything else.
  explicit child_terminator(caf::event_based_actor* self) : self_(self) {}

  /// Starts stopping `child` (which the owner already monitors). `done` runs
  /// on the owner's thread once the child's down message has arrived.
  void stop(const caf::actor& child, const shutdown_spec& spec, done_function done);

  /// Consumes the down message if it belongs to a pending stop.
  bool on_down(const caf::down_msg& dm);

  void on_timer(uint64_t token);

  bool stopping(const caf::actor_addr& who) const { return pending_.count(who) > 0; }
  std::size_t pending() const { return pending_.size(); }

private:
  struct pending_stop {
    caf::actor child;
    shutdown_spec spec;
    uint64_t token;
    bool killed = false;
    done_function done;
  };

  caf::event_based_actor* self_;
  uint64_t next_token_ = 1;
  std::unordered_map<caf::actor_addr, pending_stop> pending_;
};

} // namespace snakepit::supervision
