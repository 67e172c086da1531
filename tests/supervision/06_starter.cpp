// DynamicSupervisor → Starter → Worker: the starter absorbs its worker's
// restarts with its own budget; only an exhausted starter reaches the
// dynamic supervisor, which restarts that one slot.
#include <doctest/doctest.h>

#include "harness.hpp"
#include "supervision/dynamic_supervisor.hpp"
#include "supervision/starter.hpp"

using namespace snakepit::test;
using sv::event_kind;

namespace {

struct pool_fixture {
  test_system t;
  std::shared_ptr<life_log> log = std::make_shared<life_log>();
  caf::actor sup;
  std::vector<sv::supervision_event> starter_events;

  pool_fixture() {
    sv::dynamic_supervisor_flags flags;
    flags.name = "worker_supervisor";
    flags.observer = t.observer();
    auto s = sv::spawn_dynamic_supervisor(t.sys, flags);
    REQUIRE(s);
    sup = *s;
    for (auto id : {"w1", "w2"}) {
      sv::starter_options opts;
      opts.intensity = {2, 5000ms};
      opts.observer = [this](const sv::supervision_event& ev) { starter_events.push_back(ev); };
      auto res = t.ask<caf::actor>(sup, sv::start_child_atom::value,
                                   sv::starter_child(id, test_child_spec(log, id), opts));
      REQUIRE(res);
      REQUIRE(*res);
    }
  }
};

} // namespace

TEST_CASE("a_worker_crash_is_restarted_by_its_starter_and_unseen_by_the_dynamic_supervisor") {
  pool_fixture f;
  auto starters = f.t.children_of(f.sup);
  REQUIRE(starters.size() == 2);
  CHECK(starters[0].kind == sv::child_kind::supervisor);
  f.t.make_exit(f.log->latest["w1"], how::abnormal);
  CHECK(f.log->alive["w1"] == 1);
  CHECK(f.log->start_count("w1") == 2);
  CHECK(f.t.count(event_kind::child_exited) == 0);  // the dynamic supervisor saw nothing
  auto after = f.t.children_of(f.sup);
  CHECK(after[0].handle == starters[0].handle);    // the slot (starter) is the same actor
  bool seen = false;
  for (auto& ev : f.starter_events)
    seen = seen || (ev.kind == event_kind::child_restarted && ev.supervisor == "starter:w1");
  CHECK(seen);
}

TEST_CASE("a_crash_looping_worker_exhausts_only_its_own_starter") {
  pool_fixture f;
  auto before = f.t.children_of(f.sup);
  for (int i = 0; i < 3; ++i)  // the 3rd crash is over the starter's 2 in 5 s
    f.t.make_exit(f.log->latest["w1"], how::abnormal);
  // The dynamic supervisor restarted the w1 slot once; w2 never noticed.
  CHECK(f.t.count(event_kind::child_exited) == 1);
  CHECK(f.t.count(event_kind::child_restarted) == 1);
  auto after = f.t.children_of(f.sup);
  REQUIRE(after.size() == 2);
  CHECK(after[0].handle != before[0].handle);
  CHECK(after[1].handle == before[1].handle);
  CHECK(f.log->alive["w1"] == 1);
  CHECK(f.log->alive["w2"] == 1);
  CHECK(f.log->start_count("w2") == 1);
}

TEST_CASE("stopping_the_dynamic_supervisor_stops_starters_and_workers") {
  pool_fixture f;
  auto watch = f.t.watch_actor(f.sup);
  caf::anon_send_exit(f.sup, caf::exit_reason::user_shutdown);
  f.t.run();
  REQUIRE(watch.ended());
  CHECK(f.log->alive_total() == 0);
  CHECK(f.t.count(event_kind::shutdown_error) == 0);
}
