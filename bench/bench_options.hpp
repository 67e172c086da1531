#pragma once
// bench/bench_options.hpp — what every figure needs to know: how long to
// measure, which Python and adapter to start, where to put sockets.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace snakepit::bench {

class private_dir;

struct bench_options {
  bool quick = false;    // fewer repetitions and shorter windows (smoke runs)
  bool verbose = false;  // pass the runtime's warnings through to stderr
  std::string python;
  std::vector<std::string> python_path;  // snakepit_bridge and its stubs
  std::string adapter = "snakepit_bridge.adapters.showcase";
  const private_dir* dir = nullptr;
  /// --max-in-flight N: config.max_in_flight_per_worker for every runtime
  /// the bench starts (0: the config's default).
  std::size_t max_in_flight = 0;
  /// --max-batch N: config.max_batch likewise (0: the config's default).
  std::size_t max_batch = 0;
  /// --no-fast-lane: config.fast_lane = false (every call through the pool actor).
  bool no_fast_lane = false;

  /// `full` normally, `quick` with --quick.
  template <class T>
  T pick(T full, T quick_value) const {
    return quick ? quick_value : full;
  }
};

} // namespace snakepit::bench
