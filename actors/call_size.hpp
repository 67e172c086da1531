#pragma once
// A rough wire size of a call, for the batch byte bound (pool and fast lane):
// string and binary payloads count their length, keys theirs, every other
// value a few bytes. Only queued calls are measured (an idle worker's call
// goes whatever its size).

#include <cstddef>

#include "actors/worker_protocol.hpp"

namespace snakepit::detail {

std::size_t estimate_bytes(const nlohmann::json& j);
std::size_t estimate_bytes(const call& c);

} // namespace snakepit::detail
