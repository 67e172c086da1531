// transport/process_id.hpp — the type of an OS process id in the transport API.
#pragma once

namespace snakepit::transport {

/// An OS process id (pid_t on Linux). A process launched by process_launcher
/// leads its own process group, so its pid is also its process group id.
using process_id = int;

} // namespace snakepit::transport
