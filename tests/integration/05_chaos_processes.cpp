// Chaos: grandchildren, workers that ignore SIGTERM, and the public cleanup.
#include <spawn.h>
#include <sys/wait.h>

#include <fmt/format.h>

#include "integration/host_process.hpp"

using namespace snakepit::test;
using snakepit::errc;

TEST_CASE("a_grandchild_dies_with_its_killed_worker") {
  auto cfg = test_config(1);
  ready_runtime rt{cfg};
  auto spawned = rt->execute("spawn_grandchild");
  REQUIRE_MESSAGE(bool(spawned), why(spawned));
  int grandchild = spawned->at("pid");
  REQUIRE(process_alive(grandchild));
  auto worker = rt->list_workers().at(0).os_pid;
  REQUIRE(::kill(worker, SIGKILL) == 0);
  // The worker's whole process group is killed, so the grandchild goes too.
  CHECK(eventually([&] { return !process_alive(grandchild); }, 2000ms));
  CHECK(eventually([&] {
    auto ws = rt->list_workers();
    return ws.size() == 1 && ws[0].os_pid != worker && ws[0].state == snakepit::worker_state::ready;
  }));
}

TEST_CASE("a_grandchild_is_stopped_with_its_worker_at_shutdown") {
  auto cfg = test_config(1);
  auto rt = std::make_unique<snakepit::runtime>(cfg);
  REQUIRE(rt->await_ready(20000ms));
  auto spawned = rt->execute("spawn_grandchild");
  REQUIRE(spawned);
  int grandchild = spawned->at("pid");
  rt->shutdown();
  CHECK_FALSE(process_alive(grandchild));
  CHECK(rt->last_cleanup().orphans_found == 0);
}

TEST_CASE("a_worker_that_ignores_sigterm_is_killed_after_the_grace_and_shutdown_completes") {
  auto cfg = test_config(2);
  cfg.shutdown_grace = 500ms;
  auto rt = std::make_unique<snakepit::runtime>(cfg);
  REQUIRE(rt->await_ready(20000ms));
  auto run_id = rt->run_id();
  // Both workers ignore SIGTERM from now on.
  for (int i = 0; i < 2; ++i)
    REQUIRE(rt->execute("ignore_sigterm"));
  auto t0 = std::chrono::steady_clock::now();
  rt->shutdown();
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= 500ms);   // each got its grace period ...
  CHECK(took < 3000ms);   // ... and was then killed, concurrently
  CHECK(pids_with_run_id(run_id).empty());
  CHECK(rt->last_cleanup().orphans_found == 0);
}

TEST_CASE("runtime_cleanup_accounts_for_every_process_an_earlier_host_recorded") {
  auto instance = fmt::format("cleanup-{}", ::getpid());
  auto old = start_and_kill_host("/tmp/snakepit-tests", instance);
  REQUIRE(old.worker_pids.size() == 2);
  auto cfg = test_config(1);
  cfg.instance = instance;
  auto lines = std::make_shared<std::vector<std::string>>();
  cfg.log = [lines](snakepit::log_level, const std::string& line) { lines->push_back(line); };
  auto report = snakepit::runtime::cleanup(cfg);
  REQUIRE_MESSAGE(bool(report), why(report));
  CHECK(report->ran);
  // The parent-death signal usually gets there first; either way, both
  // recorded workers are accounted for and none is left running.
  std::string said;
  for (auto& l : *lines)
    said += l + " | ";
  INFO(said);
  INFO("found " << report->found << ", already gone " << report->already_gone
       << ", pid reused " << report->skipped_pid_reused << ", by environment "
       << report->found_by_environment << ", killed " << report->killed);
  CHECK(report->found + report->already_gone == 2);
  CHECK(report->survived == 0);
  CHECK(eventually([&] { return pids_with_run_id(old.run_id).empty(); }, 2000ms));
  // A second cleanup has nothing left to do: the run was ended and pruned.
  auto again = snakepit::runtime::cleanup(cfg);
  REQUIRE(again);
  CHECK(again->found + again->already_gone == 0);
}

TEST_CASE("application_cleanup_reports_and_kills_a_process_supervision_missed") {
  auto cfg = test_config(1);
  auto rt = std::make_unique<snakepit::runtime>(cfg);
  REQUIRE(rt->await_ready(20000ms));
  // A process of this run that no worker owns: exactly what cleanup is for.
  std::string env_entry = "SNAKEPIT_RUN_ID=" + rt->run_id();
  std::vector<char*> envp{env_entry.data(), nullptr};
  std::string prog = "/bin/sleep", arg = "600";
  std::vector<char*> argv{prog.data(), arg.data(), nullptr};
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);  // its own group, like ours
  pid_t stray = 0;
  REQUIRE(::posix_spawn(&stray, prog.c_str(), nullptr, &attr, argv.data(), envp.data()) == 0);
  posix_spawnattr_destroy(&attr);
  rt->shutdown();
  CHECK(rt->last_cleanup().ran);
  CHECK(rt->last_cleanup().orphans_found == 1);
  CHECK(rt->last_cleanup().orphans_killed == 1);
  int status = 0;
  CHECK(::waitpid(stray, &status, 0) == stray);  // our child: reap it
  CHECK(WIFSIGNALED(status));
}
