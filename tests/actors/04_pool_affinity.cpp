// Session affinity: a session sticks to the worker slot that took its last call.
#include "actors/pool_harness.hpp"

using namespace snakepit;
using namespace snakepit::test;

namespace {

/// Two idle workers; session "s" served once by worker-1 (and worker-1 now
/// at the back of the idle line, so only affinity sends calls to it first).
struct two_workers : pool_fixture {
  std::shared_ptr<fake_worker_control> w1;
  std::shared_ptr<fake_worker_control> w2;

  two_workers() {
    start_pool(2);
    w1 = add_worker("worker-1");
    w2 = add_worker("worker-2");
    auto first = execute(100, 1000ms, "s");
    REQUIRE(first->ok());
    REQUIRE(w1->executed == std::vector<uint64_t>{100});
    w1->hold = true;
    w2->hold = true;
  }
};

} // namespace

TEST_CASE("hint: a session goes back to its worker when that worker is idle") {
  two_workers t;
  auto c = t.execute(1, 1000ms, "s");  // worker-2 idled longer, but the session knows worker-1
  CHECK(t.w1->executed == std::vector<uint64_t>{100, 1});
  CHECK(t.w2->executed.empty());
  auto other = t.execute(2);  // no session: the idle one
  CHECK(t.w2->executed == std::vector<uint64_t>{2});
}

TEST_CASE("hint: a session whose worker is busy goes to any idle worker") {
  two_workers t;
  auto busy = t.execute(1);  // worker-2 (idle longest)
  auto b2 = t.execute(2, 1000ms, "s");  // worker-1, its own
  auto other = t.execute(3, 1000ms, "other");  // nobody idle: queued
  CHECK(t.stats().queued == 1);
  t.release(t.w2, 1);
  CHECK(t.w2->executed == std::vector<uint64_t>{1, 3});
  auto c = t.execute(4, 1000ms, "s");  // worker-1 busy, no worker idle: queued
  CHECK(t.stats().queued == 1);
  t.release(t.w2, 3);  // worker-2 frees up and takes the hinted session call
  CHECK(t.w2->executed == std::vector<uint64_t>{1, 3, 4});
  // The session now sticks to worker-2.
  t.release(t.w1, 2);
  t.release(t.w2, 4);  // worker-1 idled longer, but the session now knows worker-2
  auto d = t.execute(5, 1000ms, "s");
  CHECK(t.w2->executed.back() == 5);
}

TEST_CASE("hint: a session whose worker is gone falls back to any worker") {
  two_workers t;
  t.crash(t.w1);
  auto c = t.execute(1, 1000ms, "s");
  CHECK(t.w2->executed == std::vector<uint64_t>{1});
  t.release(t.w2, 1);
  CHECK(c->ok());
}

TEST_CASE("strict_queue: a session waits for its busy worker while others stay idle") {
  two_workers t;
  auto a = t.execute(1, 1000ms, "s", affinity_mode::strict_queue);  // worker-1
  auto b = t.execute(2, 1000ms, "s", affinity_mode::strict_queue);  // waits for worker-1
  CHECK(t.w1->executed == std::vector<uint64_t>{100, 1});
  CHECK(t.w2->executed.empty());
  auto s = t.stats();
  CHECK(s.queued == 1);
  CHECK(s.available == 1);
  t.release(t.w1, 1);
  CHECK(t.w1->executed == std::vector<uint64_t>{100, 1, 2});
  t.release(t.w1, 2);
  CHECK(a->ok());
  CHECK(b->ok());
}

TEST_CASE("strict_queue: other workers skip the session's queued call and take the next one") {
  two_workers t;
  auto a = t.execute(1, 1000ms, "s", affinity_mode::strict_queue);  // worker-1
  auto busy = t.execute(2);                                          // worker-2
  auto pinned = t.execute(3, 1000ms, "s", affinity_mode::strict_queue);
  auto plain = t.execute(4);
  CHECK(t.stats().queued == 2);
  t.release(t.w2, 2);
  CHECK(t.w2->executed == std::vector<uint64_t>{2, 4});
  t.release(t.w1, 1);
  CHECK(t.w1->executed == std::vector<uint64_t>{100, 1, 3});
}

TEST_CASE("strict_queue: a session whose worker is gone waits for its slot's next worker") {
  // Decision: strict_queue treats a worker that is down like a busy one.
  two_workers t;
  t.crash(t.w1);
  auto c = t.execute(1, 1000ms, "s", affinity_mode::strict_queue);
  CHECK(t.w2->executed.empty());
  CHECK(t.stats().queued == 1);
  auto back = t.add_worker("worker-1");
  CHECK(back->executed == std::vector<uint64_t>{1});
  CHECK(c->ok());
}

TEST_CASE("strict_queue: a session waiting for a gone worker times out at its deadline") {
  two_workers t;
  t.crash(t.w1);
  auto c = t.execute(1, 200ms, "s", affinity_mode::strict_queue);
  t.advance(200ms);
  REQUIRE(c->answered());
  CHECK(c->code() == errc::timeout);
  CHECK(t.w2->executed.empty());
}

TEST_CASE("strict_fail_fast: a session whose worker is busy fails with worker_busy at once") {
  two_workers t;
  auto a = t.execute(1, 1000ms, "s", affinity_mode::strict_fail_fast);  // worker-1
  auto b = t.execute(2, 1000ms, "s", affinity_mode::strict_fail_fast);
  REQUIRE(b->answered());
  CHECK(b->code() == errc::worker_busy);
  CHECK(t.w2->executed.empty());
  CHECK(t.stats().available == 1);
  t.release(t.w1, 1);
  CHECK(a->ok());
}

TEST_CASE("strict_fail_fast: a session whose worker is gone fails with worker_busy at once") {
  // Decision: strict_fail_fast treats a worker that is down like a busy one.
  two_workers t;
  t.crash(t.w1);
  auto c = t.execute(1, 1000ms, "s", affinity_mode::strict_fail_fast);
  REQUIRE(c->answered());
  CHECK(c->code() == errc::worker_busy);
  CHECK(c->outcome->error.message().find("not available") != std::string::npos);
  CHECK(t.w2->executed.empty());
}

TEST_CASE("strict_fail_fast: a session whose worker is idle goes to it") {
  two_workers t;
  auto c = t.execute(1, 1000ms, "s", affinity_mode::strict_fail_fast);
  CHECK(t.w1->executed == std::vector<uint64_t>{100, 1});
  t.release(t.w1, 1);
  CHECK(c->ok());
}

TEST_CASE("a new session in a strict mode may start on any worker") {
  two_workers t;
  auto c = t.execute(1, 1000ms, "fresh", affinity_mode::strict_fail_fast);
  CHECK(t.w2->executed == std::vector<uint64_t>{1});
  auto d = t.execute(2, 1000ms, "fresh2", affinity_mode::strict_queue);
  CHECK(t.w1->executed == std::vector<uint64_t>{100, 2});
}

TEST_CASE("a_session_that_ended_keeps_no_affinity") {
  two_workers t;
  caf::anon_send(t.pool, proto::forget_session_atom::value, std::string{"s"});
  t.run();
  // strict_fail_fast would refuse if "s" were still pinned to busy-able
  // worker-1; unpinned, the longest-idle worker (worker-2) takes it.
  auto c = t.execute(1, 1000ms, "s", affinity_mode::strict_fail_fast);
  CHECK(t.w2->executed == std::vector<uint64_t>{1});
  CHECK(t.w1->executed == std::vector<uint64_t>{100});
  // ... and the session now sticks to where it went.
  t.release(t.w2, 1);
  auto again = t.execute(2, 1000ms, "s");
  CHECK(t.w2->executed == std::vector<uint64_t>{1, 2});
}
