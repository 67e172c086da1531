// The session actor's lifecycle, driven message by message on the test
// coordinator: every transition, every refused one, the events in order,
// subscribers, and that commands refused for the state change nothing.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <utility>

#include "actors/pool_error.hpp"
#include "session_harness.hpp"

using namespace snakepit;
using namespace snakepit::test;

namespace {

result<void> pause(session_test& t) {
  return t.ask<result<void>>(sp::pause_atom::value);
}
result<void> resume(session_test& t) {
  return t.ask<result<void>>(sp::resume_atom::value);
}
result<void> close(session_test& t) {
  return t.ask<result<void>>(sp::close_atom::value);
}
result<void> expire(session_test& t) {
  return t.ask<result<void>>(sp::expire_atom::value);
}
result<variable> set(session_test& t, std::string name, json value,
                     std::optional<uint64_t> expected = std::nullopt) {
  return t.ask<result<variable>>(sp::set_var_atom::value,
                                 sp::set_variable_request{std::move(name), std::move(value), expected});
}
result<variable> get(session_test& t, std::string name) {
  return t.ask<result<variable>>(sp::get_var_atom::value, std::move(name));
}

void check_invalid_state(const snakepit::error& e, const std::string& message) {
  CHECK(e.code() == errc::invalid_state);
  CHECK(e.message() == message);
}

/// Every variable command and touch, each expected to be refused with `message`.
void check_all_commands_refused(session_test& t, const std::string& message) {
  using vec = std::vector<variable>;
  check_invalid_state(t.ask<result<variable>>(sp::register_var_atom::value,
                                              sp::register_variable_request{
                                                "n", variable_type::integer, 1, {}})
                        .error(),
                      message);
  check_invalid_state(get(t, "x").error(), message);
  check_invalid_state(set(t, "x", 2).error(), message);
  check_invalid_state(set(t, "x", 2, 1).error(), message);
  check_invalid_state(
    t.ask<result<variable>>(sp::increment_var_atom::value, sp::increment_request{"x", 1}).error(),
    message);
  check_invalid_state(t.ask<result<void>>(sp::remove_var_atom::value, std::string("x")).error(),
                      message);
  check_invalid_state(
    t.ask<result<vec>>(sp::get_many_atom::value, std::vector<std::string>{"x"}).error(), message);
  check_invalid_state(t.ask<result<vec>>(sp::set_many_atom::value,
                                         sp::set_many_request{{{"x", 3}, {"y", 4}}})
                        .error(),
                      message);
  check_invalid_state(t.ask<result<vec>>(sp::list_vars_atom::value).error(), message);
  check_invalid_state(t.ask<result<void>>(sp::touch_atom::value).error(), message);
}

} // namespace

// --- the pure transition table ------------------------------------------------

TEST_CASE("the_lifecycle_has_exactly_the_edges_of_the_design") {
  using s = session_state;
  const std::vector<std::pair<s, s>> edges = {{s::initializing, s::active}, {s::active, s::paused},
                                              {s::paused, s::active},       {s::active, s::cleanup},
                                              {s::paused, s::cleanup},      {s::cleanup, s::terminated}};
  for (auto from : all_session_states)
    for (auto to : all_session_states) {
      const bool edge = std::find(edges.begin(), edges.end(), std::pair{from, to}) != edges.end();
      CAPTURE(to_string(from));
      CAPTURE(to_string(to));
      CHECK(can_transition(from, to) == edge);
      auto r = check_transition("s1", from, to);
      CHECK(bool(r) == edge);
      if (!edge)
        check_invalid_state(r.error(), std::string("session s1 cannot go from ") + to_string(from)
                                         + " to " + to_string(to));
    }
}

TEST_CASE("only_an_active_session_accepts_commands") {
  CHECK(check_accepts_commands("s1", session_state::active));
  check_invalid_state(check_accepts_commands("s1", session_state::initializing).error(),
                      "session s1 is still initializing");
  check_invalid_state(check_accepts_commands("s1", session_state::paused).error(),
                      "session s1 is paused");
  check_invalid_state(check_accepts_commands("s1", session_state::cleanup).error(),
                      "session s1 is closing (cleanup)");
  check_invalid_state(check_accepts_commands("s1", session_state::terminated).error(),
                      "session s1 is terminated");
}

// --- the actor ------------------------------------------------------------------

TEST_CASE("a_new_session_is_created_then_activated_before_its_first_message") {
  session_test t;
  CHECK(t.kinds() == std::vector<kind>{kind::created, kind::activated});
  auto info = t.info();
  CHECK(info.id == "s1");
  CHECK(info.state == session_state::active);
  CHECK(info.created_at == *t.clock);
  CHECK(info.last_activity == *t.clock);
  CHECK(info.command_count == 0);
  CHECK(info.variable_count == 0);
  for (auto& e : *t.events) {
    CHECK(e.session_id == "s1");
    CHECK(e.timestamp == *t.clock);
  }
}

TEST_CASE("pause_and_resume_walk_active_paused_active") {
  session_test t;
  REQUIRE(pause(t));
  CHECK(t.info().state == session_state::paused);
  REQUIRE(resume(t));
  CHECK(t.info().state == session_state::active);
  REQUIRE(pause(t));
  REQUIRE(resume(t));
  CHECK(t.kinds() == std::vector<kind>{kind::created, kind::activated, kind::paused, kind::resumed,
                                       kind::paused, kind::resumed});
}

TEST_CASE("resume_when_active_is_refused_naming_both_states") {
  session_test t;
  auto r = resume(t);
  REQUIRE_FALSE(r);
  check_invalid_state(r.error(), "session s1 cannot go from active to active");
  CHECK(t.info().state == session_state::active);
  REQUIRE(t.events->back().kind == kind::error);
  CHECK(t.events->back().error->code() == errc::invalid_state);
}

TEST_CASE("pause_when_paused_is_refused_naming_both_states") {
  session_test t;
  REQUIRE(pause(t));
  auto r = pause(t);
  REQUIRE_FALSE(r);
  check_invalid_state(r.error(), "session s1 cannot go from paused to paused");
  CHECK(t.info().state == session_state::paused);
}

TEST_CASE("variable_commands_refused_when_paused_change_nothing") {
  session_test t;
  REQUIRE(set(t, "x", 1));
  const auto before = t.info();
  REQUIRE(pause(t));
  t.advance_clock(60s);
  const auto events_before = t.events->size();

  check_all_commands_refused(t, "session s1 is paused");

  auto during = t.info();
  CHECK(during.command_count == before.command_count);
  CHECK(during.last_activity == before.last_activity);  // refused: no sign of life
  CHECK(during.variable_count == 1);
  // Each refusal is reported as an error event, and nothing else happened.
  for (auto i = events_before; i < t.events->size(); ++i)
    CHECK((*t.events)[i].kind == kind::error);
  REQUIRE(resume(t));
  auto x = get(t, "x");
  REQUIRE(x);
  CHECK(x->value == json(1));
  CHECK(x->version == 1);
  CHECK_FALSE(get(t, "n"));
  CHECK_FALSE(get(t, "y"));
}

TEST_CASE("close_cleans_up_reports_terminated_and_exits_normally") {
  session_test t;
  REQUIRE(set(t, "x", 1));
  auto w = t.watch_actor(t.session);
  REQUIRE(close(t));
  CHECK(w.ended());
  CHECK(w.reason() == caf::exit_reason::normal);
  REQUIRE(t.events->back().kind == kind::terminated);
  CHECK(t.events->back().detail == "closed");
  CHECK(t.kinds() == std::vector<kind>{kind::created, kind::activated, kind::command_processed,
                                       kind::terminated});
}

TEST_CASE("a_paused_session_can_be_closed") {
  session_test t;
  REQUIRE(pause(t));
  auto w = t.watch_actor(t.session);
  REQUIRE(close(t));
  CHECK(w.ended());
  CHECK(t.events->back().kind == kind::terminated);
}

TEST_CASE("requests_queued_behind_close_meet_cleanup_and_are_refused") {
  session_test t;
  REQUIRE(set(t, "x", 1));
  // All sent before the session runs: close first, then the rest, in this order.
  auto closed = t.send<result<void>>(sp::close_atom::value);
  auto read = t.send<result<variable>>(sp::get_var_atom::value, std::string("x"));
  auto again = t.send<result<void>>(sp::close_atom::value);
  auto expired = t.send<result<void>>(sp::expire_atom::value);
  auto paused = t.send<result<void>>(sp::pause_atom::value);
  auto resumed = t.send<result<void>>(sp::resume_atom::value);
  auto info = t.send<result<session_info>>(sp::info_atom::value);
  t.run();
  REQUIRE(closed.answer->has_value());
  CHECK(bool(**closed.answer));
  check_invalid_state((*read.answer)->error(), "session s1 is closing (cleanup)");
  check_invalid_state((*again.answer)->error(), "session s1 cannot go from cleanup to cleanup");
  check_invalid_state((*expired.answer)->error(), "session s1 cannot go from cleanup to cleanup");
  check_invalid_state((*paused.answer)->error(), "session s1 cannot go from cleanup to paused");
  check_invalid_state((*resumed.answer)->error(), "session s1 cannot go from cleanup to active");
  REQUIRE(info.answer->has_value());
  CHECK((**info.answer)->state == session_state::cleanup);
  CHECK((**info.answer)->variable_count == 1);  // cleared only when cleanup runs
  CHECK(t.events->back().kind == kind::terminated);
}

TEST_CASE("a_terminated_session_answers_nothing_more") {
  session_test t;
  REQUIRE(close(t));
  auto late = t.send<result<session_info>>(sp::info_atom::value);
  t.run();
  CHECK_FALSE(late.answer->has_value());
  REQUIRE(late.failure->has_value());
  CHECK(**late.failure == caf::sec::request_receiver_down);
}

TEST_CASE("expire_reports_expired_then_terminated_from_active_and_from_paused") {
  for (bool paused_first : {false, true}) {
    CAPTURE(paused_first);
    session_test t;
    if (paused_first)
      REQUIRE(pause(t));
    auto w = t.watch_actor(t.session);
    REQUIRE(expire(t));
    CHECK(w.ended());
    CHECK(w.reason() == caf::exit_reason::normal);
    auto k = t.kinds();
    REQUIRE(k.size() >= 2);
    CHECK(k[k.size() - 2] == kind::expired);
    CHECK(k.back() == kind::terminated);
    CHECK(t.events->back().detail == "expired");
  }
}

TEST_CASE("a_shutdown_signal_cleans_up_and_exits_with_its_reason") {
  session_test t;
  REQUIRE(set(t, "x", 1));
  auto w = t.watch_actor(t.session);
  caf::anon_send_exit(t.session, caf::exit_reason::user_shutdown);
  t.run();
  CHECK(w.ended());
  CHECK(w.reason() == caf::exit_reason::user_shutdown);
  REQUIRE(t.events->back().kind == kind::terminated);
  CHECK(t.events->back().detail.rfind("stopped: ", 0) == 0);
}

TEST_CASE("variable_commands_run_while_active_and_each_counts_as_activity") {
  session_test t;
  using vec = std::vector<variable>;
  variable_constraints unit;
  unit.min = 0;
  unit.max = 2;
  t.advance_clock(1s);
  auto reg = t.ask<result<variable>>(sp::register_var_atom::value,
                                     sp::register_variable_request{"temperature",
                                                                   variable_type::float_, 1, unit});
  REQUIRE(reg);
  CHECK(reg->value.is_number_float());
  CHECK(set(t, "temperature", 1.5, 1)->version == 2);
  auto conflict = set(t, "temperature", 0.5, 1);
  REQUIRE_FALSE(conflict);
  CHECK(conflict.error().code() == errc::version_conflict);
  auto too_hot = set(t, "temperature", 3.5);
  REQUIRE_FALSE(too_hot);
  CHECK(too_hot.error().message() == "temperature: 3.5 is above max 2.0");
  auto inc =
    t.ask<result<variable>>(sp::increment_var_atom::value, sp::increment_request{"steps", 1});
  REQUIRE(inc);
  CHECK(inc->value == json(1));
  auto many = t.ask<result<vec>>(sp::set_many_atom::value,
                                 sp::set_many_request{{{"a", "x"}, {"b", json::binary({1})}}});
  REQUIRE(many);
  CHECK(many->size() == 2);
  auto got = t.ask<result<vec>>(sp::get_many_atom::value, std::vector<std::string>{"b", "a"});
  REQUIRE(got);
  CHECK((*got)[0].value.is_binary());
  CHECK(t.ask<result<void>>(sp::remove_var_atom::value, std::string("a")));
  auto listed = t.ask<result<vec>>(sp::list_vars_atom::value);
  REQUIRE(listed);
  REQUIRE(listed->size() == 3);
  CHECK((*listed)[0].name == "b");
  t.advance_clock(5s);
  CHECK(t.ask<result<void>>(sp::touch_atom::value));

  auto info = t.info();
  CHECK(info.command_count == 10);  // refused writes count too: they are activity
  CHECK(info.variable_count == 3);
  CHECK(info.last_activity == *t.clock);
  CHECK(info.created_at == *t.clock - 6s);
  // One command_processed per command; the two refused writes add an error each.
  int processed = 0, errors = 0;
  for (auto& e : *t.events) {
    processed += e.kind == kind::command_processed;
    errors += e.kind == kind::error;
  }
  CHECK(processed == 10);
  CHECK(errors == 2);
}

TEST_CASE("info_and_lifecycle_ops_do_not_count_as_commands") {
  session_test t;
  t.advance_clock(30s);
  t.info();
  REQUIRE(pause(t));
  REQUIRE(resume(t));
  auto info = t.info();
  CHECK(info.command_count == 0);
  CHECK(info.last_activity == info.created_at);
}

TEST_CASE("events_come_in_order_stamped_by_the_session_clock") {
  session_test t;
  t.advance_clock(1s);
  REQUIRE(set(t, "x", 1));
  t.advance_clock(1s);
  REQUIRE(pause(t));
  t.advance_clock(1s);
  REQUIRE_FALSE(get(t, "x"));
  t.advance_clock(1s);
  REQUIRE(resume(t));
  t.advance_clock(1s);
  REQUIRE(expire(t));
  CHECK(t.kinds() == std::vector<kind>{kind::created, kind::activated, kind::command_processed,
                                       kind::paused, kind::error, kind::resumed, kind::expired,
                                       kind::terminated});
  const auto t0 = (*t.events)[0].timestamp;
  const std::vector<std::chrono::seconds> offsets = {0s, 0s, 1s, 2s, 3s, 4s, 5s, 5s};
  for (std::size_t i = 0; i < offsets.size(); ++i)
    CHECK((*t.events)[i].timestamp == t0 + offsets[i]);
  CHECK((*t.events)[2].detail == "set x");
  CHECK((*t.events)[4].error->message() == "session s1 is paused");
}

TEST_CASE("a_subscriber_receives_each_event_as_a_message_until_it_unsubscribes") {
  session_test t;
  auto log = std::make_shared<std::vector<session_event>>();
  auto sub = t.spawn_subscriber(log);
  REQUIRE(t.ask<result<void>>(sp::subscribe_atom::value, sub));
  REQUIRE(t.ask<result<void>>(sp::subscribe_atom::value, sub));  // twice: still one subscription
  CHECK(t.info().subscriber_count == 1);
  REQUIRE(set(t, "x", 1));
  REQUIRE(pause(t));
  REQUIRE_FALSE(pause(t));
  REQUIRE(log->size() == 3);
  CHECK((*log)[0].kind == kind::command_processed);
  CHECK((*log)[1].kind == kind::paused);
  CHECK((*log)[2].kind == kind::error);
  CHECK((*log)[2].session_id == "s1");

  REQUIRE(t.ask<result<void>>(sp::unsubscribe_atom::value, sub));
  CHECK(t.info().subscriber_count == 0);
  REQUIRE(resume(t));
  CHECK(log->size() == 3);
  caf::anon_send_exit(sub, caf::exit_reason::user_shutdown);
}

TEST_CASE("a_subscriber_sees_the_terminated_event") {
  session_test t;
  auto log = std::make_shared<std::vector<session_event>>();
  auto sub = t.spawn_subscriber(log);
  REQUIRE(t.ask<result<void>>(sp::subscribe_atom::value, sub));
  REQUIRE(close(t));
  REQUIRE_FALSE(log->empty());
  CHECK(log->back().kind == kind::terminated);
  caf::anon_send_exit(sub, caf::exit_reason::user_shutdown);
}

TEST_CASE("a_dead_subscriber_is_dropped") {
  session_test t;
  auto log = std::make_shared<std::vector<session_event>>();
  auto sub = t.spawn_subscriber(log);
  auto other = t.spawn_subscriber(log);
  REQUIRE(t.ask<result<void>>(sp::subscribe_atom::value, sub));
  REQUIRE(t.ask<result<void>>(sp::subscribe_atom::value, other));
  CHECK(t.info().subscriber_count == 2);
  caf::anon_send_exit(sub, caf::exit_reason::kill);
  t.run();
  CHECK(t.info().subscriber_count == 1);
  REQUIRE(set(t, "x", 1));
  CHECK(log->size() == 1);  // only the live one got it
  caf::anon_send_exit(other, caf::exit_reason::user_shutdown);
}

TEST_CASE("subscribe_refuses_an_invalid_handle") {
  session_test t;
  auto r = t.ask<result<void>>(sp::subscribe_atom::value, caf::actor{});
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::invalid_argument);
  CHECK(t.info().subscriber_count == 0);
}

TEST_CASE("session_child_spec_is_transient_and_refuses_an_empty_id") {
  session_test t;
  auto spec = session_child_spec(t.options("s2"));
  CHECK(spec.restart == supervision::restart_type::transient);
  CHECK(spec.id == "session:s2");
  auto started = spec.start(t.sys);
  REQUIRE(started);
  t.run();
  CHECK(t.events->back().session_id == "s2");
  CHECK(t.events->back().kind == kind::activated);
  caf::anon_send_exit(*started, caf::exit_reason::user_shutdown);

  auto bad = session_child_spec(t.options(""));
  auto refused = bad.start(t.sys);
  REQUIRE_FALSE(refused);
  CHECK(from_caf_error(refused.error()).code() == errc::invalid_argument);
}
