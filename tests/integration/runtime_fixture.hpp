#pragma once
// Real Python workers for integration tests: a runtime per test, and the
// process table checks that prove nothing was left behind.

#include <dirent.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <snakepit/snakepit.hpp>

#include "support/eventually.hpp"

namespace snakepit::test {

using namespace std::chrono_literals;

/// State and parent of a process from /proc/PID/stat, or nullopt if it is gone.
struct proc_status {
  char state = '?';
  int ppid = 0;
};

inline std::optional<proc_status> read_status(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line))
    return std::nullopt;
  auto close = line.rfind(')');  // the command name may itself hold ')'
  if (close == std::string::npos || close + 4 >= line.size())
    return std::nullopt;
  return proc_status{line[close + 2], std::atoi(line.c_str() + close + 4)};
}

/// Calls `f(pid)` for every process in /proc.
template <class F>
void for_each_process(F f) {
  DIR* proc = ::opendir("/proc");
  if (!proc)
    return;
  while (auto* e = ::readdir(proc))
    if (int pid = std::atoi(e->d_name); pid > 0)
      f(pid);
  ::closedir(proc);
}

/// Pids of live (non-zombie) processes whose command line carries `run_id`.
inline std::vector<int> pids_with_run_id(const std::string& run_id) {
  std::vector<int> out;
  for_each_process([&](int pid) {
    std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    std::string args((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
    if (args.find(run_id) == std::string::npos)
      return;
    if (auto st = read_status(pid); st && st->state != 'Z')
      out.push_back(pid);
  });
  return out;
}

/// Children of this (test) process that died and were never reaped.
inline int zombie_children() {
  int n = 0;
  const int self = ::getpid();
  for_each_process([&](int pid) {
    auto st = read_status(pid);
    n += st && st->state == 'Z' && st->ppid == self;
  });
  return n;
}

inline bool process_alive(int pid) {
  if (::kill(pid, 0) != 0)
    return false;
  auto st = read_status(pid);
  return st && st->state != 'Z';
}

/// What went wrong with a result, for failure messages.
template <class R>
std::string why(const R& r) {
  return r ? std::string{} : r.error().to_string();
}

inline config test_config(std::size_t workers = 2) {
  config cfg;
  cfg.pool_size = workers;
  cfg.startup_timeout = 15000ms;
  cfg.call_timeout = 10000ms;
  cfg.shutdown_grace = 1000ms;
  // The tests' own process registry, away from the user's state.
  cfg.data_dir = "/tmp/snakepit-tests";
  cfg.instance = "integration";
  cfg.log = [](log_level level, const std::string& line) {
    if (level >= log_level::error)
      MESSAGE(line);
  };
  return cfg;
}

/// A ready runtime; at the end it is shut down and the test checks that no
/// process of its run is left.
struct ready_runtime {
  std::unique_ptr<runtime> rt;
  std::string run_id;

  explicit ready_runtime(config cfg = test_config()) {
    rt = std::make_unique<runtime>(std::move(cfg));
    run_id = rt->run_id();
    auto ok = rt->await_ready(20000ms);
    REQUIRE_MESSAGE(bool(ok), why(ok));
  }

  ~ready_runtime() {
    rt->shutdown();
    // shutdown() returns once every process group is gone: check at once.
    CHECK(pids_with_run_id(run_id).empty());
    // ... and application cleanup found nothing left to kill.
    CHECK(rt->last_cleanup().ran);
    CHECK(rt->last_cleanup().orphans_found == 0);
    // ... and every process the runtime started was reaped: no zombie.
    CHECK(zombie_children() == 0);
  }

  runtime* operator->() { return rt.get(); }
};

} // namespace snakepit::test
