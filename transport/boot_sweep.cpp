// transport/boot_sweep.cpp
#include "transport/boot_sweep.hpp"

#include "transport/process_group_probe.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <optional>
#include <set>
#include <thread>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

namespace snakepit::transport {
namespace {

using clock_type = std::chrono::steady_clock;

// One live process (or group) of an earlier run that the sweep signals.
struct target {
  std::vector<std::int64_t> rows; // registry rows it settles (empty: unrecorded)
  std::string run_id;
  process_id pid = 0;             // the leader; 0 if the leader is already gone
  process_id pgid = 0;            // signal -pgid if > 0, else just pid
  std::uint64_t start_ticks = 0;  // the leader's, re-checked before SIGKILL
  bool gone = false;
  bool needed_kill = false;
};

// True if the leader is still the process we identified (not a zombie).
bool leader_alive(const target& t) {
  if (t.pid <= 0)
    return false;
  const auto st = read_proc_stat(t.pid);
  return st && !st->zombie() && st->start_ticks == t.start_ticks;
}

bool target_alive(const target& t) {
  if (t.pgid > 0)
    return process_group_has_live_member(t.pgid);
  return leader_alive(t);
}

// A live, non-zombie member of group `pgid` that carries `run_id` (command
// line or environment: a grandchild of a dead worker has only the latter).
bool group_has_member_with_run_id(process_id pgid, const std::string& run_id) {
  for (const auto& m : live_group_members(pgid))
    if (process_carries_run_id(m.pid, run_id))
      return true;
  return false;
}

// Sends `sig` to the target if it is still ours. A group is signalled while
// it has a live member and its leader is either gone or still the same
// process (a group id cannot be reused while the group has members).
void signal_target(const target& t, int sig) {
  if (t.pgid > 0) {
    if (t.pid > 0) {
      const auto st = read_proc_stat(t.pid);
      if (st && !st->zombie() && st->start_ticks != t.start_ticks)
        return; // the pid names another process now
    }
    if (process_group_has_live_member(t.pgid))
      ::kill(-t.pgid, sig);
  } else if (leader_alive(t)) {
    ::kill(t.pid, sig);
  }
}

// Removes a dead run's runtime directory if it is plainly ours: a real
// directory (not a link) owned by us, closed to group and others, holding
// nothing but sockets. Returns why not otherwise (empty: removed); nullopt
// if there is no such directory (any more).
std::optional<std::string> remove_runtime_dir(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0)
    return errno == ENOENT ? std::nullopt : std::optional<std::string>{"cannot stat it"};
  if (!S_ISDIR(st.st_mode))
    return "not a directory";
  if (st.st_uid != ::geteuid() || (st.st_mode & 077) != 0)
    return "not a private directory of ours";
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr)
    return "cannot read it";
  std::vector<std::string> sockets;
  std::string why;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..")
      continue;
    struct stat entry {};
    if (::lstat((path + "/" + name).c_str(), &entry) != 0 || !S_ISSOCK(entry.st_mode)) {
      why = "it holds " + name + ", which is not a socket";
      break;
    }
    sockets.push_back(path + "/" + name);
  }
  ::closedir(d);
  if (!why.empty())
    return why;
  for (const auto& socket : sockets)
    ::unlink(socket.c_str());
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT)
    return "rmdir failed";
  return "";
}

} // namespace

registry_result<sweep_result> boot_sweep(process_registry& registry,
                                         const std::string& current_run_id,
                                         const sweep_options& options) {
  const auto started = clock_type::now();
  sweep_result result;
  auto event = [&](const std::string& line) {
    if (options.on_event)
      options.on_event(line);
  };
  auto note_error = [&](const registry_result<void>& r) {
    if (!r)
      result.errors.push_back(r.error());
  };

  auto runs = registry.runs_other_than(current_run_id);
  if (!runs)
    return std::move(runs).error();

  const process_id self = ::getpid();
  std::vector<target> targets;
  std::vector<const run_record*> swept_runs;

  for (const auto& run : *runs) {
    if (options.skip_runs_of_live_hosts && !run.ended_at_ms && run.host_pid != self
        && run.host_start_ticks) {
      const auto host = read_proc_stat(run.host_pid);
      if (host && !host->zombie() && host->start_ticks == *run.host_start_ticks) {
        ++result.runs_skipped_live_host;
        event("boot sweep: run " + run.run_id + " of host pid " + std::to_string(run.host_pid)
              + " is still running; left alone");
        continue;
      }
    }
    auto rows = registry.live_processes_of(run.run_id);
    if (!rows)
      return std::move(rows).error();
    ++result.runs_swept;
    swept_runs.push_back(&run);
    std::set<process_id> recorded_pids; // pids this run's completed rows name
    std::vector<std::int64_t> incomplete;
    for (const auto& row : *rows) {
      ++result.recorded;
      if (!row.pid || !row.start_ticks) {
        incomplete.push_back(row.id);
        continue;
      }
      recorded_pids.insert(*row.pid);
      const process_id pgid = row.pgid.value_or(0);
      const auto st = read_proc_stat(*row.pid);
      if (!st || st->zombie()) {
        // The leader is gone; its group may live on (grandchildren).
        if (pgid > 0 && process_group_has_live_member(pgid)
            && group_has_member_with_run_id(pgid, run.run_id)) {
          ++result.found;
          targets.push_back({{row.id}, run.run_id, 0, pgid, 0});
          continue;
        }
        ++result.already_gone;
        note_error(registry.mark_exited(row.id, "gone before the boot sweep"));
        continue;
      }
      const auto args = read_process_arguments(*row.pid);
      // A process that is exiting has released its memory, and with it its
      // command line, before it becomes a zombie; with the recorded start
      // time it is still the very process we recorded.
      const bool exiting = args && args->empty() && st->start_ticks == *row.start_ticks;
      const bool carries = exiting || (args && arguments_carry_run_id(*args, run.run_id));
      if (!carries || st->start_ticks != *row.start_ticks) {
        ++result.skipped_pid_reused;
        event("boot sweep: pid " + std::to_string(*row.pid) + " of run " + run.run_id
              + " now names another process (" + (carries ? "start time differs" : "no run id")
              + "); not touched");
        note_error(registry.mark_exited(row.id, "gone: pid reused by another process"));
        continue;
      }
      ++result.found;
      // Signal the group only if the process still leads the recorded group.
      const process_id group = (pgid > 0 && st->pgrp == pgid) ? pgid : 0;
      targets.push_back({{row.id}, run.run_id, *row.pid, group, st->start_ticks});
    }
    if (!incomplete.empty()) {
      // A spawn was reserved but never completed (the host died around the
      // fork, or before its registry recorded the pid): find its process by
      // command line alone; a reserved row no live process answers to is gone.
      const auto found_before = result.found_unrecorded;
      for (process_id pid : live_pids_with_run_id(run.run_id)) {
        if (recorded_pids.count(pid) != 0)
          continue;
        const bool known = std::any_of(targets.begin(), targets.end(), [&](const target& t) {
          return t.pid == pid || (t.pgid > 0 && read_proc_stat(pid)
                                  && read_proc_stat(pid)->pgrp == t.pgid);
        });
        const auto st = read_proc_stat(pid);
        if (known || !st || st->zombie())
          continue;
        ++result.found;
        ++result.found_unrecorded;
        targets.push_back({{}, run.run_id, pid, st->pgrp == pid ? pid : 0, st->start_ticks});
      }
      const auto found_here = result.found_unrecorded - found_before;
      if (incomplete.size() > found_here)
        result.already_gone += incomplete.size() - found_here;
      for (auto row : incomplete)
        note_error(registry.mark_exited(row, "spawn never completed"));
    }
  }

  // SIGTERM everything at once, one grace for all, then SIGKILL what is left.
  for (const auto& t : targets) {
    event("boot sweep: terminating pid " + std::to_string(t.pid) + " (group "
          + std::to_string(t.pgid) + ") of run " + t.run_id);
    signal_target(t, SIGTERM);
  }
  auto wait_all = [&](clock_type::time_point deadline) {
    for (;;) {
      bool all_gone = true;
      for (auto& t : targets)
        if (!t.gone && !(t.gone = !target_alive(t)))
          all_gone = false;
      if (all_gone || clock_type::now() >= deadline)
        return;
      std::this_thread::sleep_for(options.poll_interval);
    }
  };
  wait_all(clock_type::now() + options.grace);
  bool any_left = false;
  for (auto& t : targets)
    if (!t.gone) {
      t.needed_kill = true;
      any_left = true;
      signal_target(t, SIGKILL);
    }
  if (any_left)
    wait_all(clock_type::now() + options.kill_timeout);

  std::set<std::string> runs_with_survivors;
  for (const auto& t : targets) {
    if (!t.gone) {
      ++result.survived;
      runs_with_survivors.insert(t.run_id);
      event("boot sweep: pid " + std::to_string(t.pid) + " (group " + std::to_string(t.pgid)
            + ") of run " + t.run_id + " survived SIGKILL");
      continue;
    }
    ++result.killed;
    if (t.needed_kill)
      ++result.killed_after_grace;
    result.killed_pids.push_back(t.pid > 0 ? t.pid : t.pgid);
    for (auto row : t.rows)
      note_error(registry.mark_exited(row, std::string{"killed by the boot sweep ("}
                                             + (t.needed_kill ? "SIGKILL after grace" : "SIGTERM")
                                             + ")"));
  }
  for (const run_record* run : swept_runs) {
    if (runs_with_survivors.count(run->run_id) != 0)
      continue;
    note_error(registry.end_run(run->run_id));
    // Ended only now: its host died without removing the directory (a host
    // that ends its run removes it itself), and its processes are gone, so
    // nobody uses its sockets.
    if (!run->runtime_dir || run->ended_at_ms)
      continue;
    const auto why = remove_runtime_dir(*run->runtime_dir);
    if (why && why->empty())
      ++result.runtime_dirs_removed;
    else if (why)
      event("boot sweep: runtime directory " + *run->runtime_dir + " of run " + run->run_id
            + " left in place: " + *why);
  }
  auto pruned = registry.prune(options.prune);
  if (!pruned)
    result.errors.push_back(pruned.error());
  result.elapsed =
    std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - started);
  return result;
}

} // namespace snakepit::transport
