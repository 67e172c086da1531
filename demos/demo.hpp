#pragma once
// The Demo interface. A demo has a description and ordered steps; the runner
// calls run_step for each in turn with one context, which carries the
// state from step to step and tracks every resource the demo creates through
// it. A demo keeps no state of its own: whatever a later step needs goes
// into ctx.state() (or is read back with ctx.result_of(step)).
//
//   class hello_demo : public demo {
//     std::string name() const override { return "hello"; }
//     std::string description() const override { return "says hello"; }
//     std::vector<step_info> steps() const override {
//       return {{"start", "start the runtime"}, {"ping", "ping a worker"}};
//     }
//     step_result run_step(const std::string& step, context& ctx) override {
//       if (step == "start") { ctx.start_runtime(); return step_result::success(); }
//       return step_result::success(ctx.value(ctx.rt().execute("ping"), "ping"));
//     }
//   };

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/error.hpp"

namespace snakepit::demos {

using json = nlohmann::json;

class context;

struct step_info {
  std::string name;         // what run_step receives
  std::string description;  // what the runner prints
};

/// A step's outcome: a value later steps may read (ctx.result_of), or why it failed.
class step_result {
public:
  static step_result success(json value = nullptr) { return step_result{true, std::move(value), {}}; }
  static step_result failure(std::string why) { return step_result{false, nullptr, std::move(why)}; }
  /// "what: <error>", e.g. "init_session: python_exception: ValueError: ..."
  static step_result failure(const std::string& what, const snakepit::error& e) {
    return failure(what + ": " + e.to_string());
  }

  bool passed() const { return passed_; }
  const json& value() const { return value_; }
  const std::string& reason() const { return reason_; }

private:
  step_result(bool passed, json value, std::string reason)
    : passed_(passed), value_(std::move(value)), reason_(std::move(reason)) {}
  bool passed_;
  json value_;
  std::string reason_;
};

class demo {
public:
  virtual ~demo() = default;
  virtual std::string name() const = 0;
  virtual std::string description() const = 0;
  virtual std::vector<step_info> steps() const = 0;
  /// Runs one step. Failing (a failure result or any exception) ends the
  /// demo; the runner then releases everything the context tracked.
  virtual step_result run_step(const std::string& step, context& ctx) = 0;
  /// A demo meant to fail (tests of the runner): its failure does not make
  /// the run's exit status non-zero.
  virtual bool expected_to_fail() const { return false; }
};

using demo_factory = std::function<std::unique_ptr<demo>()>;

struct demo_entry {
  std::string name;
  std::string description;
  demo_factory make;
};

/// The showcase, in the order `run --all` runs it.
std::vector<demo_entry> all_demos();

} // namespace snakepit::demos
