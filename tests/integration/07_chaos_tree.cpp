// Chaos inside the tree: parts of the supervision tree killed, the process
// registry's file corrupted, and the telemetry those layers report.
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "integration/host_process.hpp"
#include "supervision/blocking_calls.hpp"
#include "transport/process_registry.hpp"

using namespace snakepit::test;
namespace sv = snakepit::supervision;

namespace {

// Every telemetry event, for the test to look at afterwards.
struct telemetry_recorder {
  std::mutex mx;
  std::vector<snakepit::telemetry_event> events;
  snakepit::telemetry_handler handler() {
    return [this](const snakepit::telemetry_event& ev) {
      std::lock_guard<std::mutex> guard{mx};
      events.push_back(ev);
    };
  }
  std::optional<snakepit::telemetry_event> last(const std::string& name) {
    std::lock_guard<std::mutex> guard{mx};
    for (auto it = events.rbegin(); it != events.rend(); ++it)
      if (it->name == name)
        return *it;
    return std::nullopt;
  }
};

caf::actor tree_child(snakepit::runtime& rt, const std::string& id) {
  auto children = sv::which_children(rt.system(), rt.supervision_tree());
  REQUIRE(children);
  for (auto& c : *children)
    if (c.id == id)
      return c.handle;
  FAIL("no child " << id << " in the tree");
  return {};
}

// Live (non-zombie) processes of the run, by the --worker-id on their
// command line.
std::map<std::string, std::vector<int>> processes_by_slot(const std::string& run_id) {
  std::map<std::string, std::vector<int>> out;
  for (int pid : pids_with_run_id(run_id)) {
    std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    std::string arg;
    bool next_is_id = false;
    while (std::getline(cmd, arg, '\0')) {
      if (next_is_id) {
        out[arg].push_back(pid);
        break;
      }
      next_is_id = arg == "--worker-id";
    }
  }
  return out;
}

bool all_ready_with_new_pids(snakepit::runtime& rt, const std::vector<int>& old) {
  auto ws = rt.list_workers();
  if (ws.size() != old.size())
    return false;
  for (auto& w : ws)
    if (w.state != snakepit::worker_state::ready
        || std::find(old.begin(), old.end(), w.os_pid) != old.end())
      return false;
  return true;
}

} // namespace

TEST_CASE("the_worker_supervisor_killed_is_restarted_and_new_workers_never_overlap_old_processes") {
  auto cfg = test_config(2);
  ready_runtime rt{cfg};
  std::vector<int> old;
  for (auto& w : rt->list_workers())
    old.push_back(w.os_pid);
  // They ignore SIGTERM: a killed worker actor cannot stop its process
  // gracefully, only the group SIGKILL of its exit removes it.
  for (int i = 0; i < 2; ++i)
    REQUIRE(rt->execute("ignore_sigterm"));

  // Watch the process table while the tree recovers: at no moment may a
  // slot have two live processes (the new one waits for the old group).
  std::atomic<bool> watching{true};
  std::atomic<int> overlaps{0};
  std::atomic<int> samples_with_processes{0};
  std::string overlap_seen;
  std::thread watcher{[&] {
    while (watching) {
      auto slots = processes_by_slot(rt.run_id);
      if (!slots.empty())
        ++samples_with_processes;
      for (auto& [slot, pids] : slots)
        if (pids.size() > 1 && overlaps++ == 0)
          overlap_seen = fmt::format("{}: {} processes", slot, pids.size());
      std::this_thread::sleep_for(2ms);
    }
  }};
  auto sup = tree_child(*rt.rt, "worker_supervisor");
  REQUIRE(sup);
  caf::anon_send_exit(sup, caf::exit_reason::kill);
  bool recovered = eventually([&] { return all_ready_with_new_pids(*rt.rt, old); }, 15000ms);
  watching = false;
  watcher.join();
  CHECK(recovered);
  CHECK(samples_with_processes > 0);  // the watcher does see the workers
  CHECK_MESSAGE(overlaps == 0, overlap_seen);
  for (int pid : old)
    CHECK_FALSE(process_alive(pid));
  CHECK(rt->execute("ping"));
  // Restarted, not replaced by hand: the app supervisor counts the restart.
  auto children = sv::which_children(rt->system(), rt->supervision_tree());
  REQUIRE(children);
  for (auto& c : *children)
    if (c.id == "worker_supervisor")
      CHECK(c.restarts == 1);
}

TEST_CASE("the_process_registry_actor_killed_is_restarted_and_spawns_are_still_recorded") {
  auto cfg = test_config(1);
  ready_runtime rt{cfg};
  int old = rt->list_workers().at(0).os_pid;
  auto registry = tree_child(*rt.rt, "process_registry");
  REQUIRE(registry);
  // rest_for_one: the pool and the worker supervisor, started after the
  // registry, are restarted with it; the worker's process is replaced.
  caf::anon_send_exit(registry, caf::exit_reason::kill);
  REQUIRE(eventually([&] { return all_ready_with_new_pids(*rt.rt, {old}); }, 15000ms));
  CHECK_FALSE(process_alive(old));
  int fresh = rt->list_workers().at(0).os_pid;
  auto path = cfg.data_dir + "/" + cfg.instance + ".sqlite";
  auto reg = snakepit::transport::process_registry::open(path);
  REQUIRE(reg);
  // The new process was recorded through the restarted actor (the row is
  // completed from the launcher's thread right after the spawn).
  CHECK(eventually([&] {
    auto live = (*reg)->live_processes_of(rt.run_id);
    if (!live)
      return false;
    for (auto& row : *live)
      if (row.pid == fresh)
        return true;
    return false;
  }, 2000ms));
}

TEST_CASE("a_corrupt_registry_file_is_moved_aside_and_the_boot_sweep_still_finds_orphans") {
  // The orphan: a grandchild a SIGKILLed host left behind (its worker died of
  // the parent-death signal). Then the registry file is destroyed.
  const std::string data_dir = "/tmp/snakepit-tests";
  const std::string instance = fmt::format("corrupt-{}", ::getpid());
  auto old = start_and_kill_host(data_dir, instance, true);
  REQUIRE(old.grandchild > 0);
  REQUIRE(eventually([&] {
    for (int pid : old.worker_pids)
      if (process_alive(pid))
        return false;
    return true;
  }, 3000ms));
  REQUIRE(process_alive(old.grandchild));
  const auto path = data_dir + "/" + instance + ".sqlite";
  for (const char* suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(path + suffix);
  {
    std::ofstream garbage(path, std::ios::binary | std::ios::trunc);
    garbage << std::string(8192, '\x5a');
  }

  telemetry_recorder telemetry;
  std::vector<std::string> warnings;
  std::mutex warnings_mx;
  auto cfg = test_config(1);
  cfg.instance = instance;
  cfg.telemetry = telemetry.handler();
  cfg.log = [&](snakepit::log_level level, const std::string& line) {
    if (level >= snakepit::log_level::warning) {
      std::lock_guard<std::mutex> guard{warnings_mx};
      warnings.push_back(line);
    }
  };
  {
    ready_runtime fresh{cfg};
    // The host started, warned, and swept the orphan by its environment.
    CHECK_FALSE(process_alive(old.grandchild));
    CHECK(fresh->boot_sweep().found_by_environment >= 1);
    CHECK(fresh->boot_sweep().killed >= 1);
    auto moved = telemetry.last("snakepit.registry.moved_aside");
    REQUIRE(moved);
    CHECK(std::filesystem::exists(moved->metadata.at("moved_to")));
    auto swept = telemetry.last("snakepit.boot_sweep.done");
    REQUIRE(swept);
    CHECK(swept->measurements.at("found_by_environment") >= 1);
    std::lock_guard<std::mutex> guard{warnings_mx};
    bool warned = false;
    for (auto& w : warnings)
      warned = warned || w.find("moved") != std::string::npos;
    CHECK_MESSAGE(warned, "no warning about the corrupt registry file");
    CHECK(fresh->execute("ping"));
    std::filesystem::remove(moved->metadata.at("moved_to"));
  }
  if (process_alive(old.grandchild))  // never leave it behind, even on failure
    ::kill(old.grandchild, SIGKILL);
}

TEST_CASE("telemetry_reports_the_boot_sweep_and_a_cleanup_that_found_nothing") {
  telemetry_recorder telemetry;
  auto cfg = test_config(1);
  cfg.instance = fmt::format("telemetry-{}", ::getpid());
  cfg.telemetry = telemetry.handler();
  std::string run_id;
  {
    ready_runtime rt{cfg};
    run_id = rt.run_id;
    auto swept = telemetry.last("snakepit.boot_sweep.done");
    REQUIRE(swept);
    CHECK(swept->measurements.at("found") == 0);
    CHECK(swept->measurements.at("killed") == 0);
    CHECK(swept->metadata.at("run_id") == run_id);
    CHECK(swept->metadata.at("instance") == cfg.instance);
    CHECK_FALSE(telemetry.last("snakepit.cleanup.done"));  // only at shutdown
  }
  auto cleaned = telemetry.last("snakepit.cleanup.done");
  REQUIRE(cleaned);
  CHECK(cleaned->measurements.at("orphans_found") == 0);
  CHECK(cleaned->measurements.at("orphans_killed") == 0);
  CHECK(cleaned->metadata.at("run_id") == run_id);
}
