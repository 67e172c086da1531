// Dispatch, the FIFO queue, its bound, and deadlines (queued and running).
#include "actors/pool_harness.hpp"

using namespace snakepit;
using namespace snakepit::test;

TEST_CASE("a call goes to an idle worker at once") {
  pool_fixture t;
  t.start_pool(1);
  auto w = t.add_worker("worker-1");
  auto c = t.execute(7);
  REQUIRE(c->ok());
  CHECK(c->answers == 1);
  CHECK((*c->outcome->value)["id"] == 7);
  CHECK(w->executed == std::vector<uint64_t>{7});
  CHECK(t.count(pool_event_kind::call_queued) == 0);
  CHECK(t.count(pool_event_kind::call_dispatched) == 1);
  CHECK(t.count(pool_event_kind::call_done) == 1);
  for (auto& ev : t.pool_events)
    if (ev.kind == pool_event_kind::call_dispatched)
      CHECK(ev.queue_time.count() == 0);
}

TEST_CASE("a worker's error outcome reaches the caller unchanged") {
  pool_fixture t;
  t.start_pool(1);
  auto w = t.add_worker("worker-1");
  w->reply = [](const proto::call&) {
    return proto::call_outcome::failed(
      snakepit::error{errc::python_exception, "boom", "ValueError", "Traceback"});
  };
  auto c = t.execute(1);
  REQUIRE(c->answered());
  CHECK(c->code() == errc::python_exception);
  CHECK(c->outcome->error.python_type() == "ValueError");
  auto s = t.stats();
  CHECK(s.errors == 1);
  CHECK(s.completed == 0);
  CHECK(t.count(pool_event_kind::call_failed) == 1);
}

TEST_CASE("calls wait in FIFO order while every worker is busy") {
  pool_fixture t;
  t.start_pool(1);
  auto w = t.add_worker("worker-1", true);
  std::vector<std::shared_ptr<call_record>> calls;
  for (uint64_t id = 1; id <= 4; ++id)
    calls.push_back(t.execute(id));
  CHECK(w->executed == std::vector<uint64_t>{1});
  CHECK(t.stats().queued == 3);
  CHECK(t.count(pool_event_kind::call_queued) == 3);
  for (uint64_t id = 1; id <= 4; ++id)
    t.release(w, id);
  CHECK(w->executed == std::vector<uint64_t>{1, 2, 3, 4});
  CHECK(t.answer_order == std::vector<uint64_t>{1, 2, 3, 4});
  for (auto& c : calls)
    CHECK(c->ok());
  auto s = t.stats();
  CHECK(s.queued == 0);
  CHECK(s.completed == 4);
  CHECK(s.available == 1);
}

TEST_CASE("a call beyond max_queue fails with queue_full at once") {
  pool_fixture t;
  t.start_pool(1, 2);
  auto w = t.add_worker("worker-1", true);
  auto c1 = t.execute(1);  // running
  auto c2 = t.execute(2);  // queued
  auto c3 = t.execute(3);  // queued
  auto c4 = t.execute(4);  // no room
  REQUIRE(c4->answered());
  CHECK(c4->code() == errc::queue_full);
  CHECK_FALSE(c2->answered());
  CHECK_FALSE(c3->answered());
  auto s = t.stats();
  CHECK(s.queued == 2);
  CHECK(s.errors == 1);
  CHECK(s.requests == 4);
  t.release(w, 1);
  t.release(w, 2);
  t.release(w, 3);
  CHECK(w->executed == std::vector<uint64_t>{1, 2, 3});
}

TEST_CASE("a queued call whose deadline passes times out and leaves the queue") {
  pool_fixture t;
  t.start_pool(1);
  auto w = t.add_worker("worker-1", true);
  auto c1 = t.execute(1, 1000ms);
  auto c2 = t.execute(2, 100ms);
  auto c3 = t.execute(3, 1000ms);
  t.advance(99ms);
  CHECK_FALSE(c2->answered());
  t.advance(1ms);
  REQUIRE(c2->answered());
  CHECK(c2->answers == 1);
  CHECK(c2->code() == errc::timeout);
  CHECK_FALSE(c3->answered());
  auto s = t.stats();
  CHECK(s.queued == 1);
  CHECK(s.queue_timeouts == 1);
  CHECK(t.count(pool_event_kind::queue_timeout) == 1);
  // The worker never sees the timed-out call: it goes on with the next one.
  t.release(w, 1);
  CHECK(w->executed == std::vector<uint64_t>{1, 3});
  t.release(w, 3);
  CHECK(c3->ok());
  CHECK(t.stats().available == 1);
}

TEST_CASE("a call that arrives after its deadline times out without reaching a worker") {
  pool_fixture t;
  t.start_pool(1);
  auto w = t.add_worker("worker-1");
  auto c = t.execute(1, 0ms);
  REQUIRE(c->answered());
  CHECK(c->code() == errc::timeout);
  CHECK(w->executed.empty());
  CHECK(t.stats().queue_timeouts == 1);
}

TEST_CASE("a running call past its deadline times out and is cancelled and its worker stays "
          "busy until its outcome") {
  pool_fixture t;
  t.start_pool(1);
  auto w = t.add_worker("worker-1", true);
  auto c1 = t.execute(1, 100ms);
  auto c2 = t.execute(2, 5000ms);
  t.advance(100ms);
  REQUIRE(c1->answered());
  CHECK(c1->code() == errc::timeout);
  CHECK(w->cancels == std::vector<uint64_t>{1});
  // Python still runs call 1: no second call for this worker.
  CHECK(w->executed == std::vector<uint64_t>{1});
  auto s = t.stats();
  CHECK(s.busy == 1);
  CHECK(s.available == 0);
  CHECK(s.queued == 1);
  // The late outcome frees the worker, which takes the next call; the first
  // caller hears nothing more.
  t.release(w, 1);
  CHECK(c1->answers == 1);
  CHECK(c1->code() == errc::timeout);
  CHECK(w->executed == std::vector<uint64_t>{1, 2});
  t.release(w, 2);
  CHECK(c2->ok());
  s = t.stats();
  CHECK(s.completed == 1);
  CHECK(s.errors == 1);
  CHECK(s.queue_timeouts == 0);
  CHECK(t.workers().at(0).requests == 2);
}

TEST_CASE("deadlines fire in deadline order whatever the arrival order") {
  pool_fixture t;
  t.start_pool(1);
  auto w = t.add_worker("worker-1", true);
  auto c1 = t.execute(1, 10000ms);
  auto late = t.execute(2, 300ms);
  auto early = t.execute(3, 100ms);
  auto middle = t.execute(4, 200ms);
  t.advance(100ms);
  CHECK(early->answered());
  CHECK_FALSE(middle->answered());
  t.advance(100ms);
  CHECK(middle->answered());
  CHECK_FALSE(late->answered());
  t.advance(100ms);
  CHECK(late->answered());
  CHECK(t.answer_order == std::vector<uint64_t>{3, 4, 2});
  CHECK_FALSE(c1->answered());
}
