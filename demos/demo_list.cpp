// Every demo the runner knows, in the order `run --all` runs them.
#include "demo.hpp"

namespace snakepit::demos {

std::unique_ptr<demo> make_supervision_demo();
std::unique_ptr<demo> make_basic_demo();

std::vector<demo_entry> all_demos() {
  return {
    {"basic", "Python workers over gRPC: calls, typed values, errors, streams, a crash",
     make_basic_demo},
    {"supervision", "OTP supervision on CAF: restarts, starters, escalation, ordered shutdown",
     make_supervision_demo},
  };
}

} // namespace snakepit::demos
