// transport/process_registry_proc.hpp — what /proc says about a process: its
// identity (start time, process group, state) and whether it carries a run id.
// Used to record a spawn (start time) and, at boot, to tell our process from
// an unrelated one that reuses its pid.
#pragma once

#include "transport/process_id.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace snakepit::transport {

/// The fields of /proc/PID/stat the registry needs.
struct proc_stat {
  char state = '?';              ///< field 3: R, S, D, Z, X, ...
  process_id pgrp = 0;           ///< field 5
  std::uint64_t start_ticks = 0; ///< field 22: start time, clock ticks since boot
  [[nodiscard]] bool zombie() const noexcept { return state == 'Z' || state == 'X'; }
};

/// /proc/PID/stat of `pid`, or nullopt if there is no such process (or /proc
/// cannot be read). Parsed after the last ')' so any comm is safe.
[[nodiscard]] std::optional<proc_stat> read_proc_stat(process_id pid) noexcept;

/// Field 22 of /proc/PID/stat: with the pid, it names one process for the
/// lifetime of the boot (a reused pid has a later start time). Read it while
/// the process cannot have been reaped yet, e.g. inside the launcher's
/// on_started callback (the I/O thread, which is also the reaper).
[[nodiscard]] std::optional<std::uint64_t> read_process_start_ticks(process_id pid) noexcept;

/// The arguments of /proc/PID/cmdline (argv, split at NUL), or nullopt if the
/// process is gone. A zombie or kernel thread has an empty list.
[[nodiscard]] std::optional<std::vector<std::string>> read_process_arguments(process_id pid);

/// True if `arguments` carry the run id as "--run-id ID" (two arguments) or
/// "--run-id=ID". An empty run id never matches.
[[nodiscard]] bool arguments_carry_run_id(const std::vector<std::string>& arguments,
                                          std::string_view run_id) noexcept;

/// The environment variable every process the runtime starts carries, and
/// with it every descendant that keeps its environment: a grandchild whose
/// command line says nothing is still known as ours.
inline constexpr std::string_view run_id_variable = "SNAKEPIT_RUN_ID";

/// The value of `name` in /proc/PID/environ (the environment the process
/// started with), or nullopt if it is not set or the process is gone.
[[nodiscard]] std::optional<std::string> read_environment_variable(process_id pid,
                                                                   std::string_view name);

/// True if /proc/PID/environ holds SNAKEPIT_RUN_ID=`run_id`.
[[nodiscard]] bool environment_carries_run_id(process_id pid, std::string_view run_id);

/// True if the process's command line or its environment carries `run_id`.
[[nodiscard]] bool process_carries_run_id(process_id pid, std::string_view run_id);

/// Every live process (zombies skipped) that carries `run_id` (command line
/// or environment, see process_carries_run_id), in ascending pid order. The calling
/// process itself is never listed. Used by application_cleanup after the tree
/// has stopped, and by the boot sweep for spawns that were never completed.
[[nodiscard]] std::vector<process_id> live_pids_with_run_id(std::string_view run_id);

} // namespace snakepit::transport
