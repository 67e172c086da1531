// transport/orphan_sweep.hpp — the boot sweep's second net: processes that
// the registry cannot vouch for (its file was corrupt and moved aside, it
// could not be opened, a row was lost) are still found by their environment.
//
// Every process the runtime starts, and every descendant that keeps its
// environment, carries the run id, the instance and its host's identity
// (pid and start time). At boot, a process of this instance from another run
// whose host is no longer alive is an orphan: its group gets SIGTERM, the
// grace period, then SIGKILL. A process whose host still lives (another host
// sharing the instance) is left alone, and a reused pid cannot match: the
// environment is read from the live process itself.
#pragma once

#include "transport/process_id.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace snakepit::transport {

/// SNAKEPIT_INSTANCE=<instance>
inline constexpr std::string_view instance_variable = "SNAKEPIT_INSTANCE";
/// SNAKEPIT_HOST=<pid>:<start ticks> of the host that started the process.
inline constexpr std::string_view host_variable = "SNAKEPIT_HOST";

/// "<pid>:<start ticks>" of the calling process (for host_variable).
[[nodiscard]] std::string current_host_identity();

/// True if the host named by an identity "<pid>:<start ticks>" is alive (the
/// same process, not a reused pid). A malformed identity is not alive.
[[nodiscard]] bool host_identity_alive(std::string_view identity);

struct orphan_sweep_options {
  std::chrono::milliseconds grace{2000};
  std::chrono::milliseconds kill_timeout{2000};
  std::chrono::milliseconds poll_interval{10};
};

struct orphan_sweep_result {
  std::size_t found = 0;              ///< live orphans of this instance from dead hosts
  std::size_t killed = 0;             ///< of `found`: gone after our signals
  std::size_t survived = 0;           ///< of `found`: still alive after kill_timeout
  std::size_t skipped_live_host = 0;  ///< of this instance, but their host is alive
  std::vector<process_id> killed_pids;
};

/// Finds and kills the orphans described above. Never touches the calling
/// process, processes of `current_run_id`, or processes of other instances.
/// Blocking, bounded by about grace + kill_timeout.
[[nodiscard]] orphan_sweep_result sweep_orphans_by_environment(
  std::string_view instance, std::string_view current_run_id,
  const orphan_sweep_options& options = {});

} // namespace snakepit::transport
