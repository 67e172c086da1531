// The dynamic supervisor: children added at run time, found by handle,
// limited by max_children, stopped concurrently.
#include <doctest/doctest.h>

#include "harness.hpp"
#include "supervision/dynamic_supervisor.hpp"

using namespace snakepit::test;
using sv::event_kind;
using sv::restart_type;
using sv::sup_errc;

namespace {

struct dyn_fixture {
  test_system t;
  std::shared_ptr<life_log> log = std::make_shared<life_log>();
  caf::actor sup;

  explicit dyn_fixture(std::size_t max_children = sv::unlimited_children, int max_restarts = 3) {
    sv::dynamic_supervisor_flags flags;
    flags.max_children = max_children;
    flags.intensity.max_restarts = max_restarts;
    flags.observer = t.observer();
    auto s = sv::spawn_dynamic_supervisor(t.sys, flags);
    REQUIRE(s);
    sup = *s;
    t.run();
  }

  caf::expected<caf::actor> start(sv::child_spec spec) {
    auto res = t.ask<caf::actor>(sup, sv::start_child_atom::value, std::move(spec));
    REQUIRE(res);
    return *res;
  }

  caf::expected<caf::ok_atom> terminate(const caf::actor& child) {
    auto res = t.ask<caf::ok_atom>(sup, sv::terminate_child_atom::value, child);
    REQUIRE(res);
    return *res;
  }

  sv::child_counts counts() {
    auto res = t.ask<sv::child_counts>(sup, sv::count_children_atom::value);
    REQUIRE(res);
    REQUIRE(*res);
    return **res;
  }
};

} // namespace

TEST_CASE("start_child_returns_the_running_child") {
  dyn_fixture f;
  auto a = f.start(test_child_spec(f.log, "a"));
  REQUIRE(a);
  CHECK(*a == f.log->latest["a"]);
  CHECK(f.log->alive["a"] == 1);
  auto children = f.t.children_of(f.sup);
  REQUIRE(children.size() == 1);
  CHECK(children[0].handle == *a);
}

TEST_CASE("start_child_with_an_invalid_spec_is_refused_and_starts_nothing") {
  dyn_fixture f;
  sv::child_spec broken;
  auto res = f.start(broken);
  REQUIRE_FALSE(res);
  CHECK(sv::is(res.error(), sup_errc::invalid_child_spec));
  CHECK(f.counts().specs == 0);
}

TEST_CASE("start_child_reports_a_failing_start_function") {
  dyn_fixture f;
  sv::child_spec failing;
  failing.start = [](caf::actor_system&) -> caf::expected<caf::actor> {
    return caf::make_error(caf::sec::runtime_error, "cannot");
  };
  auto res = f.start(failing);
  REQUIRE_FALSE(res);
  CHECK(res.error() == caf::sec::runtime_error);
  CHECK(f.counts().specs == 0);
}

TEST_CASE("max_children_is_refused_with_a_typed_error") {
  dyn_fixture f{2};
  REQUIRE(f.start(test_child_spec(f.log, "a")));
  REQUIRE(f.start(test_child_spec(f.log, "b")));
  auto third = f.start(test_child_spec(f.log, "c"));
  REQUIRE_FALSE(third);
  CHECK(sv::is(third.error(), sup_errc::max_children));
  CHECK(f.log->start_count("c") == 0);
  // A place freed by terminate_child can be taken again.
  REQUIRE(f.terminate(f.log->latest["a"]));
  CHECK(f.start(test_child_spec(f.log, "c")));
}

TEST_CASE("a_restarting_child_counts_toward_max_children") {
  dyn_fixture f{1, 10};
  auto attempts = std::make_shared<int>(0);
  auto flaky = test_child_spec(f.log, "flaky");
  auto real_start = flaky.start;
  flaky.start = [=](caf::actor_system& sys) -> caf::expected<caf::actor> {
    int n = (*attempts)++;
    if (n == 1 || n == 2)  // the first restart fails, and so does its first retry
      return caf::make_error(caf::sec::runtime_error, "port busy");
    return real_start(sys);
  };
  REQUIRE(f.start(flaky));
  auto flaky_handle = f.log->latest["flaky"];
  // Crash it and ask for one more child so that the request lands in the
  // supervisor's mailbox right behind the down message, ahead of the retry.
  caf::anon_send(flaky_handle, exit_with_atom::value, static_cast<int>(how::abnormal));
  auto answer = std::make_shared<std::optional<caf::expected<caf::actor>>>();
  auto spec = test_child_spec(f.log, "late");
  f.t.sys.spawn([answer, spec, sup = f.sup](caf::event_based_actor* self) {
    self->request(sup, caf::infinite, sv::start_child_atom::value, spec)
      .then([=](caf::actor& a) { *answer = a; },
            [=](caf::error& e) { *answer = caf::expected<caf::actor>{e}; });
  });
  f.t.run();
  REQUIRE(answer->has_value());
  REQUIRE_FALSE(**answer);
  CHECK(sv::is((*answer)->error(), sup_errc::max_children));
  CHECK(f.log->alive["flaky"] == 1);  // and the retry got it going again
  CHECK(f.t.count(event_kind::start_failed, "flaky") == 2);
}

TEST_CASE("terminate_child_stops_the_child_and_forgets_it") {
  dyn_fixture f;
  auto a = f.start(test_child_spec(f.log, "a"));
  REQUIRE(a);
  auto ok = f.terminate(*a);
  REQUIRE(ok);
  CHECK(f.log->alive["a"] == 0);
  CHECK(f.log->start_count("a") == 1);  // not restarted, even though permanent
  CHECK(f.counts().specs == 0);
  CHECK(f.t.count(event_kind::child_terminated) == 1);
}

TEST_CASE("terminate_child_of_an_unknown_actor_is_not_found") {
  dyn_fixture f;
  auto stranger = test_child_spec(f.log, "stranger").start(f.t.sys);
  REQUIRE(stranger);
  auto res = f.terminate(*stranger);
  REQUIRE_FALSE(res);
  CHECK(sv::is(res.error(), sup_errc::not_found));
  caf::anon_send_exit(*stranger, caf::exit_reason::kill);
}

TEST_CASE("terminate_child_waits_for_a_stubborn_child_then_kills_it") {
  dyn_fixture f;
  auto spec = test_child_spec(f.log, "stubborn", restart_type::permanent, {true});
  spec.shutdown = sv::shutdown_spec::timeout(300ms);
  auto a = f.start(spec);
  REQUIRE(a);
  auto answer = std::make_shared<bool>(false);
  f.t.sys.spawn([answer, sup = f.sup, child = *a](caf::event_based_actor* self) {
    self->request(sup, caf::infinite, sv::terminate_child_atom::value, child)
      .then([=](caf::ok_atom) { *answer = true; }, [](caf::error&) {});
  });
  f.t.run();
  CHECK_FALSE(*answer);
  CHECK(f.log->alive["stubborn"] == 1);
  f.t.advance(300ms);
  CHECK(*answer);
  CHECK(f.log->alive["stubborn"] == 0);
  CHECK(f.t.count(event_kind::shutdown_error, "stubborn") == 1);
}

TEST_CASE("dynamic_children_follow_their_restart_type") {
  dyn_fixture f;
  REQUIRE(f.start(test_child_spec(f.log, "perm", restart_type::permanent)));
  REQUIRE(f.start(test_child_spec(f.log, "trans", restart_type::transient)));
  REQUIRE(f.start(test_child_spec(f.log, "temp", restart_type::temporary)));
  f.t.make_exit(f.log->latest["perm"], how::normal);
  f.t.make_exit(f.log->latest["trans"], how::normal);
  f.t.make_exit(f.log->latest["temp"], how::abnormal);
  CHECK(f.log->alive["perm"] == 1);   // permanent: always restarted
  CHECK(f.log->alive["trans"] == 0);  // transient, normal exit: gone
  CHECK(f.log->alive["temp"] == 0);   // temporary: never restarted
  auto c = f.counts();
  CHECK(c.specs == 1);                // ended dynamic children leave no spec behind
  CHECK(c.active == 1);
}

TEST_CASE("too_many_restarts_stop_the_dynamic_supervisor_with_shutdown") {
  dyn_fixture f{sv::unlimited_children, 2};
  REQUIRE(f.start(test_child_spec(f.log, "a")));
  REQUIRE(f.start(test_child_spec(f.log, "b")));
  auto watch = f.t.watch_actor(f.sup);
  f.t.make_exit(f.log->latest["a"], how::abnormal);
  f.t.make_exit(f.log->latest["a"], how::abnormal);
  CHECK_FALSE(watch.ended());
  f.t.make_exit(f.log->latest["a"], how::abnormal);
  REQUIRE(watch.ended());
  CHECK(watch.reason() == caf::exit_reason::user_shutdown);
  CHECK(f.log->alive_total() == 0);
  CHECK(f.t.count(event_kind::intensity_exceeded) == 1);
}

TEST_CASE("children_of_a_dynamic_supervisor_stop_concurrently_at_shutdown") {
  dyn_fixture f;
  for (auto id : {"a", "b", "c"}) {
    auto spec = test_child_spec(f.log, id, restart_type::permanent, {true});
    spec.shutdown = sv::shutdown_spec::timeout(1000ms);
    REQUIRE(f.start(spec));
  }
  auto watch = f.t.watch_actor(f.sup);
  caf::anon_send_exit(f.sup, caf::exit_reason::user_shutdown);
  f.t.run();
  CHECK(f.log->alive_total() == 3);
  // One timeout for all of them, not three in a row.
  f.t.advance(1000ms);
  CHECK(f.log->alive_total() == 0);
  REQUIRE(watch.ended());
  CHECK(watch.reason() == caf::exit_reason::user_shutdown);
}

TEST_CASE("a_dynamic_supervisor_refuses_new_children_while_shutting_down") {
  dyn_fixture f;
  auto spec = test_child_spec(f.log, "slow", restart_type::permanent, {true});
  spec.shutdown = sv::shutdown_spec::timeout(1000ms);
  REQUIRE(f.start(spec));
  caf::anon_send_exit(f.sup, caf::exit_reason::user_shutdown);
  f.t.run();
  auto res = f.start(test_child_spec(f.log, "late"));
  REQUIRE_FALSE(res);
  CHECK(sv::is(res.error(), sup_errc::shutting_down));
  f.t.advance(1000ms);
}
