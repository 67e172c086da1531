// transport/bridge_socket_dir.hpp — the checks a Unix socket address passes
// before the host bridge listens on it (DESIGN rule 7: no other user can
// reach the bridge). CAF- and gRPC-free.
#pragma once

#include "transport/bridge_server_error.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace snakepit::transport {

/// The socket path of a "unix:/abs" or "unix:///abs" address; nullopt for
/// any other address (TCP).
[[nodiscard]] std::optional<std::string> unix_socket_path(std::string_view address);

/// For a Unix socket address: the path is absolute and fits in sun_path, its
/// parent directory exists (the runtime creates it, mode 0700), is owned by
/// this user and grants group and others nothing. Other addresses pass.
///
/// Why the directory and not the socket: gRPC creates the socket with the
/// process umask and replaces a stale one, so its own mode cannot be relied
/// on; a private directory keeps every other user from reaching it at all.
[[nodiscard]] bridge_result<bridge_ok> check_socket_address(std::string_view address);

} // namespace snakepit::transport
