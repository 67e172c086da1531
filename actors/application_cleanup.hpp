#pragma once
// application_cleanup: the emergency handler of the tree. Started first and
// stopped last (first child of the rest_for_one app supervisor), it does
// nothing while the runtime runs. When it is stopped, every worker has
// already been stopped by its own supervisor; it then looks for processes of
// this run still alive. In the normal case it finds none and reports zero.
// Anything found is a supervision bug: it is logged, its process group
// killed, and counted.

#include <cstddef>
#include <functional>
#include <string>

#include "actors/worker.hpp"
#include "supervision/child_spec.hpp"

namespace snakepit::detail {

struct cleanup_counts {
  std::size_t orphans_found = 0;
  std::size_t orphans_killed = 0;
};

struct cleanup_options {
  std::string run_id;
  log_function log;
  /// Called once, when the handler stops, with what it found.
  std::function<void(const cleanup_counts&)> report;
};

/// A worker-kind child spec; the actor runs on its own thread (detached), so
/// its scan of /proc never holds a scheduler thread.
supervision::child_spec application_cleanup_child(cleanup_options options);

} // namespace snakepit::detail
