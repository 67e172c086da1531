// Starts a supervisor through the installed headers and stops it again.
#include <cstdio>

#include <caf/all.hpp>
#include <snakepit/supervision/blocking_calls.hpp>
#include <snakepit/supervision/supervision_error.hpp>

namespace sv = snakepit::supervision;

int main() {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  sv::child_spec child;
  child.id = "child";
  child.start = [](caf::actor_system& s) -> caf::expected<caf::actor> {
    return s.spawn([]() -> caf::behavior { return {[](int x) { return x; }}; });
  };
  auto sup = sv::start_supervisor(sys, {}, {child});
  if (!sup) {
    std::printf("start failed: %s\n", sv::describe(sup.error()).c_str());
    return 1;
  }
  auto ended = sv::stop_and_wait(sys, *sup);
  if (!ended || ended->reason != caf::exit_reason::user_shutdown) {
    std::printf("stop failed\n");
    return 1;
  }
  std::printf("consumer: supervisor started and stopped\n");
  return 0;
}
