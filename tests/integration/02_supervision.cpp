// Crashes, kills, restarts, load and shutdown with real processes.
#include <atomic>
#include <set>
#include <thread>

#include "integration/runtime_fixture.hpp"

using namespace snakepit::test;
using snakepit::errc;
using snakepit::json;

namespace {

bool full_and_ready(snakepit::runtime& rt, std::size_t n) {
  auto ws = rt.list_workers();
  if (ws.size() != n)
    return false;
  for (auto& w : ws)
    if (w.state != snakepit::worker_state::ready || w.os_pid <= 0)
      return false;
  return true;
}

} // namespace

TEST_CASE("a_worker_that_crashes_mid_call_gives_worker_crashed_and_is_restarted") {
  auto cfg = test_config(1);
  ready_runtime rt{cfg};
  auto before = rt->list_workers();
  REQUIRE(before.size() == 1);
  auto r = rt->execute("crash");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::worker_crashed);
  CHECK(eventually([&] {
    return full_and_ready(*rt.rt, 1) && rt->list_workers()[0].os_pid != before[0].os_pid;
  }));
  auto after = rt->list_workers();
  REQUIRE(after.size() == 1);
  CHECK(after[0].os_pid != before[0].os_pid);
  CHECK(after[0].restarts == before[0].restarts + 1);
  CHECK_FALSE(process_alive(before[0].os_pid));
  CHECK(rt->execute("ping"));
}

TEST_CASE("twenty_sigkills_in_a_row_and_the_pool_returns_to_full_size") {
  ready_runtime rt;
  std::vector<int> killed;
  for (int round = 0; round < 20; ++round) {
    REQUIRE(eventually([&] { return full_and_ready(*rt.rt, 2); }, 10000ms));
    auto victim = rt->list_workers()[round % 2].os_pid;
    REQUIRE(::kill(victim, SIGKILL) == 0);
    killed.push_back(victim);
    // Wait until the pool has noticed, so the next round picks a live worker.
    REQUIRE(eventually([&] {
      for (auto& w : rt->list_workers())
        if (w.os_pid == victim)
          return false;
      return true;
    }));
  }
  CHECK(eventually([&] { return full_and_ready(*rt.rt, 2); }, 10000ms));
  for (int pid : killed)
    CHECK_FALSE(process_alive(pid));
  CHECK(rt->execute("ping"));
  CHECK(rt->stats().worker_crashes >= 20);
}

TEST_CASE("the_queue_refuses_calls_beyond_max_queue") {
  auto cfg = test_config(1);
  cfg.max_queue = 2;
  ready_runtime rt{cfg};
  std::vector<std::thread> callers;
  std::atomic<int> queue_full{0}, ok{0};
  for (int i = 0; i < 6; ++i)
    callers.emplace_back([&] {
      auto r = rt->execute("sleep_ms", {{"ms", 800}});
      if (r)
        ok++;
      else if (r.error().code() == errc::queue_full)
        queue_full++;
    });
  for (auto& t : callers)
    t.join();
  CHECK(ok >= 3);          // one running, two queued
  CHECK(queue_full >= 1);
  CHECK(ok + queue_full == 6);
}

TEST_CASE("concurrent_callers_from_many_threads_all_get_their_own_answers") {
  ready_runtime rt;
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t)
    callers.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto r = rt->execute("add", {{"a", t}, {"b", i}});
        if (!r || *r != t + i)
          wrong++;
      }
    });
  for (auto& t : callers)
    t.join();
  CHECK(wrong == 0);
  auto s = rt->stats();
  CHECK(s.completed >= 400);
  CHECK(s.errors == 0);
}

TEST_CASE("session_affinity_hint_keeps_a_session_on_one_worker") {
  ready_runtime rt;
  std::set<int> pids;
  for (int i = 0; i < 10; ++i) {
    auto r = rt->execute_in_session("s1", "worker_info");
    REQUIRE(r);
    pids.insert(r->at("pid").get<int>());
  }
  CHECK(pids.size() == 1);
}

TEST_CASE("strict_fail_fast_affinity_fails_when_the_sessions_worker_is_busy") {
  ready_runtime rt;
  REQUIRE(rt->execute_in_session("s2", "ping"));
  std::thread busy([&] { (void) rt->execute_in_session("s2", "sleep_ms", {{"ms", 600}}); });
  // Wait until the long call is on its worker (not a fixed sleep).
  REQUIRE(eventually([&] { return rt->stats().busy >= 1; }));
  snakepit::call_options o;
  o.affinity = snakepit::affinity_mode::strict_fail_fast;
  auto r = rt->execute_in_session("s2", "ping", {}, o);
  busy.join();
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::worker_busy);
}

TEST_CASE("strict_queue_affinity_waits_for_the_sessions_worker") {
  ready_runtime rt;
  auto first = rt->execute_in_session("s3", "worker_info");
  REQUIRE(first);
  std::thread busy([&] { (void) rt->execute_in_session("s3", "sleep_ms", {{"ms", 400}}); });
  // Wait until the long call is on its worker (not a fixed sleep).
  REQUIRE(eventually([&] { return rt->stats().busy >= 1; }));
  snakepit::call_options o;
  o.affinity = snakepit::affinity_mode::strict_queue;
  auto r = rt->execute_in_session("s3", "worker_info", {}, o);
  busy.join();
  REQUIRE(r);
  CHECK(r->at("pid") == first->at("pid"));
}

TEST_CASE("hint_affinity_falls_back_to_another_worker_when_busy") {
  ready_runtime rt;
  auto first = rt->execute_in_session("s4", "worker_info");
  REQUIRE(first);
  std::thread busy([&] { (void) rt->execute_in_session("s4", "sleep_ms", {{"ms", 500}}); });
  // Wait until the long call is on its worker (not a fixed sleep).
  REQUIRE(eventually([&] { return rt->stats().busy >= 1; }));
  auto r = rt->execute_in_session("s4", "worker_info");
  busy.join();
  REQUIRE(r);
  CHECK(r->at("pid") != first->at("pid"));
}

TEST_CASE("shutdown_under_load_answers_every_call_and_leaves_no_process") {
  auto rt = std::make_unique<snakepit::runtime>(test_config(2));
  auto run_id = rt->run_id();
  REQUIRE(rt->await_ready(20000ms));
  std::atomic<int> answered{0}, unexpected{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto r = rt->execute("sleep_ms", {{"ms", 20}});
        answered++;
        if (!r && r.error().code() != errc::shutting_down)
          unexpected++;
      }
    });
  std::this_thread::sleep_for(150ms);
  rt->shutdown();
  for (auto& t : callers)
    t.join();
  CHECK(answered == 80);
  CHECK(unexpected == 0);
  CHECK(pids_with_run_id(run_id).empty());
}

TEST_CASE("a_missing_interpreter_fails_fast_with_a_clear_error") {
  auto cfg = test_config(1);
  cfg.python = "/nonexistent/python3";
  snakepit::runtime rt{cfg};
  auto t0 = std::chrono::steady_clock::now();
  auto ok = rt.await_ready(10000ms);
  REQUIRE_FALSE(ok);
  CHECK(ok.error().code() == errc::invalid_argument);
  CHECK(ok.error().message().find("/nonexistent/python3") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - t0 < 1000ms);
  CHECK(rt.execute("ping").error().code() == errc::invalid_argument);
}

TEST_CASE("an_adapter_that_does_not_import_fails_await_ready_fast_and_leaves_no_process") {
  auto cfg = test_config(2);
  cfg.adapter = "no_such_module_anywhere";
  snakepit::runtime rt{cfg};
  auto t0 = std::chrono::steady_clock::now();
  auto ok = rt.await_ready(20000ms);
  REQUIRE_FALSE(ok);
  CHECK(ok.error().code() == errc::startup_failed);
  CHECK(ok.error().message().find("no_such_module_anywhere") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - t0 < 5000ms);
  CHECK(pids_with_run_id(rt.run_id()).empty());
}
