// Every demo the runner knows, in the order `run --all` runs them.
#include "demo.hpp"

namespace snakepit::demos {

std::unique_ptr<demo> make_basic_demo();
std::unique_ptr<demo> make_sessions_demo();
std::unique_ptr<demo> make_binary_demo();
std::unique_ptr<demo> make_streaming_demo();
std::unique_ptr<demo> make_concurrency_demo();
std::unique_ptr<demo> make_variables_demo();
std::unique_ptr<demo> make_ml_workflow_demo();
std::unique_ptr<demo> make_execution_modes_demo();
std::unique_ptr<demo> make_errors_demo();
std::unique_ptr<demo> make_supervision_demo();
std::unique_ptr<demo> make_game_sessions_demo();
std::unique_ptr<demo> make_supervision_tree_demo();

std::vector<demo_entry> all_demos() {
  std::vector<demo_factory> factories = {
    make_basic_demo,         make_sessions_demo,   make_binary_demo,
    make_streaming_demo,     make_concurrency_demo, make_variables_demo,
    make_ml_workflow_demo,   make_execution_modes_demo, make_errors_demo,
    make_supervision_demo,   make_game_sessions_demo, make_supervision_tree_demo,
  };
  std::vector<demo_entry> entries;
  for (auto& make : factories) {
    auto d = make();
    entries.push_back({d->name(), d->description(), make});
  }
  return entries;
}

} // namespace snakepit::demos
