#pragma once
// bench/caller_threads.hpp — N threads calling as fast as they can for a
// fixed time; calls/s over the whole window (calls still running when the
// window closes are counted when they finish, and the window is measured up
// to the last thread's end).

#include <atomic>
#include <cstdint>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_error.hpp"
#include "bench/stopwatch.hpp"

namespace snakepit::bench {

struct window_result {
  double per_second = 0;
  uint64_t calls = 0;
};

/// `make_caller(i)` runs on thread i before the window opens (set up a
/// client there) and returns the function to call in a loop.
inline window_result calls_per_second(int threads, std::chrono::milliseconds window,
                               const std::function<std::function<void()>(int)>& make_caller) {
  std::atomic<int> prepared{0};
  std::atomic<bool> go{false}, stop{false};
  std::atomic<uint64_t> done{0};
  std::mutex err_mx;
  std::string first_error;
  auto record_error = [&](const std::string& what) {
    std::lock_guard<std::mutex> guard{err_mx};
    if (first_error.empty())
      first_error = what;
    stop = true;
  };

  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      std::function<void()> call;
      try {
        call = make_caller(i);
      } catch (const std::exception& e) {
        record_error(e.what());
      }
      ++prepared;
      while (!go)
        std::this_thread::yield();
      uint64_t n = 0;
      try {
        while (call && !stop) {
          call();
          ++n;
        }
      } catch (const std::exception& e) {
        record_error(e.what());
      }
      done += n;
    });
  }
  while (prepared < threads)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  stopwatch sw;
  go = true;
  auto until = bench_clock::now() + window;
  while (!stop && bench_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  stop = true;
  for (auto& t : pool)
    t.join();
  double elapsed = sw.elapsed_s();
  if (!first_error.empty())
    throw bench_error(first_error);
  return {static_cast<double>(done) / elapsed, done};
}

} // namespace snakepit::bench
