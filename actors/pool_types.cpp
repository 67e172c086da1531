#include "actors/pool_types.hpp"

namespace snakepit {

const char* to_string(affinity_mode m) {
  switch (m) {
    case affinity_mode::hint: return "hint";
    case affinity_mode::strict_queue: return "strict_queue";
    case affinity_mode::strict_fail_fast: return "strict_fail_fast";
  }
  return "?";
}

const char* to_string(worker_state s) {
  switch (s) {
    case worker_state::starting: return "starting";
    case worker_state::ready: return "ready";
    case worker_state::busy: return "busy";
    case worker_state::stopping: return "stopping";
  }
  return "?";
}

} // namespace snakepit
