// The static supervisor: start order, start failures, intensity and its
// sliding window, escalation, shutdown order and shutdown specs.
#include <doctest/doctest.h>

#include "harness.hpp"
#include "supervision/supervisor.hpp"

using namespace snakepit::test;
using sv::event_kind;
using sv::restart_strategy;
using sv::restart_type;
using sv::sup_errc;

namespace {

std::vector<sv::child_spec> abc(const std::shared_ptr<life_log>& log) {
  return {test_child_spec(log, "a"), test_child_spec(log, "b"), test_child_spec(log, "c")};
}

sv::supervisor_flags flags_with(test_system& t, int max_restarts = 3,
                                std::chrono::milliseconds period = 5000ms,
                                restart_strategy strategy = restart_strategy::one_for_one) {
  sv::supervisor_flags f;
  f.strategy = strategy;
  f.intensity = {max_restarts, period};
  f.observer = t.observer();
  return f;
}

sv::child_spec failing_spec(std::string id) {
  sv::child_spec spec;
  spec.id = std::move(id);
  spec.start = [](caf::actor_system&) -> caf::expected<caf::actor> {
    return caf::make_error(caf::sec::runtime_error, "no database");
  };
  return spec;
}

} // namespace

TEST_CASE("children_start_in_order_and_stop_in_reverse_order") {
  test_system t;
  auto log = std::make_shared<life_log>();
  auto sup = sv::spawn_supervisor(t.sys, flags_with(t), abc(log));
  REQUIRE(sup);
  t.run();
  CHECK(log->starts == std::vector<std::string>{"a", "b", "c"});
  auto watch = t.watch_actor(*sup);
  caf::anon_send_exit(*sup, caf::exit_reason::user_shutdown);
  t.run();
  CHECK(log->stops == std::vector<std::string>{"c", "b", "a"});
  REQUIRE(watch.ended());
  CHECK(watch.reason() == caf::exit_reason::user_shutdown);
  CHECK(log->alive_total() == 0);
  CHECK(t.count(event_kind::supervisor_stopped) == 1);
  CHECK(t.count(event_kind::shutdown_error) == 0);
}

TEST_CASE("a_start_failure_stops_the_children_already_started_and_reports_the_error") {
  test_system t;
  auto log = std::make_shared<life_log>();
  auto sup = sv::spawn_supervisor(
    t.sys, flags_with(t), {test_child_spec(log, "a"), test_child_spec(log, "b"),
                           failing_spec("db"), test_child_spec(log, "c")});
  REQUIRE(sup);
  auto watch = t.watch_actor(*sup);
  auto answer = t.ask<caf::ok_atom>(*sup, sv::await_started_atom::value);
  t.run();
  CHECK(log->starts == std::vector<std::string>{"a", "b"});  // c never started
  CHECK(log->stops == std::vector<std::string>{"b", "a"});
  REQUIRE(watch.ended());
  CHECK(sv::is(watch.reason(), sup_errc::start_failed));
  CHECK(sv::describe(watch.reason()).find("child 'db' failed to start: ") != std::string::npos);
  CHECK(sv::describe(watch.reason()).find("no database") != std::string::npos);
  REQUIRE(answer);
  CHECK_FALSE(*answer);  // await_started answers with the error, not ok
  CHECK(t.count(event_kind::start_failed, "db") == 1);
}

TEST_CASE("a_start_function_that_throws_is_a_start_failure_not_a_crash") {
  test_system t;
  auto log = std::make_shared<life_log>();
  sv::child_spec thrower;
  thrower.id = "thrower";
  thrower.start = [](caf::actor_system&) -> caf::expected<caf::actor> {
    throw std::runtime_error("boom");
  };
  auto sup = sv::spawn_supervisor(t.sys, flags_with(t), {test_child_spec(log, "a"), thrower});
  REQUIRE(sup);
  auto watch = t.watch_actor(*sup);
  t.run();
  REQUIRE(watch.ended());
  CHECK(sv::is(watch.reason(), sup_errc::start_failed));
  CHECK(sv::describe(watch.reason()).find("threw: boom") != std::string::npos);
  CHECK(log->alive_total() == 0);
}

TEST_CASE("max_restarts_within_the_period_survive_and_one_more_escalates") {
  test_system t;
  auto log = std::make_shared<life_log>();
  auto sup = sv::spawn_supervisor(t.sys, flags_with(t, 3, 5000ms), abc(log));
  REQUIRE(sup);
  t.run();
  auto watch = t.watch_actor(*sup);
  for (int i = 0; i < 3; ++i) {
    t.make_exit(log->latest["b"], how::abnormal);
    CHECK_FALSE(watch.ended());
  }
  CHECK(log->start_count("b") == 4);
  t.make_exit(log->latest["b"], how::abnormal);  // the 4th within 5 s
  REQUIRE(watch.ended());
  CHECK(watch.reason() == caf::exit_reason::user_shutdown);
  CHECK(t.count(event_kind::intensity_exceeded) == 1);
  // Everything left is stopped in reverse start order.
  CHECK(std::vector<std::string>(log->stops.end() - 2, log->stops.end())
        == std::vector<std::string>{"c", "a"});
  CHECK(log->alive_total() == 0);
}

TEST_CASE("restarts_older_than_the_period_leave_the_sliding_window") {
  test_system t;
  auto log = std::make_shared<life_log>();
  auto sup = sv::spawn_supervisor(t.sys, flags_with(t, 3, 5000ms), abc(log));
  REQUIRE(sup);
  t.run();
  auto watch = t.watch_actor(*sup);
  t.make_exit(log->latest["a"], how::abnormal);  // t = 0
  t.advance(2000ms);
  t.make_exit(log->latest["b"], how::abnormal);  // t = 2 s
  t.advance(2000ms);
  t.make_exit(log->latest["c"], how::abnormal);  // t = 4 s: 3 in the window
  t.advance(1000ms);
  t.make_exit(log->latest["a"], how::abnormal);  // t = 5 s: the one at 0 has left
  CHECK_FALSE(watch.ended());
  t.advance(1ms);
  t.make_exit(log->latest["a"], how::abnormal);  // t = 5.001 s: 2, 4, 5, 5.001 → 4 > 3
  REQUIRE(watch.ended());
  CHECK(watch.reason() == caf::exit_reason::user_shutdown);
}

TEST_CASE("a_group_restart_counts_as_one_restart") {
  test_system t;
  auto log = std::make_shared<life_log>();
  auto sup = sv::spawn_supervisor(
    t.sys, flags_with(t, 1, 5000ms, restart_strategy::one_for_all), abc(log));
  REQUIRE(sup);
  t.run();
  auto watch = t.watch_actor(*sup);
  t.make_exit(log->latest["a"], how::abnormal);
  CHECK_FALSE(watch.ended());
  CHECK(log->start_count("a") == 2);
  CHECK(log->start_count("b") == 2);
  CHECK(log->start_count("c") == 2);
}

TEST_CASE("zero_max_restarts_gives_up_at_the_first_crash") {
  test_system t;
  auto log = std::make_shared<life_log>();
  auto sup = sv::spawn_supervisor(t.sys, flags_with(t, 0), abc(log));
  REQUIRE(sup);
  t.run();
  auto watch = t.watch_actor(*sup);
  t.make_exit(log->latest["b"], how::abnormal);
  REQUIRE(watch.ended());
  CHECK(log->start_count("b") == 1);
  CHECK(log->alive_total() == 0);
}

TEST_CASE("a_crash_looping_grandchild_takes_down_its_subtree_and_the_grandparent_restarts_it") {
  test_system t;
  auto log = std::make_shared<life_log>();
  auto inner = flags_with(t, 2, 5000ms);
  inner.name = "inner";
  auto outer = flags_with(t, 3, 5000ms);
  outer.name = "outer";
  auto sup = sv::spawn_supervisor(
    t.sys, outer,
    {test_child_spec(log, "sibling"),
     sv::supervisor_child("inner", inner, {test_child_spec(log, "looper"),
                                           test_child_spec(log, "neighbour")})});
  REQUIRE(sup);
  t.run();
  auto outer_watch = t.watch_actor(*sup);
  auto first_inner = t.children_of(*sup).at(1).handle;
  REQUIRE(first_inner);
  auto inner_watch = t.watch_actor(first_inner);
  for (int i = 0; i < 3; ++i)  // the 3rd crash exceeds inner's 2 in 5 s
    t.make_exit(log->latest["looper"], how::abnormal);
  REQUIRE(inner_watch.ended());
  CHECK(inner_watch.reason() == caf::exit_reason::user_shutdown);
  CHECK_FALSE(outer_watch.ended());
  auto children = t.children_of(*sup);
  REQUIRE(children.size() == 2);
  CHECK(children[1].handle);
  CHECK(children[1].handle != first_inner);  // a new inner supervisor
  CHECK(children[1].restarts == 1);
  CHECK(log->alive["looper"] == 1);          // its subtree started afresh
  CHECK(log->alive["neighbour"] == 1);
  CHECK(log->start_count("neighbour") == 2);
  CHECK(log->start_count("sibling") == 1);   // one_for_one above: untouched
}

TEST_CASE("escalation_continues_upwards_until_a_supervisor_can_absorb_it") {
  test_system t;
  auto log = std::make_shared<life_log>();
  auto inner = flags_with(t, 0, 5000ms);
  inner.name = "inner";
  auto outer = flags_with(t, 0, 5000ms);
  outer.name = "outer";
  auto sup = sv::spawn_supervisor(
    t.sys, outer, {sv::supervisor_child("inner", inner, {test_child_spec(log, "w")})});
  REQUIRE(sup);
  t.run();
  auto watch = t.watch_actor(*sup);
  t.make_exit(log->latest["w"], how::abnormal);
  // inner gives up at once; outer may not restart it either: the tree is gone.
  REQUIRE(watch.ended());
  CHECK(watch.reason() == caf::exit_reason::user_shutdown);
  CHECK(log->alive_total() == 0);
}

TEST_CASE("a_transient_subsupervisor_that_gives_up_is_not_restarted") {
  test_system t;
  auto log = std::make_shared<life_log>();
  auto inner = flags_with(t, 0, 5000ms);
  inner.name = "inner";
  auto sup = sv::spawn_supervisor(
    t.sys, flags_with(t),
    {sv::supervisor_child("inner", inner, {test_child_spec(log, "w")}, restart_type::transient),
     test_child_spec(log, "other")});
  REQUIRE(sup);
  t.run();
  t.make_exit(log->latest["w"], how::abnormal);
  auto children = t.children_of(*sup);
  REQUIRE(children.size() == 2);
  CHECK_FALSE(children[0].handle);  // `shutdown` is a clean exit for a transient child
  CHECK(log->alive["other"] == 1);
}

TEST_CASE("a_child_that_ignores_shutdown_is_killed_when_its_timeout_expires") {
  test_system t;
  auto log = std::make_shared<life_log>();
  auto stubborn = test_child_spec(log, "stubborn", restart_type::permanent, {true});
  stubborn.shutdown = sv::shutdown_spec::timeout(1000ms);
  auto sup = sv::spawn_supervisor(t.sys, flags_with(t), {test_child_spec(log, "a"), stubborn});
  REQUIRE(sup);
  t.run();
  auto watch = t.watch_actor(*sup);
  caf::anon_send_exit(*sup, caf::exit_reason::user_shutdown);
  t.run();
  CHECK(log->alive["stubborn"] == 1);
  CHECK(log->alive["a"] == 1);  // a waits: shutdown is sequential, in reverse order
  t.advance(999ms);
  CHECK(log->alive["stubborn"] == 1);
  t.advance(1ms);
  CHECK(log->alive["stubborn"] == 0);
  REQUIRE(watch.ended());
  CHECK(log->stops == std::vector<std::string>{"stubborn", "a"});
  REQUIRE(t.count(event_kind::shutdown_error, "stubborn") == 1);
  for (auto& ev : t.events)
    if (ev.kind == event_kind::shutdown_error)
      CHECK(ev.reason_class == sv::exit_class::killed);
}

TEST_CASE("a_child_with_infinity_shutdown_is_waited_for_without_limit") {
  test_system t;
  auto log = std::make_shared<life_log>();
  auto slow = test_child_spec(log, "slow", restart_type::permanent, {true});
  slow.shutdown = sv::shutdown_spec::infinity();
  auto sup = sv::spawn_supervisor(t.sys, flags_with(t), {slow});
  REQUIRE(sup);
  t.run();
  auto watch = t.watch_actor(*sup);
  caf::anon_send_exit(*sup, caf::exit_reason::user_shutdown);
  t.advance(std::chrono::hours(24));
  CHECK_FALSE(watch.ended());
  CHECK(log->alive["slow"] == 1);
  t.make_exit(log->latest["slow"], how::shutdown);  // it finally finishes its work
  REQUIRE(watch.ended());
  CHECK(t.count(event_kind::shutdown_error) == 0);
}

TEST_CASE("a_brutal_kill_child_is_killed_without_being_asked") {
  test_system t;
  auto log = std::make_shared<life_log>();
  auto victim = test_child_spec(log, "victim", restart_type::permanent, {true});
  victim.shutdown = sv::shutdown_spec::brutal_kill();
  auto sup = sv::spawn_supervisor(t.sys, flags_with(t), {victim});
  REQUIRE(sup);
  t.run();
  auto watch = t.watch_actor(*sup);
  caf::anon_send_exit(*sup, caf::exit_reason::user_shutdown);
  t.run();
  REQUIRE(watch.ended());
  CHECK(log->alive["victim"] == 0);
  CHECK(t.count(event_kind::shutdown_error) == 0);  // killed is the expected reason here
}

TEST_CASE("a_group_restart_waits_for_a_stubborn_sibling_before_starting_again") {
  test_system t;
  auto log = std::make_shared<life_log>();
  auto stubborn = test_child_spec(log, "stubborn", restart_type::permanent, {true});
  stubborn.shutdown = sv::shutdown_spec::timeout(500ms);
  auto sup = sv::spawn_supervisor(t.sys, flags_with(t, 3, 5000ms, restart_strategy::one_for_all),
                                  {stubborn, test_child_spec(log, "b")});
  REQUIRE(sup);
  t.run();
  t.make_exit(log->latest["b"], how::abnormal);
  CHECK(log->start_count("b") == 1);  // not yet: the old stubborn is still up
  t.advance(500ms);
  CHECK(log->start_count("stubborn") == 2);
  CHECK(log->start_count("b") == 2);
  CHECK(log->alive_total() == 2);
}

TEST_CASE("a_crash_during_a_group_restart_is_absorbed_by_that_restart") {
  test_system t;
  auto log = std::make_shared<life_log>();
  auto stubborn = test_child_spec(log, "stubborn", restart_type::permanent, {true});
  stubborn.shutdown = sv::shutdown_spec::timeout(500ms);
  auto sup = sv::spawn_supervisor(t.sys, flags_with(t, 1, 5000ms, restart_strategy::one_for_all),
                                  {test_child_spec(log, "a"), stubborn, test_child_spec(log, "c")});
  REQUIRE(sup);
  t.run();
  auto watch = t.watch_actor(*sup);
  t.make_exit(log->latest["c"], how::abnormal);  // group restart begins; stubborn holds it
  t.make_exit(log->latest["a"], how::abnormal);  // a crashes while it waits
  t.advance(500ms);
  // OTP ignores the stale exit of a: one restart counted, not two (max 1).
  CHECK_FALSE(watch.ended());
  CHECK(log->alive_total() == 3);
  CHECK(log->start_count("a") == 2);
}

TEST_CASE("a_temporary_sibling_stopped_by_a_group_restart_is_dropped") {
  test_system t;
  auto log = std::make_shared<life_log>();
  auto sup = sv::spawn_supervisor(
    t.sys, flags_with(t, 3, 5000ms, restart_strategy::one_for_all),
    {test_child_spec(log, "a"), test_child_spec(log, "tmp", restart_type::temporary)});
  REQUIRE(sup);
  t.run();
  t.make_exit(log->latest["a"], how::abnormal);
  auto children = t.children_of(*sup);
  REQUIRE(children.size() == 1);
  CHECK(children[0].id == "a");
  CHECK(log->start_count("tmp") == 1);
  CHECK(log->alive["tmp"] == 0);
}

TEST_CASE("a_failed_restart_is_retried_and_each_retry_counts_toward_intensity") {
  test_system t;
  auto log = std::make_shared<life_log>();
  auto attempts = std::make_shared<int>(0);
  sv::child_spec flaky = test_child_spec(log, "flaky");
  auto real_start = flaky.start;
  flaky.start = [=](caf::actor_system& sys) -> caf::expected<caf::actor> {
    // Starts the first time, then fails twice, then works again.
    int n = (*attempts)++;
    if (n == 1 || n == 2)
      return caf::make_error(caf::sec::runtime_error, "port busy");
    return real_start(sys);
  };
  auto sup = sv::spawn_supervisor(t.sys, flags_with(t, 3, 5000ms), {flaky});
  REQUIRE(sup);
  t.run();
  auto watch = t.watch_actor(*sup);
  t.make_exit(log->latest["flaky"], how::abnormal);
  CHECK_FALSE(watch.ended());
  CHECK(*attempts == 4);
  CHECK(log->alive["flaky"] == 1);
  CHECK(t.count(event_kind::start_failed, "flaky") == 2);
  // Three restarts used (one crash + two retries): the next crash is one too many.
  t.make_exit(log->latest["flaky"], how::abnormal);
  CHECK(watch.ended());
}

TEST_CASE("killing_a_supervisor_kills_its_children_too") {
  test_system t;
  auto log = std::make_shared<life_log>();
  auto sup = sv::spawn_supervisor(t.sys, flags_with(t), abc(log));
  REQUIRE(sup);
  t.run();
  caf::anon_send_exit(*sup, caf::exit_reason::kill);
  t.run();
  CHECK(log->alive_total() == 0);
}

TEST_CASE("which_and_count_children_report_every_child") {
  test_system t;
  auto log = std::make_shared<life_log>();
  auto specs = abc(log);
  specs.push_back(sv::supervisor_child("nested", flags_with(t), {test_child_spec(log, "n1")}));
  auto sup = sv::spawn_supervisor(t.sys, flags_with(t), specs);
  REQUIRE(sup);
  t.run();
  auto counts = t.ask<sv::child_counts>(*sup, sv::count_children_atom::value);
  REQUIRE(counts);
  REQUIRE(*counts);
  CHECK((*counts)->specs == 4);
  CHECK((*counts)->active == 4);
  CHECK((*counts)->workers == 3);
  CHECK((*counts)->supervisors == 1);
  auto children = t.children_of(*sup);
  REQUIRE(children.size() == 4);
  CHECK(children[3].kind == sv::child_kind::supervisor);
  CHECK(children[0].handle == log->latest["a"]);
}

TEST_CASE("every_lifecycle_step_reaches_the_observer") {
  test_system t;
  auto log = std::make_shared<life_log>();
  auto sup = sv::spawn_supervisor(t.sys, flags_with(t), {test_child_spec(log, "a")});
  REQUIRE(sup);
  t.run();
  t.make_exit(log->latest["a"], how::abnormal);
  caf::anon_send_exit(*sup, caf::exit_reason::user_shutdown);
  t.run();
  std::vector<event_kind> kinds;
  for (auto& ev : t.events)
    kinds.push_back(ev.kind);
  CHECK(kinds == std::vector<event_kind>{event_kind::child_started, event_kind::child_exited,
                                         event_kind::child_restarted,
                                         event_kind::child_terminated,
                                         event_kind::supervisor_stopped});
  CHECK(sv::to_string(t.events[1]).find("child 'a'") != std::string::npos);
  CHECK(sv::to_string(t.events[1]).find("runtime_error") != std::string::npos);
}

TEST_CASE("a_nested_supervisors_children_run_before_its_next_sibling_starts") {
  test_system t;
  auto log = std::make_shared<life_log>();
  auto sup = sv::spawn_supervisor(
    t.sys, flags_with(t),
    {sv::supervisor_child("inner", flags_with(t), {test_child_spec(log, "x"), test_child_spec(log, "y")}),
     test_child_spec(log, "z")});
  REQUIRE(sup);
  t.run();
  CHECK(log->starts == std::vector<std::string>{"x", "y", "z"});
}

TEST_CASE("a_nested_supervisor_that_fails_to_start_fails_its_parents_start") {
  test_system t;
  auto log = std::make_shared<life_log>();
  auto sup = sv::spawn_supervisor(
    t.sys, flags_with(t),
    {test_child_spec(log, "a"),
     sv::supervisor_child("inner", flags_with(t), {test_child_spec(log, "x"), failing_spec("db")}),
     test_child_spec(log, "z")});
  REQUIRE(sup);
  auto watch = t.watch_actor(*sup);
  t.run();
  REQUIRE(watch.ended());
  CHECK(sv::is(watch.reason(), sup_errc::start_failed));
  CHECK(sv::describe(watch.reason()).find("child 'inner' failed to start") != std::string::npos);
  CHECK(sv::describe(watch.reason()).find("no database") != std::string::npos);
  CHECK(log->start_count("z") == 0);
  CHECK(log->alive_total() == 0);
}

TEST_CASE("a_child_that_never_acknowledges_its_start_fails_after_its_start_timeout") {
  test_system t;
  auto log = std::make_shared<life_log>();
  sv::child_spec silent;
  silent.id = "silent";
  silent.acknowledges_start = true;
  silent.start_timeout = 2000ms;
  auto silent_alive = std::make_shared<bool>(false);
  silent.start = [silent_alive](caf::actor_system& sys) -> caf::expected<caf::actor> {
    return sys.spawn([silent_alive](caf::event_based_actor* self) -> caf::behavior {
      *silent_alive = true;
      self->attach_functor([silent_alive] { *silent_alive = false; });
      return {[self](sv::await_started_atom) -> caf::result<caf::ok_atom> {
        return self->make_response_promise<caf::ok_atom>();  // never answered
      }};
    });
  };
  auto sup = sv::spawn_supervisor(t.sys, flags_with(t), {test_child_spec(log, "a"), silent});
  REQUIRE(sup);
  auto watch = t.watch_actor(*sup);
  t.run();
  CHECK_FALSE(watch.ended());
  CHECK(*silent_alive);
  t.advance(2000ms);
  REQUIRE(watch.ended());
  CHECK(sv::describe(watch.reason()).find("did not finish starting within 2000 ms")
        != std::string::npos);
  CHECK_FALSE(*silent_alive);  // the half-started child was killed
  CHECK(log->alive_total() == 0);
}
