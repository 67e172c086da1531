// transport/grpc_status_map.hpp — gRPC status codes to channel_error.
#pragma once

#include "transport/worker_channel_error.hpp"

#include <grpcpp/support/status_code_enum.h>

#include <string>
#include <string_view>

namespace snakepit::transport {

/// The category of a non-OK status: DEADLINE_EXCEEDED -> timeout,
/// UNAVAILABLE -> worker_unavailable, CANCELLED -> cancelled,
/// INVALID_ARGUMENT -> invalid_argument, RESOURCE_EXHAUSTED ->
/// resource_exhausted, UNIMPLEMENTED -> unimplemented, anything else ->
/// rpc_failed. (OK also maps to rpc_failed: callers only map failures.)
[[nodiscard]] channel_errc map_grpc_status(grpc::StatusCode code) noexcept;

/// A channel_error for a failed call `operation` with gRPC's message.
[[nodiscard]] channel_error make_channel_error(grpc::StatusCode code, std::string operation,
                                               std::string message);

} // namespace snakepit::transport
