// Chaos: a host killed with SIGKILL, then a new host of the same instance.
// Its workers must be gone (parent-death signal, Python watchdog, boot sweep)
// and the new host's workers untouched.
#include <filesystem>
#include <fmt/format.h>

#include "integration/host_process.hpp"

using namespace snakepit::test;



TEST_CASE("a_host_killed_with_sigkill_leaves_nothing_once_a_new_host_of_its_instance_starts") {
  const std::string data_dir = "/tmp/snakepit-tests";
  const std::string instance = fmt::format("chaos-{}", ::getpid());
  for (int round = 0; round < 10; ++round) {
    auto old = start_and_kill_host(data_dir, instance);
    REQUIRE(old.worker_pids.size() == 2);
    auto cfg = test_config(2);
    cfg.instance = instance;
    auto t0 = std::chrono::steady_clock::now();
    auto alive_at_start = pids_with_run_id(old.run_id).size();
    ready_runtime fresh{cfg};
    // The old workers are gone within 2 s of the new start.
    CHECK(eventually([&] { return pids_with_run_id(old.run_id).empty(); },
                     2000ms - std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - t0)));
    auto clean_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - t0).count();
    MESSAGE("round " << round << ": " << alive_at_start << " old processes alive at the new "
            "start, none " << clean_ms << " ms later (new host ready); boot sweep found "
            << fresh->boot_sweep().found << ", killed " << fresh->boot_sweep().killed);
    for (int pid : old.worker_pids)
      CHECK_FALSE(process_alive(pid));
    // Nor its runtime directory (the sweep removes it with the run).
    REQUIRE_FALSE(old.runtime_dir.empty());
    CHECK_FALSE(std::filesystem::exists(old.runtime_dir));
    CHECK(fresh->boot_sweep().runtime_dirs_removed == 1);
    // The new host's workers were not touched by the sweep.
    auto workers = fresh->list_workers();
    REQUIRE(workers.size() == 2);
    for (auto& w : workers)
      CHECK(process_alive(w.os_pid));
    CHECK(fresh->execute("ping"));
    CHECK(fresh->boot_sweep().ran);
  }
}

TEST_CASE("a_grandchild_left_by_a_sigkilled_host_is_swept_by_the_next_host") {
  // The parent-death signal reaches only the worker; its grandchild is
  // re-parented and lives on. It carries the run id in its environment, so
  // the next host of the instance finds and kills it at boot.
  const std::string instance = fmt::format("grandchild-{}", ::getpid());
  auto old = start_and_kill_host("/tmp/snakepit-tests", instance, true);
  REQUIRE(old.grandchild > 0);
  REQUIRE(eventually([&] {
    for (int pid : old.worker_pids)
      if (process_alive(pid))
        return false;
    return true;
  }, 3000ms));
  CHECK(process_alive(old.grandchild));  // an orphan until someone sweeps
  auto cfg = test_config(1);
  cfg.instance = instance;
  ready_runtime fresh{cfg};
  CHECK(eventually([&] { return !process_alive(old.grandchild); }, 2000ms));
  CHECK(fresh->boot_sweep().found >= 1);
  if (process_alive(old.grandchild))  // never leave it behind, even on failure
    ::kill(old.grandchild, SIGKILL);
}

TEST_CASE("two_instances_on_one_machine_never_sweep_each_others_processes") {
  // A SIGKILLed host of instance A leaves a grandchild; a host of instance B
  // starts (its boot sweep runs) while a live host of A also runs: neither
  // the orphan of A nor the live worker of A is touched by B.
  const std::string data_dir = "/tmp/snakepit-tests";
  const std::string a = fmt::format("pair-a-{}", ::getpid());
  const std::string b = fmt::format("pair-b-{}", ::getpid());
  auto old_a = start_and_kill_host(data_dir, a, true);
  REQUIRE(old_a.grandchild > 0);
  {
    auto cfg_a = test_config(1);
    cfg_a.instance = a;
    cfg_a.boot_sweep = false;  // A's own sweep would take its orphan: keep it for B to ignore
    ready_runtime live_a{cfg_a};
    auto a_worker = live_a->list_workers().at(0).os_pid;
    auto cfg_b = test_config(1);
    cfg_b.instance = b;
    ready_runtime host_b{cfg_b};
    CHECK(host_b->boot_sweep().ran);
    CHECK(host_b->boot_sweep().found == 0);
    CHECK(process_alive(old_a.grandchild));
    CHECK(process_alive(a_worker));
    CHECK(live_a->execute("ping"));
  }
  // The next host of A does sweep it.
  auto cfg_a2 = test_config(1);
  cfg_a2.instance = a;
  ready_runtime next_a{cfg_a2};
  CHECK(eventually([&] { return !process_alive(old_a.grandchild); }, 2000ms));
  CHECK(next_a->boot_sweep().found >= 1);
  if (process_alive(old_a.grandchild))
    ::kill(old_a.grandchild, SIGKILL);
}
