#pragma once
// The first worker adapter: `python3 -m snakepit_bridge.server` serving gRPC
// on a Unix socket, READY on a notify pipe, execute traffic on one
// long-lived bidirectional stream (DESIGN.md rule 7), health over unary Ping.

#include <memory>

#include "actors/worker_adapter.hpp"

namespace snakepit {

std::shared_ptr<worker_adapter> make_grpc_python_adapter();

} // namespace snakepit
