#pragma once
// The current incarnation of a restartable child (the pool, the process
// registry, the session store): whoever must reach it holds one of these,
// since a restart replaces the handle. Set by the child's start function.

#include <mutex>
#include <utility>

#include <caf/actor.hpp>

namespace snakepit::detail {

class current_actor {
public:
  void set(caf::actor a) {
    std::lock_guard<std::mutex> guard{mx_};
    actor_ = std::move(a);
  }
  caf::actor get() const {
    std::lock_guard<std::mutex> guard{mx_};
    return actor_;
  }

private:
  mutable std::mutex mx_;
  caf::actor actor_;
};

} // namespace snakepit::detail
