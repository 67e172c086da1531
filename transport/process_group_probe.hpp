// transport/process_group_probe.hpp — is anything still alive in a process group?
#pragma once

#include "transport/process_id.hpp"

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

} // namespace snakepit::transport
