#pragma once
// The starter: a permanent wrapper supervisor of exactly one child, placed
// between a dynamic supervisor and a worker (DynamicSupervisor → Starter → Worker).
//
// Why it exists (decision record; revisit when the pool issue has landed):
//  * Each worker gets its own restart intensity. A dynamic supervisor has one
//    intensity for all its children, so one worker that crash-loops (a Python
//    module that fails at import, a port that stays busy) would use up the
//    shared budget and take every healthy worker down with it. Behind a
//    starter, the crash loop exhausts only that starter's budget; the dynamic
//    supervisor then sees one starter exit `shutdown` and applies its own
//    rules to that single slot.
//  * The worker's slot survives its restarts: the starter is the stable actor
//    the pool and registries can hold while the worker behind it comes and
//    goes, and the place where per-slot concerns live (waiting for the old OS
//    process's resources before the new start, grouped resources of a worker).
//  * The pool does not restart workers: restart policy stays in supervision,
//    the pool only observes.
// What removing it would take: per-child restart intensity in the dynamic
// supervisor, a restart gate in the child spec (wait for resources before the
// next start), and the pool monitoring workers directly. Cost of keeping it:
// one extra actor (a few hundred bytes) and one extra hop at shutdown.

#include <string>

#include "supervision/child_spec.hpp"
#include "supervision/restart_intensity.hpp"
#include "supervision/supervision_event.hpp"

namespace snakepit::supervision {

struct starter_options {
  intensity_limits intensity{};  // the wrapped child's own restart budget
  event_observer observer;       // events of the starter (its child's restarts)
};

/// A permanent, kind-supervisor child spec whose start function spawns a
/// one_for_one supervisor named "starter:<id>" with `child` as its only child.
child_spec starter_child(std::string id, child_spec child, starter_options options = {});

} // namespace snakepit::supervision
