// Shutdown: queued calls hear shutting_down, calls in flight get their
// outcome, new calls are refused, and the pool ends with the exit reason.
#include "actors/pool_harness.hpp"

using namespace snakepit;
using namespace snakepit::test;

TEST_CASE("shutdown answers queued calls with shutting_down and refuses new ones and lets "
          "calls in flight finish") {
  pool_fixture t;
  t.start_pool(1);
  auto w = t.add_worker("worker-1", true);
  auto running = t.execute(1);
  auto q2 = t.execute(2);
  auto q3 = t.execute(3);
  auto waiting = t.ask_later<caf::ok_atom>(t.pool, proto::await_ready_atom::value, 1000ms);
  REQUIRE(waiting->has_value());  // size 1: ready
  auto watch = t.watch_actor(t.pool);
  caf::anon_send_exit(t.pool, caf::exit_reason::user_shutdown);
  t.run();
  REQUIRE(q2->answered());
  REQUIRE(q3->answered());
  CHECK(q2->code() == errc::shutting_down);
  CHECK(q3->code() == errc::shutting_down);
  CHECK_FALSE(running->answered());
  CHECK_FALSE(watch.ended());
  auto late = t.execute(4);
  REQUIRE(late->answered());
  CHECK(late->code() == errc::shutting_down);
  auto ready = t.await_ready(1000ms);
  REQUIRE(ready->has_value());
  CHECK(from_caf_error((*ready)->error()).code() == errc::shutting_down);
  CHECK(w->executed == std::vector<uint64_t>{1});
  t.release(w, 1);
  CHECK(running->ok());
  REQUIRE(watch.ended());
  CHECK(watch.reason() == caf::exit_reason::user_shutdown);
}

TEST_CASE("a pool with nothing in flight stops at once with the exit reason") {
  pool_fixture t;
  t.start_pool(1);
  t.add_worker("worker-1");
  auto watch = t.watch_actor(t.pool);
  caf::anon_send_exit(t.pool, caf::exit_reason::user_shutdown);
  t.run();
  REQUIRE(watch.ended());
  CHECK(watch.reason() == caf::exit_reason::user_shutdown);
}

TEST_CASE("a call in flight that reaches its deadline during shutdown lets the pool stop") {
  pool_fixture t;
  t.start_pool(1);
  auto w = t.add_worker("worker-1", true);
  auto running = t.execute(1, 300ms);
  auto watch = t.watch_actor(t.pool);
  caf::anon_send_exit(t.pool, caf::exit_reason::user_shutdown);
  t.run();
  CHECK_FALSE(watch.ended());
  t.advance(300ms);
  REQUIRE(running->answered());
  CHECK(running->code() == errc::timeout);
  CHECK(w->cancels == std::vector<uint64_t>{1});
  CHECK(watch.ended());
}

TEST_CASE("a pool killed with calls in flight answers them shutting_down") {
  pool_fixture t;
  t.start_pool(1);
  auto w = t.add_worker("worker-1", true);
  auto running = t.execute(1);
  auto queued = t.execute(2);
  auto waiting = t.ask_later<caf::ok_atom>(t.pool, proto::await_ready_atom::value, 1000ms);
  caf::anon_send_exit(t.pool, caf::exit_reason::kill);
  t.run();
  REQUIRE(running->answered());
  REQUIRE(queued->answered());
  CHECK(running->code() == errc::shutting_down);
  CHECK(queued->code() == errc::shutting_down);
}

TEST_CASE("a normal exit message does not stop the pool") {
  pool_fixture t;
  t.start_pool(1);
  t.add_worker("worker-1");
  auto watch = t.watch_actor(t.pool);
  caf::anon_send_exit(t.pool, caf::exit_reason::normal);
  t.run();
  CHECK_FALSE(watch.ended());
  auto c = t.execute(1);
  CHECK(c->ok());
}
