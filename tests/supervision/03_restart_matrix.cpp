// OTP's matrix: restart type × exit reason × strategy. Children a, b, c start
// in that order; b has the restart type under test and ends with the reason
// under test; a and c are permanent.
#include <doctest/doctest.h>

#include "harness.hpp"
#include "supervision/supervisor.hpp"

using namespace snakepit::test;
using sv::restart_strategy;
using sv::restart_type;

namespace {

enum class outcome { restarted, not_restarted };

void check_rule(restart_strategy strategy, restart_type restart, how reason, outcome expected) {
  test_system t;
  auto log = std::make_shared<life_log>();
  sv::supervisor_flags flags;
  flags.strategy = strategy;
  flags.observer = t.observer();
  auto sup = sv::spawn_supervisor(
    t.sys, flags,
    {test_child_spec(log, "a"), test_child_spec(log, "b", restart), test_child_spec(log, "c")});
  REQUIRE(sup);
  t.run();
  REQUIRE(log->starts == std::vector<std::string>{"a", "b", "c"});
  auto watch = t.watch_actor(*sup);

  t.make_exit(log->latest["b"], reason);

  // The exit is reported with its OTP class, whatever happens next.
  REQUIRE(t.count(sv::event_kind::child_exited, "b") == 1);
  for (auto& ev : t.events)
    if (ev.kind == sv::event_kind::child_exited)
      CHECK(std::string{sv::to_string(ev.reason_class)}
            == (reason == how::kill ? "killed" : to_string(reason)));

  CHECK_FALSE(watch.ended());
  auto children = t.children_of(*sup);
  bool restarted = expected == outcome::restarted;
  CHECK(log->start_count("b") == (restarted ? 2 : 1));
  CHECK(log->alive["b"] == (restarted ? 1 : 0));
  if (restarted) {
    REQUIRE(children.size() == 3);
    CHECK(children[1].restarts == 1);
    int sibling_restarts_a = strategy == restart_strategy::one_for_all ? 1 : 0;
    int sibling_restarts_c = strategy == restart_strategy::one_for_one ? 0 : 1;
    CHECK(log->start_count("a") == 1 + sibling_restarts_a);
    CHECK(log->start_count("c") == 1 + sibling_restarts_c);
    // Siblings are stopped in reverse start order before the group restarts.
    std::vector<std::string> stops{"b"};
    if (strategy != restart_strategy::one_for_one)
      stops.push_back("c");
    if (strategy == restart_strategy::one_for_all)
      stops.push_back("a");
    CHECK(log->stops == stops);
    CHECK(t.count(sv::event_kind::child_restarted) == 1 + sibling_restarts_a + sibling_restarts_c);
  } else {
    // Not restarted: siblings untouched; a temporary child's spec is dropped,
    // a transient one's is kept (not running).
    CHECK(log->start_count("a") == 1);
    CHECK(log->start_count("c") == 1);
    CHECK(log->stops == std::vector<std::string>{"b"});
    if (restart == restart_type::temporary) {
      REQUIRE(children.size() == 2);
      CHECK(children[0].id == "a");
      CHECK(children[1].id == "c");
    } else {
      REQUIRE(children.size() == 3);
      CHECK(children[1].id == "b");
      CHECK_FALSE(children[1].handle);
      CHECK_FALSE(children[1].restarting);
    }
    CHECK(t.count(sv::event_kind::child_restarted) == 0);
  }
  CHECK(log->alive["a"] == 1);
  CHECK(log->alive["c"] == 1);
}

} // namespace

#define RULE(strategy, restart, reason, expected)                                          \
  TEST_CASE(#strategy "/" #restart "_child_exiting_" #reason "_is_" #expected) {          \
    check_rule(restart_strategy::strategy, restart_type::restart, how::reason,            \
               outcome::expected);                                                         \
  }

#define RULES_FOR(strategy)                                  \
  RULE(strategy, permanent, normal, restarted)               \
  RULE(strategy, permanent, shutdown, restarted)             \
  RULE(strategy, permanent, abnormal, restarted)             \
  RULE(strategy, permanent, kill, restarted)                 \
  RULE(strategy, transient, normal, not_restarted)           \
  RULE(strategy, transient, shutdown, not_restarted)         \
  RULE(strategy, transient, abnormal, restarted)             \
  RULE(strategy, transient, kill, restarted)                 \
  RULE(strategy, temporary, normal, not_restarted)           \
  RULE(strategy, temporary, shutdown, not_restarted)         \
  RULE(strategy, temporary, abnormal, not_restarted)         \
  RULE(strategy, temporary, kill, not_restarted)

RULES_FOR(one_for_one)
RULES_FOR(one_for_all)
RULES_FOR(rest_for_one)
