#include "transport/orphan_sweep.hpp"

#include "transport/process_registry_proc.hpp"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <thread>

namespace snakepit::transport {
namespace {

using clock_type = std::chrono::steady_clock;

struct orphan {
  process_id pid = 0;
  process_id pgid = 0;
  std::uint64_t start_ticks = 0;
  bool gone = false;
};

bool still_alive(const orphan& o) {
  const auto st = read_proc_stat(o.pid);
  return st && !st->zombie() && st->start_ticks == o.start_ticks;
}

// Our launcher makes every worker lead its own group, so the group is the
// worker and its descendants; the host's own group is never signalled.
void signal_orphan(const orphan& o, int sig) {
  if (!still_alive(o))
    return;
  if (o.pgid > 1 && o.pgid != ::getpgrp())
    ::kill(-o.pgid, sig);
  ::kill(o.pid, sig);
}

// Waits until every orphan is gone or the deadline passes; returns how many
// are still alive.
std::size_t wait_gone(std::vector<orphan>& all, clock_type::time_point deadline,
                      std::chrono::milliseconds poll) {
  for (;;) {
    std::size_t alive = 0;
    for (auto& o : all)
      if (!o.gone && !(o.gone = !still_alive(o)))
        ++alive;
    if (alive == 0 || clock_type::now() >= deadline)
      return alive;
    std::this_thread::sleep_for(poll);
  }
}

} // namespace

std::string current_host_identity() {
  const auto self = ::getpid();
  const auto ticks = read_process_start_ticks(self).value_or(0);
  return std::to_string(self) + ":" + std::to_string(ticks);
}

bool host_identity_alive(std::string_view identity) {
  const auto colon = identity.find(':');
  if (colon == std::string_view::npos)
    return false;
  process_id pid = 0;
  std::uint64_t ticks = 0;
  auto pid_part = identity.substr(0, colon);
  auto tick_part = identity.substr(colon + 1);
  if (std::from_chars(pid_part.data(), pid_part.data() + pid_part.size(), pid).ec != std::errc{}
      || std::from_chars(tick_part.data(), tick_part.data() + tick_part.size(), ticks).ec
           != std::errc{}
      || pid <= 0)
    return false;
  const auto st = read_proc_stat(pid);
  return st && !st->zombie() && st->start_ticks == ticks;
}

orphan_sweep_result sweep_orphans_by_environment(std::string_view instance,
                                                 std::string_view current_run_id,
                                                 const orphan_sweep_options& options) {
  orphan_sweep_result out;
  if (instance.empty())
    return out;
  std::vector<orphan> found;
  if (DIR* proc = ::opendir("/proc")) {
    const process_id self = ::getpid();
    while (const dirent* entry = ::readdir(proc)) {
      if (entry->d_name[0] < '1' || entry->d_name[0] > '9')
        continue;
      const auto pid = static_cast<process_id>(std::strtol(entry->d_name, nullptr, 10));
      if (pid == self)
        continue;
      const auto st = read_proc_stat(pid);
      if (!st || st->zombie())
        continue;
      if (read_environment_variable(pid, instance_variable) != instance)
        continue;
      const auto run = read_environment_variable(pid, run_id_variable);
      if (!run || run->empty() || *run == current_run_id)
        continue;
      if (host_identity_alive(read_environment_variable(pid, host_variable).value_or(""))) {
        ++out.skipped_live_host;
        continue;
      }
      found.push_back({pid, st->pgrp, st->start_ticks});
    }
    ::closedir(proc);
  }
  out.found = found.size();
  if (found.empty())
    return out;
  for (auto& o : found)
    signal_orphan(o, SIGTERM);
  if (wait_gone(found, clock_type::now() + options.grace, options.poll_interval) > 0) {
    for (auto& o : found)
      if (!o.gone)
        signal_orphan(o, SIGKILL);
    wait_gone(found, clock_type::now() + options.kill_timeout, options.poll_interval);
  }
  for (auto& o : found) {
    if (o.gone) {
      ++out.killed;
      out.killed_pids.push_back(o.pid);
    } else {
      ++out.survived;
    }
  }
  return out;
}

} // namespace snakepit::transport
