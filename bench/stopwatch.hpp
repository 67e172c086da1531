#pragma once
// bench/stopwatch.hpp — steady-clock timing in the units the table uses.

#include <chrono>

namespace snakepit::bench {

using bench_clock = std::chrono::steady_clock;

class stopwatch {
public:
  stopwatch() : start_(bench_clock::now()) {}
  void restart() { start_ = bench_clock::now(); }
  double elapsed_s() const { return seconds_since(start_); }
  double elapsed_ms() const { return elapsed_s() * 1e3; }
  double elapsed_us() const { return elapsed_s() * 1e6; }

  static double seconds_since(bench_clock::time_point t) {
    return std::chrono::duration<double>(bench_clock::now() - t).count();
  }

private:
  bench_clock::time_point start_;
};

} // namespace snakepit::bench
