#pragma once
// Bounded polling for tests with real processes and threads: a condition is
// checked until it holds or a deadline passes. Never a fixed sleep as an
// assertion.

#include <chrono>
#include <thread>

namespace snakepit::test {

/// Polls `pred` every 5 ms until it holds or `limit` passes; returns its last value.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds{5000}) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= end)
      return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  return true;
}

} // namespace snakepit::test
