// The fast lane with real workers, and the pool's path with it switched off:
// the same answers, counts, timeouts and crashes either way.
#include <atomic>
#include <thread>

#include "integration/runtime_fixture.hpp"

using namespace snakepit::test;
using snakepit::errc;
using snakepit::json;

namespace {

snakepit::config lane_config(bool lane, std::size_t workers) {
  auto cfg = test_config(workers);
  cfg.fast_lane = lane;
  return cfg;
}

} // namespace

TEST_CASE("lock_step_calls_are_answered_and_counted_with_the_fast_lane_on_and_off") {
  for (bool lane : {true, false}) {
    CAPTURE(lane);
    std::atomic<int> dispatched{0};
    std::atomic<int> done{0};
    auto cfg = lane_config(lane, 2);
    cfg.pool_events = [&](const snakepit::pool_event& ev) {
      dispatched += ev.kind == snakepit::pool_event_kind::call_dispatched;
      done += ev.kind == snakepit::pool_event_kind::call_done;
    };
    ready_runtime rt{cfg};
    for (int i = 0; i < 50; ++i) {
      auto r = rt->execute("add", {{"a", i}, {"b", 1}});
      REQUIRE_MESSAGE(bool(r), why(r));
      CHECK(r->get<int>() == i + 1);
    }
    auto s = rt->stats();
    CHECK(s.requests == 50);
    CHECK(s.completed == 50);
    CHECK(s.errors == 0);
    CHECK(s.busy == 0);
    CHECK(s.available == 2);
    CHECK(dispatched == 50);
    CHECK(done == 50);
    uint64_t served = 0;
    for (auto& w : rt->list_workers())
      served += w.requests;
    CHECK(served == 50);
  }
}

TEST_CASE("a_timed_out_call_leaves_its_worker_busy_until_python_answers_with_the_fast_lane_on_and_off") {
  for (bool lane : {true, false}) {
    CAPTURE(lane);
    ready_runtime rt{lane_config(lane, 1)};
    snakepit::call_options o;
    o.timeout = 100ms;
    auto r = rt->execute("sleep_ms", {{"ms", 600}}, o);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == errc::timeout);
    // Python still runs it: the worker is busy, and a call now waits for it.
    CHECK(rt->stats().busy == 1);
    auto next = rt->execute("ping");
    CHECK_MESSAGE(bool(next), why(next));
    auto s = rt->stats();
    CHECK(s.errors == 1);
    CHECK(s.completed == 1);
    CHECK(s.busy == 0);
  }
}

TEST_CASE("a_crash_mid_call_is_worker_crashed_and_the_next_call_succeeds_with_the_fast_lane_on_and_off") {
  for (bool lane : {true, false}) {
    CAPTURE(lane);
    ready_runtime rt{lane_config(lane, 1)};
    auto r = rt->execute("crash");
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == errc::worker_crashed);
    CHECK(eventually([&] {
      auto ws = rt->list_workers();
      return ws.size() == 1 && ws[0].state == snakepit::worker_state::ready && ws[0].restarts == 1;
    }));
    auto next = rt->execute("ping");
    CHECK_MESSAGE(bool(next), why(next));
  }
}

TEST_CASE("many_callers_mixing_lane_and_queued_calls_each_get_their_own_answer") {
  ready_runtime rt{lane_config(true, 2)};
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 6; ++c)
    callers.emplace_back([&, c] {
      for (int i = 0; i < 200; ++i) {
        auto r = rt->execute("echo", {{"caller", c}, {"i", i}});
        if (!r || r->at("caller") != c || r->at("i") != i)
          ++wrong;
      }
    });
  for (auto& t : callers)
    t.join();
  CHECK(wrong == 0);
  auto s = rt->stats();
  CHECK(s.requests == 1200);
  CHECK(s.completed == 1200);
  CHECK(s.queued == 0);
  CHECK(s.busy == 0);
}
