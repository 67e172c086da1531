// Adaptive batching: an idle worker takes a new call at once and alone; a
// worker that frees up while calls wait takes a bounded batch of them, each
// still its own request with its own outcome, deadline and cancel.
// Pipelining: a worker that answers a call while it still holds others takes
// more queued calls when a whole batch fits below max_in_flight_per_worker.
#include <fmt/format.h>

#include "actors/config.hpp"
#include "actors/pool_harness.hpp"

using namespace snakepit;
using namespace snakepit::test;

namespace {

using ids = std::vector<uint64_t>;

/// max_in_flight_per_worker = max_batch unless given: no pipelining, so the
/// batch rules are seen on their own.
pool_options batching(std::size_t size, std::size_t max_batch, std::size_t max_in_flight = 0) {
  pool_options opts;
  opts.size = size;
  opts.max_batch = max_batch;
  opts.max_in_flight_per_worker = max_in_flight == 0 ? max_batch : max_in_flight;
  return opts;
}

/// One holding worker, call 1 running on it and calls 2..last queued.
struct one_busy_worker : pool_fixture {
  std::shared_ptr<fake_worker_control> w;
  std::map<uint64_t, std::shared_ptr<call_record>> calls;

  explicit one_busy_worker(std::size_t max_batch, std::size_t max_in_flight = 0) {
    start_pool(batching(1, max_batch, max_in_flight));
    w = add_worker("worker-1", true);
  }

  void submit(uint64_t id, std::chrono::milliseconds timeout = 5000ms) {
    calls[id] = execute(id, timeout);
  }
};

} // namespace

TEST_CASE("spawn_pool rejects max_batch, max_batch_bytes or max_in_flight_per_worker of zero "
          "with invalid_argument") {
  test_system t;
  auto opts = batching(1, 0);
  auto p = spawn_pool(t.sys, opts);
  REQUIRE_FALSE(p);
  CHECK(from_caf_error(p.error()).code() == errc::invalid_argument);
  CHECK(from_caf_error(p.error()).message().find("max_batch") != std::string::npos);
  opts = batching(1, 4);
  opts.max_batch_bytes = 0;
  p = spawn_pool(t.sys, opts);
  REQUIRE_FALSE(p);
  CHECK(from_caf_error(p.error()).message().find("max_batch_bytes") != std::string::npos);
  opts = batching(1, 4);
  opts.max_in_flight_per_worker = 0;
  p = spawn_pool(t.sys, opts);
  REQUIRE_FALSE(p);
  CHECK(from_caf_error(p.error()).code() == errc::invalid_argument);
  CHECK(from_caf_error(p.error()).message().find("max_in_flight_per_worker") != std::string::npos);
}

TEST_CASE("the default pool batches up to 32 calls and does not pipeline (max_in_flight_per_worker = max_batch)") {
  pool_options opts;
  CHECK(opts.max_batch == 32);
  CHECK(opts.max_batch_bytes == std::size_t{1} << 20);
  CHECK(opts.max_in_flight_per_worker == 32);
  snakepit::config cfg;
  CHECK(cfg.max_batch == opts.max_batch);
  CHECK(cfg.max_in_flight_per_worker == opts.max_in_flight_per_worker);
}

TEST_CASE("an idle worker gets a new call at once and alone") {
  pool_fixture t;
  t.start_pool(batching(2, 16));
  auto w1 = t.add_worker("worker-1", true);
  auto w2 = t.add_worker("worker-2", true);
  auto c1 = t.execute(1);
  CHECK(w1->executed == ids{1});
  // worker-1 is busy, worker-2 idle: the next call goes to worker-2 at once,
  // not onto worker-1 and not into the queue.
  auto c2 = t.execute(2);
  CHECK(w1->executed == ids{1});
  CHECK(w2->executed == ids{2});
  CHECK(t.count(pool_event_kind::call_queued) == 0);
  t.release(w1, 1);
  t.release(w2, 2);
  CHECK(c1->ok());
  CHECK(c2->ok());
  // Idle again with nothing queued: the next call still goes at once, alone.
  auto c3 = t.execute(3);
  CHECK(w1->executed == ids{1, 3});
  CHECK(w2->executed == ids{2});
  for (auto& ev : t.pool_events)
    if (ev.kind == pool_event_kind::call_dispatched)
      CHECK(ev.queue_time.count() == 0);
  auto s = t.stats();
  CHECK(s.batches == 0);
  CHECK(s.batched_calls == 0);
  CHECK(t.count(pool_event_kind::batch_dispatched) == 0);
}

TEST_CASE("a freed worker takes the queued calls in FIFO order, up to max_batch") {
  one_busy_worker t{3};
  for (uint64_t id = 1; id <= 6; ++id)
    t.submit(id);
  CHECK(t.w->executed == ids{1});
  CHECK(t.stats().queued == 5);
  t.release(t.w, 1);
  // One batch of the three oldest; the rest keep waiting.
  CHECK(t.w->executed == ids{1, 2, 3, 4});
  auto s = t.stats();
  CHECK(s.queued == 2);
  CHECK(s.busy == 1);
  CHECK(s.batches == 1);
  CHECK(s.batched_calls == 3);
  REQUIRE(t.count(pool_event_kind::batch_dispatched) == 1);
  for (auto& ev : t.pool_events)
    if (ev.kind == pool_event_kind::batch_dispatched) {
      CHECK(ev.worker_id == "worker-1");
      CHECK(ev.detail.find("calls=3") == 0);
    }
  // max_in_flight_per_worker = max_batch: no pipelining, busy until every
  // call of the batch is answered.
  t.release(t.w, 2);
  t.release(t.w, 3);
  CHECK(t.w->executed == ids{1, 2, 3, 4});
  CHECK(t.workers().at(0).state == worker_state::busy);
  t.release(t.w, 4);
  CHECK(t.w->executed == ids{1, 2, 3, 4, 5, 6});
  t.release(t.w, 5);
  t.release(t.w, 6);
  CHECK(t.answer_order == ids{1, 2, 3, 4, 5, 6});
  for (auto& [id, c] : t.calls)
    CHECK(c->ok());
  s = t.stats();
  CHECK(s.completed == 6);
  CHECK(s.available == 1);
  CHECK(s.batches == 2);
  CHECK(s.batched_calls == 5);
  CHECK(t.workers().at(0).requests == 6);
  CHECK(t.workers().at(0).state == worker_state::ready);
}

TEST_CASE("calls of a batch may be answered in any order, each to its own caller") {
  one_busy_worker t{16};
  for (uint64_t id = 1; id <= 4; ++id)
    t.submit(id);
  t.release(t.w, 1);
  CHECK(t.w->executed == ids{1, 2, 3, 4});
  t.release(t.w, 4);
  t.release(t.w, 2);
  t.release(t.w, 3);
  CHECK(t.answer_order == ids{1, 4, 2, 3});
  for (auto& [id, c] : t.calls) {
    REQUIRE(c->ok());
    CHECK(c->answers == 1);
    CHECK((*c->outcome->value)["id"] == id);
  }
}

TEST_CASE("a worker that becomes ready takes a batch of the waiting calls") {
  pool_fixture t;
  t.start_pool(batching(1, 2));
  auto c1 = t.execute(1);
  auto c2 = t.execute(2);
  auto c3 = t.execute(3);
  CHECK(t.stats().queued == 3);
  auto w = t.add_worker("worker-1", true);
  CHECK(w->executed == ids{1, 2});
  CHECK(t.stats().queued == 1);
  CHECK(t.stats().batches == 1);
}

TEST_CASE("one failing call inside a batch fails alone") {
  one_busy_worker t{16};
  t.w->reply = [](const proto::call& c) {
    if (c.id == 3)
      return proto::call_outcome::failed(
        snakepit::error{errc::python_exception, "boom", "ValueError", "Traceback"});
    return proto::call_outcome::ok(nlohmann::json{{"id", c.id}});
  };
  for (uint64_t id = 1; id <= 4; ++id)
    t.submit(id);
  t.release(t.w, 1);
  REQUIRE(t.w->executed == ids{1, 2, 3, 4});
  for (uint64_t id = 2; id <= 4; ++id)
    t.release(t.w, id);
  CHECK(t.calls[2]->ok());
  REQUIRE(t.calls[3]->answered());
  CHECK(t.calls[3]->code() == errc::python_exception);
  CHECK(t.calls[3]->outcome->error.python_type() == "ValueError");
  CHECK(t.calls[4]->ok());
  auto s = t.stats();
  CHECK(s.completed == 3);
  CHECK(s.errors == 1);
  CHECK(s.available == 1);
  CHECK(t.count(pool_event_kind::call_failed) == 1);
}

TEST_CASE("a cancelled call inside a batch: the worker is told, the others complete") {
  one_busy_worker t{16};
  // Like the real worker: a call cancelled before it ends answers `cancelled`.
  auto ctl = t.w.get();
  t.w->reply = [ctl](const proto::call& c) {
    if (std::find(ctl->cancels.begin(), ctl->cancels.end(), c.id) != ctl->cancels.end())
      return proto::call_outcome::failed(snakepit::error{errc::cancelled, "cancelled"});
    return proto::call_outcome::ok(nlohmann::json{{"id", c.id}});
  };
  for (uint64_t id = 1; id <= 5; ++id)
    t.submit(id);
  t.release(t.w, 1);
  REQUIRE(t.w->executed == ids{1, 2, 3, 4, 5});
  caf::anon_send(t.pool, proto::cancel_call_atom::value, uint64_t{3});
  t.run();
  CHECK(t.w->cancels == ids{3});
  CHECK_FALSE(t.calls[3]->answered());  // the worker answers it
  for (uint64_t id = 2; id <= 5; ++id)
    t.release(t.w, id);
  REQUIRE(t.calls[3]->answered());
  CHECK(t.calls[3]->answers == 1);
  CHECK(t.calls[3]->code() == errc::cancelled);
  CHECK(t.calls[2]->ok());
  CHECK(t.calls[4]->ok());
  CHECK(t.calls[5]->ok());
  CHECK(t.stats().available == 1);
}

TEST_CASE("a call cancelled while queued never joins a batch") {
  one_busy_worker t{16};
  for (uint64_t id = 1; id <= 4; ++id)
    t.submit(id);
  caf::anon_send(t.pool, proto::cancel_call_atom::value, uint64_t{3});
  t.run();
  REQUIRE(t.calls[3]->answered());
  CHECK(t.calls[3]->code() == errc::cancelled);
  t.release(t.w, 1);
  CHECK(t.w->executed == ids{1, 2, 4});
  CHECK(t.w->cancels.empty());
}

TEST_CASE("a deadline expiring for a call inside a batch: its caller hears timeout, the others "
          "complete") {
  one_busy_worker t{16};
  t.submit(1);
  t.submit(2);
  t.submit(3, 200ms);
  t.submit(4);
  t.submit(5);
  t.release(t.w, 1);
  REQUIRE(t.w->executed == ids{1, 2, 3, 4, 5});
  auto late = t.execute(6);  // arrives while the batch runs: waits
  CHECK(t.stats().queued == 1);
  t.advance(200ms);
  REQUIRE(t.calls[3]->answered());
  CHECK(t.calls[3]->code() == errc::timeout);
  CHECK(t.w->cancels == ids{3});
  CHECK_FALSE(t.calls[2]->answered());
  CHECK_FALSE(t.calls[4]->answered());
  t.release(t.w, 2);
  t.release(t.w, 4);
  t.release(t.w, 5);
  CHECK(t.calls[2]->ok());
  CHECK(t.calls[4]->ok());
  CHECK(t.calls[5]->ok());
  // Python still runs call 3: the worker stays busy and call 6 waits.
  CHECK(t.w->executed == ids{1, 2, 3, 4, 5});
  CHECK(t.stats().busy == 1);
  t.release(t.w, 3);  // the late outcome frees the worker; the caller heard already
  CHECK(t.calls[3]->answers == 1);
  CHECK(t.calls[3]->code() == errc::timeout);
  CHECK(t.w->executed == ids{1, 2, 3, 4, 5, 6});
  t.release(t.w, 6);
  CHECK(late->ok());
  auto s = t.stats();
  CHECK(s.completed == 5);
  CHECK(s.errors == 1);
  CHECK(s.queue_timeouts == 0);
}

TEST_CASE("a call whose deadline passes while queued leaves the queue before the batch") {
  one_busy_worker t{16};
  t.submit(1);
  t.submit(2);
  t.submit(3, 100ms);
  t.submit(4);
  t.advance(100ms);
  REQUIRE(t.calls[3]->answered());
  CHECK(t.calls[3]->code() == errc::timeout);
  CHECK(t.stats().queue_timeouts == 1);
  t.release(t.w, 1);
  CHECK(t.w->executed == ids{1, 2, 4});
  CHECK(t.w->cancels.empty());
}

TEST_CASE("a worker that dies holding a batch fails each of its calls on its own") {
  pool_fixture t;
  t.start_pool(batching(2, 16));
  auto w1 = t.add_worker("worker-1", true);
  auto w2 = t.add_worker("worker-2", true);
  std::map<uint64_t, std::shared_ptr<call_record>> calls;
  for (uint64_t id = 1; id <= 5; ++id)
    calls[id] = t.execute(id);
  // 1 on worker-1, 2 on worker-2, 3..5 queued.
  t.release(w1, 1);
  REQUIRE(w1->executed == ids{1, 3, 4, 5});
  t.release(w1, 4);  // answered before the crash: keeps its answer
  auto queued = t.execute(6);
  t.crash(w1);
  CHECK(calls[1]->ok());
  CHECK(calls[4]->ok());
  for (uint64_t id : {3, 5}) {
    REQUIRE(calls[id]->answered());
    CHECK(calls[id]->answers == 1);
    CHECK(calls[id]->code() == errc::worker_crashed);
    CHECK(calls[id]->outcome->error.message().find(fmt::format("call {}", id))
          != std::string::npos);
  }
  CHECK_FALSE(calls[2]->answered());
  CHECK_FALSE(queued->answered());  // it never reached the dead worker
  CHECK(t.stats().queued == 1);
  t.release(w2, 2);
  CHECK(w2->executed == ids{2, 6});
  t.release(w2, 6);
  CHECK(queued->ok());
  auto s = t.stats();
  CHECK(s.worker_crashes == 1);
  CHECK(s.errors == 2);
}

TEST_CASE("strict_queue calls are not batched onto another slot") {
  pool_fixture t;
  t.start_pool(batching(2, 16));
  auto w1 = t.add_worker("worker-1");
  auto w2 = t.add_worker("worker-2");
  REQUIRE(t.execute(100, 1000ms, "s")->ok());  // session s lives on worker-1
  w1->hold = true;
  w2->hold = true;
  auto a = t.execute(1, 1000ms, "s", affinity_mode::strict_queue);  // worker-1
  auto b = t.execute(2);                                             // worker-2
  auto p1 = t.execute(3, 1000ms, "s", affinity_mode::strict_queue);
  auto plain1 = t.execute(4);
  auto p2 = t.execute(5, 1000ms, "s", affinity_mode::strict_queue);
  auto hinted = t.execute(6, 1000ms, "other");
  auto plain2 = t.execute(7);
  CHECK(t.stats().queued == 5);
  t.release(w2, 2);
  // worker-2 skips the session's calls and takes everything else, in order.
  CHECK(w2->executed == ids{2, 4, 6, 7});
  CHECK(t.stats().queued == 2);
  t.release(w1, 1);
  CHECK(w1->executed == ids{100, 1, 3, 5});
  CHECK(t.stats().queued == 0);
}

TEST_CASE("hint calls may join the batch of any worker") {
  pool_fixture t;
  t.start_pool(batching(2, 16));
  auto w1 = t.add_worker("worker-1");
  auto w2 = t.add_worker("worker-2");
  REQUIRE(t.execute(100, 1000ms, "s")->ok());  // session s lives on worker-1
  w1->hold = true;
  w2->hold = true;
  auto a = t.execute(1, 1000ms, "s");  // worker-1, its own
  auto b = t.execute(2);               // worker-2
  auto h1 = t.execute(3, 1000ms, "s");
  auto h2 = t.execute(4, 1000ms, "s");
  t.release(w2, 2);
  CHECK(w2->executed == ids{2, 3, 4});
}

TEST_CASE("max_batch = 1 without pipelining: a freed worker takes one queued call at a time") {
  one_busy_worker t{1};
  for (uint64_t id = 1; id <= 4; ++id)
    t.submit(id);
  t.release(t.w, 1);
  CHECK(t.w->executed == ids{1, 2});
  CHECK(t.stats().queued == 2);
  t.release(t.w, 2);
  CHECK(t.w->executed == ids{1, 2, 3});
  t.release(t.w, 3);
  t.release(t.w, 4);
  CHECK(t.w->executed == ids{1, 2, 3, 4});
  CHECK(t.answer_order == ids{1, 2, 3, 4});
  CHECK(t.stats().batches == 0);
  CHECK(t.count(pool_event_kind::batch_dispatched) == 0);
}

TEST_CASE("a batch stops at max_batch_bytes, in FIFO order, and a big call still goes alone") {
  pool_fixture t;
  auto opts = batching(1, 16);
  opts.max_batch_bytes = 2500;  // two 1000-byte calls fit, three do not
  t.start_pool(opts);
  auto w = t.add_worker("worker-1", true);
  auto with_payload = [&](uint64_t id, std::size_t bytes) {
    auto c = t.make_call(id);
    c.args["data"] = std::string(bytes, 'x');
    return t.execute(std::move(c));
  };
  auto c1 = with_payload(1, 10);
  auto c2 = with_payload(2, 1000);
  auto c3 = with_payload(3, 1000);
  auto c4 = with_payload(4, 1000);
  auto c5 = with_payload(5, 10);  // small, but does not overtake call 4
  auto c6 = with_payload(6, 10000);
  t.release(w, 1);
  CHECK(w->executed == ids{1, 2, 3});
  t.release(w, 2);
  t.release(w, 3);
  CHECK(w->executed == ids{1, 2, 3, 4, 5});
  t.release(w, 4);
  t.release(w, 5);
  CHECK(w->executed == ids{1, 2, 3, 4, 5, 6});  // bigger than the bound: alone
  t.release(w, 6);
  CHECK(c6->ok());
}

TEST_CASE("a retired worker finishes its whole batch after its slot's new worker said hello") {
  pool_fixture t;
  t.start_pool(batching(1, 16));
  auto old = t.add_worker("worker-1", true);
  auto c1 = t.execute(1);
  auto c2 = t.execute(2);
  auto c3 = t.execute(3);
  t.release(old, 1);
  REQUIRE(old->executed == ids{1, 2, 3});
  auto fresh = t.add_worker("worker-1", true);
  auto c4 = t.execute(4);
  CHECK(fresh->executed == ids{4});
  t.release(old, 2);
  t.release(old, 3);
  CHECK(c2->ok());
  CHECK(c3->ok());
  t.release(fresh, 4);
  CHECK(c4->ok());
  auto s = t.stats();
  CHECK(s.workers == 1);
  CHECK(s.available == 1);
  CHECK(t.workers().at(0).requests == 4);
}

TEST_CASE("shutdown with a batch in flight answers the queue and waits for the batch") {
  pool_fixture t;
  t.start_pool(batching(1, 2));
  auto w = t.add_worker("worker-1", true);
  std::map<uint64_t, std::shared_ptr<call_record>> calls;
  for (uint64_t id = 1; id <= 4; ++id)
    calls[id] = t.execute(id);
  t.release(w, 1);
  REQUIRE(w->executed == ids{1, 2, 3});
  caf::anon_send_exit(t.pool, caf::exit_reason::user_shutdown);
  t.run();
  REQUIRE(calls[4]->answered());
  CHECK(calls[4]->code() == errc::shutting_down);
  CHECK_FALSE(calls[2]->answered());
  t.release(w, 2);
  t.release(w, 3);
  CHECK(calls[2]->ok());
  CHECK(calls[3]->ok());
}

// --- pipelining ---------------------------------------------------------------

TEST_CASE("a busy worker below its in-flight bound takes queued calls") {
  one_busy_worker t{3, 8};
  for (uint64_t id = 1; id <= 12; ++id)
    t.submit(id);
  CHECK(t.w->executed == ids{1});  // idle: at once, alone
  t.release(t.w, 1);
  CHECK(t.w->executed == ids{1, 2, 3, 4});  // holds none: a batch
  t.release(t.w, 2);
  // Holds 3 and 4; 2 + 3 <= 8: the next batch joins them in the pipeline.
  CHECK(t.w->executed == ids{1, 2, 3, 4, 5, 6, 7});
  t.release(t.w, 3);
  // Holds 4..7; 4 + 3 <= 8: one more batch, 7 held.
  CHECK(t.w->executed == ids{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  t.release(t.w, 4);
  // Holds 6; 6 + 3 > 8: no room for a whole batch, nothing more.
  CHECK(t.w->executed.size() == 10);
  CHECK(t.stats().queued == 2);
  t.release(t.w, 5);
  // Holds 5; room for a batch: the last two queued calls.
  CHECK(t.w->executed == ids{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  CHECK(t.stats().queued == 0);
  for (uint64_t id = 6; id <= 12; ++id)
    t.release(t.w, id);
  CHECK(t.answer_order == ids{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  for (auto& [id, c] : t.calls) {
    REQUIRE(c->ok());
    CHECK(c->answers == 1);
  }
  auto s = t.stats();
  CHECK(s.completed == 12);
  CHECK(s.available == 1);
  CHECK(s.batches == 4);
  CHECK(s.batched_calls == 11);
  bool saw_held = false;
  for (auto& ev : t.pool_events)
    if (ev.kind == pool_event_kind::batch_dispatched && ev.detail.find("held=4") != std::string::npos)
      saw_held = true;
  CHECK(saw_held);
}

TEST_CASE("a worker never holds more than max_in_flight_per_worker calls") {
  one_busy_worker t{4, 5};
  for (uint64_t id = 1; id <= 10; ++id)
    t.submit(id);
  t.release(t.w, 1);
  CHECK(t.w->executed == ids{1, 2, 3, 4, 5});
  t.release(t.w, 2);  // holds 3: 3 + 4 > 5
  t.release(t.w, 3);  // holds 2: 2 + 4 > 5
  CHECK(t.w->executed.size() == 5);
  t.release(t.w, 4);  // holds 1: 1 + 4 <= 5, four more make 5
  CHECK(t.w->executed == ids{1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(t.stats().queued == 1);
}

TEST_CASE("max_in_flight_per_worker below max_batch caps the batch and turns pipelining off") {
  one_busy_worker t{16, 2};
  for (uint64_t id = 1; id <= 6; ++id)
    t.submit(id);
  t.release(t.w, 1);
  CHECK(t.w->executed == ids{1, 2, 3});
  t.release(t.w, 2);  // holds 1: no room for a whole batch of 2
  CHECK(t.w->executed == ids{1, 2, 3});
  t.release(t.w, 3);
  CHECK(t.w->executed == ids{1, 2, 3, 4, 5});
}

TEST_CASE("a new call never goes straight to a worker that holds calls, even below its bound") {
  one_busy_worker t{4, 32};
  t.submit(1);
  t.submit(2);
  CHECK(t.w->executed == ids{1});
  CHECK(t.stats().queued == 1);
  CHECK(t.count(pool_event_kind::call_queued) == 1);
  t.release(t.w, 1);
  CHECK(t.w->executed == ids{1, 2});
  t.release(t.w, 2);
  CHECK(t.calls[2]->ok());
}

TEST_CASE("a crash with a full pipeline fails every held call with worker_crashed") {
  one_busy_worker t{4, 8};
  for (uint64_t id = 1; id <= 12; ++id)
    t.submit(id);
  t.release(t.w, 1);
  t.release(t.w, 2);  // holds 3..5, takes 6..9: 7 held
  REQUIRE(t.w->executed == ids{1, 2, 3, 4, 5, 6, 7, 8, 9});
  t.release(t.w, 3);  // holds 6: 6 + 4 > 8, takes nothing
  REQUIRE(t.w->executed.size() == 9);
  CHECK(t.stats().queued == 3);
  t.crash(t.w);
  for (uint64_t id = 1; id <= 3; ++id)
    CHECK(t.calls[id]->ok());
  for (uint64_t id = 4; id <= 9; ++id) {
    REQUIRE(t.calls[id]->answered());
    CHECK(t.calls[id]->answers == 1);
    CHECK(t.calls[id]->code() == errc::worker_crashed);
    CHECK(t.calls[id]->outcome->error.message().find(fmt::format("call {}", id))
          != std::string::npos);
  }
  // The queued ones never reached the dead worker: they wait for the next.
  for (uint64_t id = 10; id <= 12; ++id)
    CHECK_FALSE(t.calls[id]->answered());
  auto s = t.stats();
  CHECK(s.worker_crashes == 1);
  CHECK(s.errors == 6);
  CHECK(s.queued == 3);
  auto fresh = t.add_worker("worker-1", true);
  CHECK(fresh->executed == ids{10, 11, 12});
  for (uint64_t id = 10; id <= 12; ++id)
    t.release(fresh, id);
  for (uint64_t id = 10; id <= 12; ++id)
    CHECK(t.calls[id]->ok());
}

TEST_CASE("a deadline expiring while a call waits inside a worker's pipeline") {
  one_busy_worker t{4, 8};
  // Like the real worker: a call cancelled before it starts is refused unrun.
  auto ctl = t.w.get();
  t.w->reply = [ctl](const proto::call& c) {
    if (std::find(ctl->cancels.begin(), ctl->cancels.end(), c.id) != ctl->cancels.end())
      return proto::call_outcome::failed(snakepit::error{errc::cancelled, "cancelled"});
    return proto::call_outcome::ok(nlohmann::json{{"id", c.id}});
  };
  for (uint64_t id = 1; id <= 5; ++id)
    t.submit(id);
  t.submit(6, 300ms);
  for (uint64_t id = 7; id <= 10; ++id)
    t.submit(id);
  t.release(t.w, 1);
  t.release(t.w, 2);  // holds 3..5, takes 6..9: call 6 waits behind 3, 4, 5
  REQUIRE(t.w->executed == ids{1, 2, 3, 4, 5, 6, 7, 8, 9});
  t.advance(300ms);
  // The deadline covers queue, pipeline and run: the caller hears now, the
  // worker is told to drop it.
  REQUIRE(t.calls[6]->answered());
  CHECK(t.calls[6]->code() == errc::timeout);
  CHECK(t.calls[6]->outcome->error.message().find("worker-1") != std::string::npos);
  CHECK(t.w->cancels == ids{6});
  CHECK(t.stats().queue_timeouts == 0);  // it had left the queue
  // Still held until the worker answers it: 3..9 (7 calls), no room.
  t.release(t.w, 3);
  CHECK(t.w->executed.size() == 9);
  t.release(t.w, 4);
  t.release(t.w, 5);  // holds 6..9: 4 + 4 <= 8, takes 10
  CHECK(t.w->executed == ids{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  t.release(t.w, 6);  // refused unrun; its caller heard timeout already
  CHECK(t.calls[6]->answers == 1);
  CHECK(t.calls[6]->code() == errc::timeout);
  for (uint64_t id = 7; id <= 10; ++id)
    t.release(t.w, id);
  for (uint64_t id = 1; id <= 10; ++id)
    if (id != 6)
      CHECK(t.calls[id]->ok());
  auto s = t.stats();
  CHECK(s.completed == 9);
  CHECK(s.errors == 1);
  CHECK(s.available == 1);
}

TEST_CASE("strict_fail_fast with pipelining: a worker that holds any call is busy") {
  pool_fixture t;
  t.start_pool(batching(2, 4, 32));
  auto w1 = t.add_worker("worker-1");
  auto w2 = t.add_worker("worker-2");
  REQUIRE(t.execute(100, 1000ms, "s")->ok());  // session s lives on worker-1
  w1->hold = true;
  w2->hold = true;
  auto a = t.execute(1, 1000ms, "s", affinity_mode::strict_fail_fast);  // worker-1 idle: at once
  auto b = t.execute(2);                                                 // worker-2
  REQUIRE(w1->executed == ids{100, 1});
  REQUIRE(w2->executed == ids{2});
  // worker-1 holds one call, far below its bound of 32: still busy for a
  // strict_fail_fast call, which must not wait inside the worker.
  auto c = t.execute(3, 1000ms, "s", affinity_mode::strict_fail_fast);
  REQUIRE(c->answered());
  CHECK(c->code() == errc::worker_busy);
  CHECK(c->outcome->error.message().find("worker-1") != std::string::npos);
  CHECK(w1->executed == ids{100, 1});
  // Calls that may wait do; worker-2 never takes the session's.
  auto q1 = t.execute(4, 1000ms, "s", affinity_mode::strict_queue);
  auto q2 = t.execute(5, 1000ms, "s", affinity_mode::strict_queue);
  auto h = t.execute(6);
  CHECK(t.stats().queued == 3);
  t.release(w2, 2);
  CHECK(w2->executed == ids{2, 6});
  t.release(w1, 1);
  REQUIRE(w1->executed == ids{100, 1, 4, 5});
  // worker-1 holds 4 and 5; it answers 4 while holding 5 and pipelines 7.
  auto q3 = t.execute(7, 1000ms, "s", affinity_mode::strict_queue);
  t.release(w1, 4);
  CHECK(w1->executed == ids{100, 1, 4, 5, 7});
  // Two calls in its pipeline, room for 30 more: strict_fail_fast still fails.
  auto d = t.execute(8, 1000ms, "s", affinity_mode::strict_fail_fast);
  REQUIRE(d->answered());
  CHECK(d->code() == errc::worker_busy);
  CHECK(t.stats().queued == 0);
  t.release(w1, 5);
  t.release(w1, 7);
  t.release(w2, 6);
  // Holds nothing again: the next strict_fail_fast call goes at once.
  auto e = t.execute(9, 1000ms, "s", affinity_mode::strict_fail_fast);
  CHECK_FALSE(e->answered());
  CHECK(w1->executed == ids{100, 1, 4, 5, 7, 9});
  t.release(w1, 9);
  CHECK(e->ok());
  for (auto& r : {a, b, q1, q2, q3, h})
    CHECK(r->ok());
}

TEST_CASE("strict_queue with pipelining: only the session's worker pulls its calls") {
  pool_fixture t;
  t.start_pool(batching(2, 2, 8));
  auto w1 = t.add_worker("worker-1");
  auto w2 = t.add_worker("worker-2");
  REQUIRE(t.execute(100, 1000ms, "s")->ok());  // session s lives on worker-1
  w1->hold = true;
  w2->hold = true;
  std::map<uint64_t, std::shared_ptr<call_record>> c;
  c[1] = t.execute(1, 1000ms, "s", affinity_mode::strict_queue);  // worker-1
  c[2] = t.execute(2);                                             // worker-2
  for (uint64_t id = 3; id <= 8; ++id)
    c[id] = t.execute(id, 1000ms, "s", affinity_mode::strict_queue);
  t.release(w2, 2);
  CHECK(w2->executed == ids{2});  // none of them is worker-2's to take
  t.release(w1, 1);
  CHECK(w1->executed == ids{100, 1, 3, 4});
  t.release(w1, 3);  // holds 4: 1 + 2 <= 8, pipelines the next two
  CHECK(w1->executed == ids{100, 1, 3, 4, 5, 6});
  t.release(w1, 4);  // holds 5, 6: takes 7, 8
  CHECK(w1->executed == ids{100, 1, 3, 4, 5, 6, 7, 8});
  for (uint64_t id = 5; id <= 8; ++id)
    t.release(w1, id);
  for (auto& [id, r] : c)
    CHECK(r->ok());
}

TEST_CASE("a retired worker takes no queued calls, pipelining or not") {
  pool_fixture t;
  t.start_pool(batching(1, 2, 32));
  auto old = t.add_worker("worker-1", true);
  std::map<uint64_t, std::shared_ptr<call_record>> c;
  for (uint64_t id = 1; id <= 3; ++id)
    c[id] = t.execute(id);
  t.release(old, 1);
  REQUIRE(old->executed == ids{1, 2, 3});
  auto fresh = t.add_worker("worker-1", true);
  c[4] = t.execute(4);  // the new worker, idle
  c[5] = t.execute(5);  // queued: the new worker holds a call
  REQUIRE(fresh->executed == ids{4});
  t.release(old, 2);  // the old one holds 3, has room, but is retired
  CHECK(old->executed == ids{1, 2, 3});
  CHECK(t.stats().queued == 1);
  t.release(fresh, 4);
  CHECK(fresh->executed == ids{4, 5});
  t.release(old, 3);
  t.release(fresh, 5);
  for (auto& [id, r] : c)
    CHECK(r->ok());
  CHECK(t.stats().workers == 1);
}

TEST_CASE("shutdown with a full pipeline answers the queue and lets held calls finish") {
  one_busy_worker t{2, 4};
  for (uint64_t id = 1; id <= 8; ++id)
    t.submit(id);
  t.release(t.w, 1);
  t.release(t.w, 2);  // holds 3, takes 4, 5
  REQUIRE(t.w->executed == ids{1, 2, 3, 4, 5});
  caf::anon_send_exit(t.pool, caf::exit_reason::user_shutdown);
  t.run();
  for (uint64_t id = 6; id <= 8; ++id) {
    REQUIRE(t.calls[id]->answered());
    CHECK(t.calls[id]->code() == errc::shutting_down);
  }
  t.release(t.w, 3);  // room, but nothing left to take
  CHECK(t.w->executed.size() == 5);
  t.release(t.w, 4);
  t.release(t.w, 5);
  for (uint64_t id = 3; id <= 5; ++id)
    CHECK(t.calls[id]->ok());
}
