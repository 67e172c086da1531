#pragma once
// The global cleanup tracker: after each demo has released what it tracked,
// checks with independent evidence that nothing it created survives — no
// session in its runtimes, no file in its scratch directory, no extra actor
// in the runner's actor system, no process carrying one of its run ids and no
// new child of this process — and removes what it finds, so one leaking demo
// does not spoil the next. Every finding is a leak, reported as a failure of
// that demo.

#include <set>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "context.hpp"

namespace snakepit::demos {

struct leak_record {
  std::string kind;  // session, file, actor, process, or a tracked resource's kind
  std::string what;
};

class global_tracker {
public:
  explicit global_tracker(caf::actor_system& actors);

  /// Baselines before a demo starts: running actors, this process's children.
  void begin_demo();
  /// After the demo's resources are released, its runtimes still up.
  std::vector<leak_record> check_before_shutdown(context::internals& demo,
                                                 const std::string& scratch_dir);
  /// After the demo's runtimes were shut down.
  std::vector<leak_record> check_after_shutdown(context::internals& demo);

  std::size_t demos_checked() const { return demos_checked_; }
  std::size_t leaks_found() const { return leaks_found_; }

private:
  caf::actor_system& actors_;
  std::size_t actors_before_ = 0;
  std::set<int> children_before_;
  std::size_t demos_checked_ = 0;
  std::size_t leaks_found_ = 0;
};

} // namespace snakepit::demos
