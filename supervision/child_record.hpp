#pragma once
// What a supervisor (static or dynamic) keeps about one child, and the two
// things both report about it: its row in which_children / count_children,
// and the events it sends to the observer.

#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/error.hpp>

#include "supervision/child_spec.hpp"
#include "supervision/supervision_event.hpp"
#include "supervision/supervision_messages.hpp"

namespace snakepit::supervision {

struct child_record {
  explicit child_record(child_spec s) : spec(std::move(s)) {}

  child_spec spec;
  caf::actor handle;        // valid while running
  caf::actor pending;       // spawned, has not acknowledged its start yet
  uint64_t instance = 0;    // bumped at every start; stale exit events are ignored
  bool restarting = false;  // ended, due for a restart that has not succeeded yet
  int restarts = 0;

  child_info info() const {
    return child_info{spec.id, handle, restarting, spec.kind, spec.restart, restarts};
  }

  void count_into(child_counts& n) const {
    ++n.specs;
    if (handle)
      ++n.active;
    if (spec.kind == child_kind::supervisor)
      ++n.supervisors;
    else
      ++n.workers;
  }
};

/// Builds the event and hands it to the observer, if there is one.
inline void report_event(const event_observer& observer, const std::string& supervisor,
                         event_kind kind, const child_record* c, caf::error reason) {
  if (!observer)
    return;
  supervision_event ev{kind, supervisor, {}, 0, std::move(reason), exit_class::normal};
  ev.reason_class = classify(ev.reason);
  if (c) {
    ev.child_id = c->spec.id;
    ev.child_actor = c->handle ? c->handle.id() : 0;
  }
  observer(ev);
}

} // namespace snakepit::supervision
