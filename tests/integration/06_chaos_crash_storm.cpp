// Chaos: a crash storm. While 200 calls run at concurrency 16, two workers
// are killed every 25 ms for 30 rounds. The pool must come back to full
// size, every error must be a typed worker error, and every killed process
// must be gone.
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "integration/runtime_fixture.hpp"

using namespace snakepit::test;
using snakepit::errc;

TEST_CASE("a_crash_storm_leaves_a_full_pool_typed_errors_and_no_killed_process") {
  auto cfg = test_config(2);
  ready_runtime rt{cfg};
  std::atomic<int> next{0}, ok{0}, worker_errors{0}, other_errors{0};
  std::mutex mx;
  std::set<std::string> unexpected;
  std::vector<std::thread> callers;
  for (int t = 0; t < 16; ++t)
    callers.emplace_back([&] {
      while (next++ < 200) {
        auto r = rt->execute("sleep_ms", {{"ms", 10}});
        if (r) {
          ++ok;
        } else if (r.error().code() == errc::worker_crashed || r.error().code() == errc::timeout
                   || r.error().code() == errc::not_ready) {
          ++worker_errors;
        } else {
          ++other_errors;
          std::lock_guard<std::mutex> guard{mx};
          unexpected.insert(r.error().to_string());
        }
      }
    });
  std::vector<int> killed;
  for (int round = 0; round < 30; ++round) {
    for (auto& w : rt->list_workers())
      if (w.os_pid > 0 && ::kill(w.os_pid, SIGKILL) == 0)
        killed.push_back(w.os_pid);
    std::this_thread::sleep_for(25ms);
  }
  for (auto& t : callers)
    t.join();
  for (auto& u : unexpected)
    MESSAGE("unexpected error: " << u);
  CHECK(other_errors == 0);
  CHECK(ok + worker_errors == 200);
  CHECK(eventually([&] {
    auto ws = rt->list_workers();
    return ws.size() == 2 && ws[0].state == snakepit::worker_state::ready
           && ws[1].state == snakepit::worker_state::ready;
  }, 10000ms));
  CHECK(eventually([&] {
    for (int pid : killed)
      if (process_alive(pid))
        return false;
    return true;
  }, 2000ms));
  CHECK(rt->execute("ping"));
  MESSAGE("killed " << killed.size() << " workers; " << ok.load() << " calls ok, " << worker_errors.load()
                    << " worker errors");
}
