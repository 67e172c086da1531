#pragma once
// The demo interface the runner drives. Each demo has a name, a one-line
// description and ordered steps; the runner prints each step with ✓/✗ and
// its time. (The full resource-tracking runner comes with the showcase.)

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace snakepit::demos {

struct step_result {
  bool ok = true;
  std::string detail;  // shown under the step, e.g. what was observed
};

struct demo_step {
  std::string name;
  std::function<step_result()> run;
};

class demo {
public:
  virtual ~demo() = default;
  virtual std::string name() const = 0;
  virtual std::string description() const = 0;
  /// Builds the steps; state shared by the steps lives in the demo object.
  virtual std::vector<demo_step> steps() = 0;
  /// Always called after the steps, whether they passed or not.
  virtual step_result cleanup() = 0;
};

using demo_factory = std::function<std::unique_ptr<demo>()>;

struct demo_entry {
  std::string name;
  std::string description;
  demo_factory make;
};

std::vector<demo_entry> all_demos();

} // namespace snakepit::demos
