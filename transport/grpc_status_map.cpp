// transport/grpc_status_map.cpp — see grpc_status_map.hpp.
#include "transport/grpc_status_map.hpp"

#include <utility>

namespace snakepit::transport {

channel_errc map_grpc_status(grpc::StatusCode code) noexcept {
  switch (code) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return channel_errc::timeout;
    case grpc::StatusCode::UNAVAILABLE:
      return channel_errc::worker_unavailable;
    case grpc::StatusCode::CANCELLED:
      return channel_errc::cancelled;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return channel_errc::invalid_argument;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return channel_errc::resource_exhausted;
    case grpc::StatusCode::UNIMPLEMENTED:
      return channel_errc::unimplemented;
    default:
      return channel_errc::rpc_failed;
  }
}

channel_error make_channel_error(grpc::StatusCode code, std::string operation,
                                 std::string message) {
  return channel_error{map_grpc_status(code), std::move(operation), static_cast<int>(code),
                       std::move(message)};
}

} // namespace snakepit::transport
