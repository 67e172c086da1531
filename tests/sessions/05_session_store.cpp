// The session layer as the tree runs it: the store finds, creates (on first
// use), caps and reaps sessions; the session supervisor restarts a crashed
// session, and past its limit the whole layer restarts. All on the test
// coordinator: virtual timers, a session clock the test moves by hand.
#include <doctest/doctest.h>

#include <map>

#include "actors/session_store.hpp"
#include "session_harness.hpp"
#include "supervision/supervision_messages.hpp"

using namespace snakepit;
using namespace snakepit::test;

namespace {

struct store_test {
  caf::actor_system_config cfg;
  caf::actor_system sys{session_test::configure(cfg)};
  caf::scheduler::test_coordinator& sched =
    dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::shared_ptr<time_point> clock = std::make_shared<time_point>(std::chrono::seconds{1000});
  std::shared_ptr<std::vector<session_event>> events =
    std::make_shared<std::vector<session_event>>();
  std::shared_ptr<std::vector<supervision::supervision_event>> sup_events =
    std::make_shared<std::vector<supervision::supervision_event>>();
  std::shared_ptr<detail::current_actor> store = std::make_shared<detail::current_actor>();
  caf::actor layer;

  explicit store_test(std::size_t max_sessions = 100, std::chrono::milliseconds ttl = 60s,
                      std::chrono::milliseconds reap_interval = 10s) {
    sys.await_actors_before_shutdown(false);
    session_store_options o;
    o.max_sessions = max_sessions;
    o.ttl = ttl;
    o.reap_interval = reap_interval;
    o.clock = [c = clock] { return *c; };
    o.observer = [ev = events](const session_event& e) { ev->push_back(e); };
    o.supervision_observer = [ev = sup_events](const supervision::supervision_event& e) {
      ev->push_back(e);
    };
    auto spec = sessions_child(o, store);
    auto started = spec.start(sys);
    REQUIRE(started);
    layer = *started;
    sched.run();
    REQUIRE(store->get());
  }

  ~store_test() {
    caf::anon_send_exit(layer, caf::exit_reason::user_shutdown);
    sched.run();
  }

  template <class T, class... Ts>
  T ask_actor(caf::actor dest, Ts... xs) {
    auto answer = std::make_shared<std::optional<T>>();
    auto failure = std::make_shared<std::optional<caf::error>>();
    sys.spawn([=](caf::event_based_actor* self) {
      self->request(dest, caf::infinite, xs...)
        .then([=](T& v) { *answer = std::move(v); }, [=](caf::error& e) { *failure = e; });
    });
    sched.run();
    REQUIRE_MESSAGE(answer->has_value(),
                    "no answer; failure: " << (failure->has_value() ? caf::to_string(**failure)
                                                                    : "none"));
    return std::move(**answer);
  }

  template <class T, class... Ts>
  T ask(Ts... xs) {
    return ask_actor<T>(store->get(), xs...);
  }

  result<void> ensure(const std::string& id) {
    return ask<result<void>>(store_ensure_atom::value, id);
  }
  result<void> create(const std::string& id) {
    return ask<result<void>>(store_create_atom::value, id);
  }
  caf::actor lookup(const std::string& id) {
    auto r = ask<result<caf::actor>>(store_lookup_atom::value, id);
    REQUIRE_MESSAGE(bool(r), (r ? "" : r.error().to_string()));
    return *r;
  }
  std::vector<std::string> ids() {
    return ask<std::vector<std::string>>(store_list_atom::value);
  }
  result<variable> set(const std::string& id, std::string name, json value) {
    return ask_actor<result<variable>>(
      lookup(id), sp::set_var_atom::value,
      sp::set_variable_request{std::move(name), std::move(value), std::nullopt});
  }
  result<variable> get(const std::string& id, std::string name) {
    return ask_actor<result<variable>>(lookup(id), sp::get_var_atom::value, std::move(name));
  }
  std::size_t count(supervision::event_kind k, const std::string& supervisor) const {
    return static_cast<std::size_t>(std::count_if(
      sup_events->begin(), sup_events->end(),
      [&](auto& e) { return e.kind == k && e.supervisor == supervisor; }));
  }
};

} // namespace

TEST_CASE("ensure_creates_a_session_on_first_use_and_finds_it_after") {
  store_test t;
  REQUIRE(t.ensure("s1"));
  CHECK(t.ids() == std::vector<std::string>{"s1"});
  auto first = t.lookup("s1");
  REQUIRE(t.set("s1", "x", 1));
  REQUIRE(t.ensure("s1"));  // the same session, not a new one
  CHECK(t.lookup("s1") == first);
  CHECK(t.get("s1", "x")->value == 1);
}

TEST_CASE("create_refuses_an_id_in_use_with_already_exists") {
  store_test t;
  REQUIRE(t.create("s1"));
  auto again = t.create("s1");
  REQUIRE_FALSE(again);
  CHECK(again.error().code() == errc::already_exists);
  CHECK(t.ids().size() == 1);
}

TEST_CASE("a_lookup_of_an_unknown_id_is_session_not_found") {
  store_test t;
  auto r = t.ask<result<caf::actor>>(store_lookup_atom::value, std::string{"nope"});
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::session_not_found);
  auto c = t.ask<result<void>>(store_close_atom::value, std::string{"nope"});
  REQUIRE_FALSE(c);
  CHECK(c.error().code() == errc::session_not_found);
}

TEST_CASE("bad_session_ids_are_invalid_argument_and_create_nothing") {
  store_test t;
  for (std::string bad : {std::string{}, std::string("has space"), std::string(257, 'x'),
                          std::string("tab\there")}) {
    auto r = t.ensure(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == errc::invalid_argument);
  }
  CHECK(t.ids().empty());
}

TEST_CASE("the_session_cap_refuses_one_more_with_session_limit") {
  store_test t{3};
  for (auto id : {"a", "b", "c"})
    REQUIRE(t.ensure(id));
  auto r = t.ensure("d");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::session_limit);
  CHECK(t.ids().size() == 3);
  REQUIRE(t.ensure("a"));  // existing sessions still work at the cap
  REQUIRE(t.ask<result<void>>(store_close_atom::value, std::string{"a"}));
  REQUIRE(t.ensure("d"));  // a closed session frees its place
}

TEST_CASE("a_closed_session_is_forgotten_and_its_id_can_be_used_again_empty") {
  store_test t;
  REQUIRE(t.ensure("s1"));
  REQUIRE(t.set("s1", "x", 1));
  REQUIRE(t.ask<result<void>>(store_close_atom::value, std::string{"s1"}));
  CHECK(t.ids().empty());
  REQUIRE(t.ensure("s1"));
  auto x = t.get("s1", "x");
  REQUIRE_FALSE(x);
  CHECK(x.error().code() == errc::variable_not_found);
}

TEST_CASE("ensure_on_a_paused_session_is_invalid_state") {
  store_test t;
  REQUIRE(t.ensure("s1"));
  REQUIRE(t.ask_actor<result<void>>(t.lookup("s1"), sp::pause_atom::value));
  auto r = t.ensure("s1");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::invalid_state);
  CHECK(r.error().message() == "session s1 is paused");
}

TEST_CASE("reaping_expires_exactly_the_sessions_idle_past_the_ttl") {
  store_test t{100, 60s};
  REQUIRE(t.ensure("old"));
  REQUIRE(t.ensure("paused"));
  REQUIRE(t.ask_actor<result<void>>(t.lookup("paused"), sp::pause_atom::value));
  *t.clock += 45s;
  REQUIRE(t.ensure("young"));
  *t.clock += 30s;  // old and paused: idle 75 s; young: 30 s
  CHECK(t.ask<std::size_t>(store_reap_atom::value) == 2);
  CHECK(t.ids() == std::vector<std::string>{"young"});
  auto expired = std::count_if(t.events->begin(), t.events->end(), [](auto& e) {
    return e.kind == session_event_kind::expired;
  });
  CHECK(expired == 2);
  CHECK(t.ask<std::size_t>(store_reap_atom::value) == 0);
}

TEST_CASE("the_reaper_scans_on_its_interval") {
  store_test t{100, 60s, 10s};
  REQUIRE(t.ensure("s1"));
  *t.clock += 61s;
  CHECK(t.ids().size() == 1);  // nothing happens before the reaper's timer fires
  t.sched.trigger_timeouts();
  t.sched.run();
  CHECK(t.ids().empty());
}

TEST_CASE("a_crashed_session_is_restarted_empty_and_found_under_its_id") {
  store_test t;
  REQUIRE(t.ensure("s1"));
  REQUIRE(t.set("s1", "x", 1));
  auto before = t.lookup("s1");
  caf::anon_send_exit(before, caf::exit_reason::unhandled_exception);
  t.sched.run();
  auto after = t.lookup("s1");
  CHECK(after != before);
  auto x = t.get("s1", "x");  // state lived in the crashed actor
  REQUIRE_FALSE(x);
  CHECK(x.error().code() == errc::variable_not_found);
  REQUIRE(t.set("s1", "x", 2));
  CHECK(t.count(supervision::event_kind::child_restarted, "session_supervisor") == 1);
}

TEST_CASE("past_the_restart_limit_the_session_supervisor_gives_up_and_the_layer_restarts") {
  store_test t;  // session restarts: 3 in 5 s
  REQUIRE(t.ensure("s1"));
  auto first_store = t.store->get();
  for (int crash = 0; crash < 4; ++crash) {
    caf::anon_send_exit(t.lookup("s1"), caf::exit_reason::unhandled_exception);
    t.sched.run();
    if (crash < 3)
      REQUIRE(t.ask<result<caf::actor>>(store_lookup_atom::value, std::string{"s1"}));
  }
  // The fourth crash within the period: the session supervisor exits, and
  // the "sessions" supervisor (one_for_all) restarts the whole layer.
  CHECK(t.count(supervision::event_kind::intensity_exceeded, "session_supervisor") == 1);
  CHECK(t.count(supervision::event_kind::child_restarted, "sessions") >= 1);
  CHECK(t.store->get() != first_store);
  CHECK(t.ids().empty());
  REQUIRE(t.ensure("s1"));  // and works again
}
