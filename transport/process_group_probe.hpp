// transport/process_group_probe.hpp — is anything still alive in a process group?
#pragma once

#include "transport/process_id.hpp"

#include <cstdint>
#include <vector>

namespace snakepit::transport {

/// True while the group `pgid` has a member that is not a zombie.
///
/// kill(-pgid, 0) alone is not enough: a member that died after its parent
/// was reparented to init stays in the group as a zombie until init reaps it,
/// which some inits do only every few seconds. So when kill() still finds the
/// group, /proc is scanned for a member that is not a zombie (if /proc cannot
/// be read, the kill() answer stands). A member we may not signal (EPERM)
/// counts as alive.
[[nodiscard]] bool process_group_has_live_member(process_id pgid) noexcept;

/// Only the cheap kill(-pgid, 0) check: true if the group has any member,
/// zombies included.
[[nodiscard]] bool process_group_exists(process_id pgid) noexcept;

/// One member of a process group, named for the whole boot (pid + start time).
struct group_member {
  process_id pid = 0;
  std::uint64_t start_ticks = 0;
};

/// The live (non-zombie) members of group `pgid`, from /proc.
[[nodiscard]] std::vector<group_member> live_group_members(process_id pgid);

/// True if one of `members` is still alive, still the same process and still
/// in `pgid`. Then `pgid` still names that group: a group id is not reused
/// while the group has a member. Once none is, the id may name a stranger's
/// group (pids wrap at pid_max), which must never be signalled.
[[nodiscard]] bool group_still_holds(process_id pgid, const std::vector<group_member>& members);

} // namespace snakepit::transport
