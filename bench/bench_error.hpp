#pragma once
// bench/bench_error.hpp — why a figure could not be measured. A figure that
// throws is reported as failed; everything it started is cleaned up by RAII.

#include <stdexcept>
#include <string>

namespace snakepit::bench {

struct bench_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

} // namespace snakepit::bench
