// tests/transport/process_stop_tracker_test.cpp — the stop state machine on a
// fake clock with fake signals: no processes, no sleeping.
#include "transport/process_stop_tracker.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <vector>

using namespace snakepit::transport;
using namespace std::chrono_literals;

namespace {

struct fake_group {
  std::vector<int> signals;
  bool alive = true;

  process_stop_tracker tracker(std::chrono::milliseconds kill_timeout = 1000ms) {
    return process_stop_tracker{{[this](process_id, int sig) { signals.push_back(sig); },
                                 [this](process_id) { return alive; }},
                                kill_timeout, 10ms};
  }
};

struct results {
  std::vector<process_result<stop_report>> got;
  stop_callback callback() {
    return [this](process_result<stop_report> r) { got.push_back(std::move(r)); };
  }
};

void deliver(std::vector<process_stop_tracker::completion> done) {
  for (auto& c : done)
    for (auto& cb : c.callbacks)
      cb(c.result);
}

} // namespace

TEST_CASE("stop_sends_sigterm_then_sigkill_exactly_when_the_grace_expires") {
  fake_group group;
  auto tracker = group.tracker();
  results r;
  const auto t0 = process_stop_tracker::clock::now();
  tracker.start(42, "w1", true, 100ms, false, r.callback(), t0);
  CHECK(group.signals == std::vector<int>{SIGTERM});
  CHECK(tracker.next_wakeup(t0) == t0 + 100ms);
  deliver(tracker.advance(t0 + 99ms));
  CHECK(group.signals == std::vector<int>{SIGTERM});
  deliver(tracker.advance(t0 + 100ms));
  CHECK(group.signals == std::vector<int>{SIGTERM, SIGKILL});
  CHECK(r.got.empty()); // the leader is not reaped yet
  tracker.leader_exited(42, exit_status::killed_by(SIGKILL));
  group.alive = false;
  deliver(tracker.advance(t0 + 120ms));
  REQUIRE(r.got.size() == 1);
  REQUIRE(r.got[0].has_value());
  CHECK(r.got[0]->killed);
  CHECK(r.got[0]->was_running);
  CHECK(r.got[0]->leader_status == exit_status::killed_by(SIGKILL));
  CHECK(r.got[0]->elapsed == 120ms);
  CHECK(tracker.empty());
}

TEST_CASE("stop_waits_for_the_group_to_empty_after_the_leader_exits") {
  fake_group group;
  auto tracker = group.tracker();
  results r;
  const auto t0 = process_stop_tracker::clock::now();
  tracker.start(7, "", true, 1s, false, r.callback(), t0);
  tracker.leader_exited(7, exit_status::killed_by(SIGTERM));
  CHECK(tracker.next_wakeup(t0) == t0 + 10ms); // polling the group
  deliver(tracker.advance(t0 + 10ms));
  CHECK(r.got.empty()); // a member is still alive
  group.alive = false;
  deliver(tracker.advance(t0 + 20ms));
  REQUIRE(r.got.size() == 1);
  CHECK_FALSE(r.got[0]->killed); // never needed SIGKILL
  CHECK(group.signals == std::vector<int>{SIGTERM});
}

TEST_CASE("stop_reports_a_timeout_when_the_group_survives_sigkill") {
  fake_group group;
  auto tracker = group.tracker(500ms);
  results r, joined;
  const auto t0 = process_stop_tracker::clock::now();
  tracker.start(9, "w9", true, 0ms, true, r.callback(), t0);
  tracker.start(9, "w9", true, 5s, false, joined.callback(), t0 + 1ms); // joins, no new signal
  CHECK(group.signals == std::vector<int>{SIGKILL});
  deliver(tracker.advance(t0 + 499ms));
  CHECK(r.got.empty());
  deliver(tracker.advance(t0 + 500ms));
  REQUIRE(r.got.size() == 1);
  REQUIRE(joined.got.size() == 1);
  REQUIRE_FALSE(r.got[0].has_value());
  CHECK(r.got[0].error().code == process_errc::stop_timeout);
  CHECK(to_string(r.got[0].error()).find("w9") != std::string::npos);
}

TEST_CASE("a_second_stop_with_a_shorter_grace_brings_the_kill_forward") {
  fake_group group;
  auto tracker = group.tracker();
  results slow, fast;
  const auto t0 = process_stop_tracker::clock::now();
  tracker.start(5, "", true, 10s, false, slow.callback(), t0);
  tracker.start(5, "", true, 50ms, false, fast.callback(), t0 + 10ms);
  CHECK(tracker.next_wakeup(t0 + 10ms) == t0 + 60ms);
  deliver(tracker.advance(t0 + 60ms));
  CHECK(group.signals == std::vector<int>{SIGTERM, SIGKILL});
}
