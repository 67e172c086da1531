#include "global_tracker.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <fmt/format.h>

#include "proc_scan.hpp"

namespace snakepit::demos {

namespace {

using namespace std::chrono_literals;

template <class Pred>
bool settle(Pred pred, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> found;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (auto* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..")
        found.push_back(dir + "/" + name);
    }
    ::closedir(d);
  }
  return found;
}

void kill_and_reap(int pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  // Reaps it if it is our child; harmless otherwise (ECHILD).
  for (int i = 0; i < 100; ++i) {
    auto r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || r < 0)
      return;
    std::this_thread::sleep_for(10ms);
  }
}

} // namespace

global_tracker::global_tracker(caf::actor_system& actors) : actors_(actors) {}

void global_tracker::begin_demo() {
  actors_before_ = actors_.registry().running();
  children_before_.clear();
  for (auto& p : children_of_this_process())
    children_before_.insert(p.pid);
}

std::vector<leak_record> global_tracker::check_before_shutdown(context::internals& demo,
                                                               const std::string& scratch_dir) {
  std::vector<leak_record> leaks;
  // What the demo tracked and released must be gone.
  for (auto& r : demo.resources)
    if (!r.last && r.alive && r.alive())
      leaks.push_back({r.kind, r.id + " still exists after its release"});
  // Sessions, tracked or not: none may outlive the demo.
  for (auto& rt : demo.runtimes) {
    for (auto& id : rt->list_sessions()) {
      leaks.push_back({"session", id + " was never closed"});
      (void)rt->close_session(id);
    }
  }
  // Files in the demo's scratch directory, tracked or not.
  for (auto& path : files_in(scratch_dir)) {
    leaks.push_back({"file", path + " was left behind"});
    ::unlink(path.c_str());
  }
  // Actors the demo spawned in the runner's actor system.
  auto& registry = actors_.registry();
  if (!settle([&] { return registry.running() <= actors_before_; }, 1500ms))
    leaks.push_back({"actor", fmt::format("{} actor(s) spawned by the demo still running",
                                          registry.running() - actors_before_)});
  leaks_found_ += leaks.size();
  return leaks;
}

std::vector<leak_record> global_tracker::check_after_shutdown(context::internals& demo) {
  std::vector<leak_record> leaks;
  // The runtime's own emergency cleanup: in the normal case it finds nothing.
  for (auto& rt : demo.runtimes) {
    auto& report = rt->last_cleanup();
    if (report.ran && report.orphans_found > 0)
      leaks.push_back({"process", fmt::format("application cleanup of run {} found {} orphan(s) "
                                              "and killed {}", rt->run_id(), report.orphans_found,
                                              report.orphans_killed)});
  }
  for (auto& run_id : demo.run_ids) {
    settle([&] { return processes_with(run_id).empty(); }, 1000ms);
    for (auto& p : processes_with(run_id)) {
      leaks.push_back({"process", fmt::format("pid {} of run {} {}: {}", p.pid, run_id,
                                              p.state == 'Z' ? "not reaped" : "still running",
                                              p.cmdline.substr(0, 120))});
      kill_and_reap(p.pid);
    }
  }
  auto new_children = [&] {
    std::vector<process_entry> found;
    for (auto& p : children_of_this_process())
      if (!children_before_.count(p.pid))
        found.push_back(p);
    return found;
  };
  settle([&] { return new_children().empty(); }, 1000ms);
  for (auto& p : new_children()) {
    bool counted = false;
    for (auto& l : leaks)
      counted = counted || l.what.rfind(fmt::format("pid {} ", p.pid), 0) == 0;
    if (!counted)
      leaks.push_back({"process", fmt::format("child pid {} ({}) {}", p.pid,
                                              p.state == 'Z' ? "not reaped" : "still running",
                                              p.cmdline.substr(0, 120))});
    kill_and_reap(p.pid);
  }
  ++demos_checked_;
  leaks_found_ += leaks.size();
  return leaks;
}

} // namespace snakepit::demos
