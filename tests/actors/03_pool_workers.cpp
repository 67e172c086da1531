// Workers coming and going: crashes, restarts of a slot, and the figures.
#include "actors/pool_harness.hpp"

using namespace snakepit;
using namespace snakepit::test;

TEST_CASE("a worker that dies mid-call fails that call with worker_crashed and leaves the "
          "others alone") {
  pool_fixture t;
  t.start_pool(2);
  auto w1 = t.add_worker("worker-1", true);
  auto w2 = t.add_worker("worker-2", true);
  auto c1 = t.execute(1);
  auto c2 = t.execute(2);
  REQUIRE(w1->executed == std::vector<uint64_t>{1});
  REQUIRE(w2->executed == std::vector<uint64_t>{2});
  t.crash(w1);
  REQUIRE(c1->answered());
  CHECK(c1->answers == 1);
  CHECK(c1->code() == errc::worker_crashed);
  CHECK_FALSE(c2->answered());
  auto s = t.stats();
  CHECK(s.worker_crashes == 1);
  CHECK(s.workers == 1);
  CHECK(s.busy == 1);
  CHECK(t.count(pool_event_kind::worker_down) == 1);
  t.release(w2, 2);
  CHECK(c2->ok());
  // New calls go to the surviving worker only.
  auto c3 = t.execute(3);
  CHECK(w2->executed == std::vector<uint64_t>{2, 3});
  t.release(w2, 3);
  CHECK(c3->ok());
}

TEST_CASE("a worker that answers before it dies wins over the crash") {
  pool_fixture t;
  t.start_pool(1);
  auto w = t.add_worker("worker-1", true);
  auto c = t.execute(1);
  auto worker = caf::actor_cast<caf::actor>(w->self);
  caf::anon_send(worker, release_atom::value, uint64_t{1});
  caf::anon_send(worker, crash_atom::value);
  t.run();
  REQUIRE(c->answered());
  CHECK(c->answers == 1);
  CHECK(c->ok());
  CHECK(t.stats().worker_crashes == 1);
}

TEST_CASE("a new hello from the same slot counts a restart") {
  pool_fixture t;
  t.start_pool(1);
  auto w = t.add_worker("worker-1");
  CHECK(t.workers().at(0).restarts == 0);
  t.crash(w);
  auto info = t.workers();
  REQUIRE(info.size() == 1);
  CHECK(info[0].state == worker_state::starting);
  CHECK(t.stats().workers == 0);
  auto again = t.add_worker("worker-1");
  info = t.workers();
  REQUIRE(info.size() == 1);
  CHECK(info[0].restarts == 1);
  CHECK(info[0].state == worker_state::ready);
  CHECK(info[0].os_pid == again->os_pid);
  auto c = t.execute(1);
  CHECK(c->ok());
  CHECK(again->executed == std::vector<uint64_t>{1});
}

TEST_CASE("a hello that overtakes the old worker's down message replaces the worker") {
  pool_fixture t;
  t.start_pool(1);
  auto old = t.add_worker("worker-1", true);
  auto c1 = t.execute(1);
  auto fresh = t.add_worker("worker-1", true);  // the old actor is still alive and busy
  auto c2 = t.execute(2);
  CHECK(fresh->executed == std::vector<uint64_t>{2});
  t.release(old, 1);  // the old worker still finishes its call
  CHECK(c1->ok());
  CHECK(old->executed == std::vector<uint64_t>{1});
  t.release(fresh, 2);
  CHECK(c2->ok());
  auto c3 = t.execute(3);
  CHECK(fresh->executed == std::vector<uint64_t>{2, 3});
  auto info = t.workers();
  REQUIRE(info.size() == 1);
  CHECK(info[0].restarts == 1);
  CHECK(t.stats().workers == 1);
}

TEST_CASE("stats and list_workers report the pool's figures") {
  pool_fixture t;
  t.start_pool(3);
  auto w10 = t.add_worker("worker-10", true);
  auto w2 = t.add_worker("worker-2", true);
  auto w1 = t.add_worker("worker-1", true);
  auto s = t.stats();
  CHECK(s.workers == 3);
  CHECK(s.available == 3);
  CHECK(s.busy == 0);
  // Idle workers take calls in the order they became idle.
  auto c1 = t.execute(1);
  auto c2 = t.execute(2);
  t.release(w10, 1);
  t.release(w2, 2);
  CHECK(c1->ok());
  CHECK(c2->ok());
  auto c3 = t.execute(3);  // worker-1 has been idle the longest
  auto c4 = t.execute(4);  // then worker-10
  CHECK(w1->executed == std::vector<uint64_t>{3});
  CHECK(w10->executed == std::vector<uint64_t>{1, 4});
  s = t.stats();
  CHECK(s.requests == 4);
  CHECK(s.completed == 2);
  CHECK(s.errors == 0);
  CHECK(s.workers == 3);
  CHECK(s.busy == 2);
  CHECK(s.available == 1);
  CHECK(s.queued == 0);
  auto c5 = t.execute(5);  // worker-2, the last idle one
  auto c6 = t.execute(6);  // queued
  CHECK(w2->executed == std::vector<uint64_t>{2, 5});
  s = t.stats();
  CHECK(s.requests == 6);
  CHECK(s.busy == 3);
  CHECK(s.available == 0);
  CHECK(s.queued == 1);
  auto info = t.workers();
  REQUIRE(info.size() == 3);
  CHECK(info[0].id == "worker-1");
  CHECK(info[1].id == "worker-2");
  CHECK(info[2].id == "worker-10");
  CHECK(info[0].requests == 0);
  CHECK(info[1].requests == 1);
  CHECK(info[2].requests == 1);
  for (auto& i : info)
    CHECK(i.state == worker_state::busy);
  CHECK(info[2].os_pid == w10->os_pid);
  t.release(w1, 3);
  info = t.workers();
  CHECK(info[0].state == worker_state::busy);
  CHECK(info[0].requests == 1);
  CHECK(w1->executed == std::vector<uint64_t>{3, 6});  // took the queued call
  CHECK(c3->ok());
  CHECK_FALSE(c6->answered());
  CHECK_FALSE(c4->answered());
  CHECK_FALSE(c5->answered());
}
