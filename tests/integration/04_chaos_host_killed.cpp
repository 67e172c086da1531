// Chaos: a host killed with SIGKILL, then a new host of the same instance.
// Its workers must be gone (parent-death signal, Python watchdog, boot sweep)
// and the new host's workers untouched.
#include <fmt/format.h>

#include "integration/host_process.hpp"

using namespace snakepit::test;



TEST_CASE("a_host_killed_with_sigkill_leaves_nothing_once_a_new_host_of_its_instance_starts") {
  const std::string data_dir = "/tmp/snakepit-tests";
  const std::string instance = fmt::format("chaos-{}", ::getpid());
  for (int round = 0; round < 5; ++round) {
    auto old = start_and_kill_host(data_dir, instance);
    REQUIRE(old.worker_pids.size() == 2);
    auto cfg = test_config(2);
    cfg.instance = instance;
    auto t0 = std::chrono::steady_clock::now();
    ready_runtime fresh{cfg};
    // The old workers are gone within 2 s of the new start.
    CHECK(eventually([&] { return pids_with_run_id(old.run_id).empty(); },
                     2000ms - std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - t0)));
    for (int pid : old.worker_pids)
      CHECK_FALSE(process_alive(pid));
    // The new host's workers were not touched by the sweep.
    auto workers = fresh->list_workers();
    REQUIRE(workers.size() == 2);
    for (auto& w : workers)
      CHECK(process_alive(w.os_pid));
    CHECK(fresh->execute("ping"));
    CHECK(fresh->boot_sweep().ran);
  }
}
