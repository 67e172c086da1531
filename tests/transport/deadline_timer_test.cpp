// transport/deadline_timer: the one thread that expires the host bridge's calls.
#include "transport/deadline_timer.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

using namespace snakepit::transport;
using namespace std::chrono_literals;

namespace {

struct fired_log {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<int> order;

  std::function<void()> record(int n) {
    return [this, n] {
      std::lock_guard g{mutex};
      order.push_back(n);
      cv.notify_all();
    };
  }
  bool wait_count(std::size_t n, std::chrono::milliseconds limit = 3000ms) {
    std::unique_lock g{mutex};
    return cv.wait_for(g, limit, [&] { return order.size() >= n; });
  }
};

} // namespace

TEST_CASE("deadline_timer runs callbacks in deadline order, not scheduling order") {
  fired_log log;
  deadline_timer timer;
  const auto now = deadline_timer::clock::now();
  timer.schedule(now + 60ms, log.record(3));
  timer.schedule(now + 20ms, log.record(1));
  timer.schedule(now + 40ms, log.record(2));
  timer.schedule(now - 1s, log.record(0)); // already due: runs at once
  REQUIRE(log.wait_count(4));
  CHECK(log.order == std::vector<int>{0, 1, 2, 3});
  CHECK(timer.pending() == 0);
}

TEST_CASE("deadline_timer: a cancelled callback never runs, and cancelling twice or late is harmless") {
  fired_log log;
  deadline_timer timer;
  const auto now = deadline_timer::clock::now();
  auto dropped = timer.schedule(now + 30ms, log.record(1));
  timer.schedule(now + 60ms, log.record(2));
  timer.cancel(dropped);
  timer.cancel(dropped);
  timer.cancel(12345);
  REQUIRE(log.wait_count(1));
  std::this_thread::sleep_for(50ms);
  CHECK(log.order == std::vector<int>{2});
}

TEST_CASE("deadline_timer: stop drops what is pending and refuses new callbacks") {
  std::atomic<int> fired{0};
  deadline_timer timer;
  timer.schedule(deadline_timer::clock::now() + 10s, [&] { ++fired; });
  CHECK(timer.pending() == 1);
  const auto start = deadline_timer::clock::now();
  timer.stop();
  CHECK(deadline_timer::clock::now() - start < 1s);
  CHECK(timer.pending() == 0);
  CHECK(timer.schedule(deadline_timer::clock::now(), [&] { ++fired; }) == 0);
  timer.stop(); // idempotent
  CHECK(fired == 0);
}

TEST_CASE("deadline_timer: a callback may schedule, cancel and stop its own timer") {
  fired_log log;
  deadline_timer timer;
  timer.schedule(deadline_timer::clock::now(), [&] {
    timer.schedule(deadline_timer::clock::now() + 10ms, log.record(2));
    log.record(1)();
  });
  REQUIRE(log.wait_count(2));
  std::atomic<bool> stopped{false};
  timer.schedule(deadline_timer::clock::now(), [&] {
    timer.stop();
    stopped = true;
  });
  for (int i = 0; i < 300 && !stopped; ++i)
    std::this_thread::sleep_for(10ms);
  CHECK(stopped);
  CHECK(log.order == std::vector<int>{1, 2});
}
