// Every showcase demo runs clean in quick mode: its steps pass, it releases
// what it tracked, and the global tracker finds nothing left behind.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "demo.hpp"
#include "runner.hpp"

using namespace snakepit::demos;

namespace {

demo_outcome run_quick(const std::string& name) {
  for (auto& entry : all_demos()) {
    if (entry.name != name)
      continue;
    run_options options;
    options.quick = true;
    runner r(options);
    auto d = entry.make();
    return r.run(*d);
  }
  FAIL("no demo named ", name);
  return {};
}

void check_clean(const demo_outcome& o) {
  std::string why = "demo " + o.name;
  for (auto& s : o.steps)
    if (s.outcome == step_record::status::failed)
      why += "; step " + s.name + ": " + s.failure;
  for (auto& l : o.leaks)
    why += "; leak " + l.kind + ": " + l.what;
  CHECK_MESSAGE(o.passed, why);
  for (auto& r : o.released)
    CHECK_MESSAGE(r.ok, r.kind, " ", r.id, ": ", r.error);
  CHECK(o.leaks.empty());
  CHECK(o.failed_step == "");
  CHECK(o.passed);
  for (auto& s : o.steps)
    CHECK_MESSAGE(s.outcome == step_record::status::passed, s.name, ": ", s.failure);
}

} // namespace

TEST_CASE("the showcase lists every demo of the issue, each with steps") {
  std::vector<std::string> names;
  for (auto& e : all_demos()) {
    names.push_back(e.name);
    CHECK_FALSE(e.make()->steps().empty());
    CHECK_FALSE(e.description.empty());
  }
  for (auto* expected : {"basic", "sessions", "binary", "streaming", "concurrency", "variables",
                         "ml_workflow", "execution_modes", "errors", "supervision",
                         "game_sessions", "supervision_tree"})
    CHECK_MESSAGE(std::find(names.begin(), names.end(), expected) != names.end(), expected);
}

#define SHOWCASE_DEMO_TEST(NAME) \
  TEST_CASE("demo " NAME " runs clean in quick mode") { check_clean(run_quick(NAME)); }

SHOWCASE_DEMO_TEST("basic")
SHOWCASE_DEMO_TEST("sessions")
SHOWCASE_DEMO_TEST("binary")
SHOWCASE_DEMO_TEST("streaming")
SHOWCASE_DEMO_TEST("concurrency")
SHOWCASE_DEMO_TEST("variables")
SHOWCASE_DEMO_TEST("ml_workflow")
SHOWCASE_DEMO_TEST("execution_modes")
SHOWCASE_DEMO_TEST("errors")
SHOWCASE_DEMO_TEST("supervision")
SHOWCASE_DEMO_TEST("game_sessions")
SHOWCASE_DEMO_TEST("supervision_tree")
