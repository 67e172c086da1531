// The fast lane: idle workers lent to callers, and the pool's rules around it
// (lend when idle and nothing waits, recall on a call through the mailbox,
// give back while calls wait, counts and busy state include lane calls).
#include <future>
#include <thread>

#include "actors/call_port.hpp"
#include "actors/fast_lane.hpp"
#include "actors/pool_harness.hpp"
#include "actors/worker_adapter.hpp"

using namespace snakepit;
using namespace snakepit::test;
using proto::fast_lane;

namespace {

/// A connection the test answers by hand; records what was sent and on which
/// thread.
struct fake_link {
  connection_callbacks cb;
  std::vector<uint64_t> executed;
  std::vector<uint64_t> cancels;
  std::thread::id execute_thread;
  bool refuse = false;  // execute fails as a broken connection would
};

class fake_connection : public worker_connection {
public:
  explicit fake_connection(std::shared_ptr<fake_link> link) : link_(std::move(link)) {}
  void health_check(std::chrono::milliseconds, std::function<void(int, std::string)> done) override {
    done(1, {});
  }
  std::optional<snakepit::error> open(connection_callbacks cb) override {
    link_->cb = std::move(cb);
    return std::nullopt;
  }
  std::optional<snakepit::error> execute(proto::call c) override {
    if (link_->refuse)
      return snakepit::error{errc::worker_crashed, "the stream is broken"};
    link_->executed.push_back(c.id);
    link_->execute_thread = std::this_thread::get_id();
    return std::nullopt;
  }
  void cancel(uint64_t id) override { link_->cancels.push_back(id); }
  void close() override {}

private:
  std::shared_ptr<fake_link> link_;
};

struct port_and_link {
  std::shared_ptr<proto::call_port> port;
  std::shared_ptr<fake_link> link;

  void answer(uint64_t id, nlohmann::json v = {{"ok", true}}) {
    link->cb.on_outcome(id, proto::call_outcome::ok(std::move(v)));
  }
};

port_and_link open_port() {
  port_and_link p;
  p.link = std::make_shared<fake_link>();
  p.port = std::make_shared<proto::call_port>([](std::string) {});
  auto conn = std::make_unique<fake_connection>(p.link);
  REQUIRE_FALSE(conn->open(p.port->callbacks([](std::string) {})));
  p.port->attach(std::move(conn));
  return p;
}

proto::call lane_call(uint64_t id, std::chrono::milliseconds timeout = std::chrono::hours(1)) {
  proto::call c;
  c.id = id;
  c.tool = "echo";
  c.args = {{"x", id}};
  c.deadline = std::chrono::steady_clock::now() + timeout;
  return c;
}

/// What one lane call's caller got.
struct answers {
  std::vector<proto::call_outcome> got;
  fast_lane::answer_fn fn() {
    return [this](proto::call_outcome o) { got.push_back(std::move(o)); };
  }
};

/// Offers `c` to the lane with a fresh answer slot in `a`.
bool offer(fast_lane& lane, answers& a, proto::call c) {
  auto fn = a.fn();
  return lane.try_execute(c, fn);
}

fast_lane::limits bounds(std::size_t max_queue = 100, std::size_t max_batch = 16) {
  fast_lane::limits l;
  l.max_queue = max_queue;
  l.max_batch = max_batch;
  return l;
}

struct lane_fixture {
  std::shared_ptr<fast_lane> lane = std::make_shared<fast_lane>();
  std::vector<uint64_t> given_back;
  lane_fixture() {
    lane->attach([this](uint64_t key) { given_back.push_back(key); }, nullptr, bounds());
  }

  /// A worker "worker-1" (key 1) lent to the lane.
  port_and_link lend_one() {
    auto w = open_port();
    lane->lend(1, "worker-1", w.port);
    return w;
  }

  /// Calls first..last, one after the other; each must be taken by the lane.
  void submit(answers& a, uint64_t first, uint64_t last) {
    for (uint64_t id = first; id <= last; ++id) {
      auto c = lane_call(id);
      auto fn = a.fn();
      REQUIRE(lane->try_execute(c, fn));
    }
  }
};

} // namespace

TEST_CASE("a lent idle worker takes a call on the caller's own thread") {
  lane_fixture t;
  auto w = t.lend_one();
  answers a;
  REQUIRE(offer(*t.lane, a, lane_call(7)));
  CHECK(w.link->executed == std::vector<uint64_t>{7});
  CHECK(w.link->execute_thread == std::this_thread::get_id());
  CHECK(t.lane->busy(1));
  w.answer(7, {{"x", 7}});
  REQUIRE(a.got.size() == 1);
  REQUIRE(a.got[0].value);
  CHECK((*a.got[0].value)["x"] == 7);
  CHECK_FALSE(t.lane->busy(1));
  auto n = t.lane->counts();
  CHECK(n.requests == 1);
  CHECK(n.completed == 1);
  CHECK(n.errors == 0);
  CHECK(n.slot_requests["worker-1"] == 1);
}

TEST_CASE("a worker is idle in the lane again before its caller hears the answer") {
  lane_fixture t;
  auto w = t.lend_one();
  bool idle_when_answered = false;
  fast_lane::answer_fn fn = [&](proto::call_outcome) { idle_when_answered = !t.lane->busy(1); };
  auto c = lane_call(1);
  REQUIRE(t.lane->try_execute(c, fn));
  w.answer(1);
  CHECK(idle_when_answered);
  // ...so a lock-step caller's next call finds it.
  answers a;
  CHECK(offer(*t.lane, a, lane_call(2)));
}

TEST_CASE("the lane refuses a call it cannot take and leaves the call untouched") {
  lane_fixture t;
  answers a;
  auto fn = a.fn();
  auto c = lane_call(1);
  SUBCASE("the pool wants its workers back (calls wait in its queue)") {
    auto w = open_port();
    t.lane->lend(1, "worker-1", w.port);
    t.lane->want_back(true);
    CHECK_FALSE(t.lane->try_execute(c, fn));
  }
  SUBCASE("the lane is closed") {
    auto w = open_port();
    t.lane->lend(1, "worker-1", w.port);
    t.lane->close();
    CHECK_FALSE(t.lane->try_execute(c, fn));
  }
  CHECK(c.args == nlohmann::json{{"x", 1}});
  REQUIRE(fn);
  fn(proto::call_outcome::ok(1));
  CHECK(a.got.size() == 1);
}

TEST_CASE("session calls and streams are never taken by the lane") {
  lane_fixture t;
  auto w = t.lend_one();
  answers a;
  auto fn = a.fn();
  auto in_session = lane_call(1);
  in_session.session_id = "s1";
  CHECK_FALSE(t.lane->try_execute(in_session, fn));
  test_system ts;
  auto stream = lane_call(2);
  stream.stream_sink = ts.sys.spawn([] { return caf::behavior{[](int) {}}; });
  CHECK_FALSE(t.lane->try_execute(stream, fn));
  caf::anon_send_exit(stream.stream_sink, caf::exit_reason::kill);
  ts.run();
  CHECK(w.link->executed.empty());
}

TEST_CASE("a lane call past its deadline is answered timeout and cancelled, and its worker stays busy until Python answers") {
  lane_fixture t;
  auto w = t.lend_one();
  std::promise<proto::call_outcome> got;
  std::atomic<int> answers_seen{0};
  fast_lane::answer_fn fn = [&](proto::call_outcome o) {
    if (answers_seen++ == 0)
      got.set_value(std::move(o));
  };
  auto c = lane_call(5, std::chrono::milliseconds(20));
  REQUIRE(t.lane->try_execute(c, fn));
  auto f = got.get_future();
  REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  auto out = f.get();
  CHECK_FALSE(out.value);
  CHECK(out.error.code() == errc::timeout);
  CHECK(w.link->cancels == std::vector<uint64_t>{5});
  CHECK(t.lane->busy(1));  // Python still has it
  w.answer(5);             // the late outcome frees the worker, and is not a second answer
  CHECK_FALSE(t.lane->busy(1));
  CHECK(answers_seen == 1);
  auto n = t.lane->counts();
  CHECK(n.errors == 1);
  CHECK(n.completed == 0);
  CHECK(n.slot_requests["worker-1"] == 1);
}

TEST_CASE("a lane call whose worker's port closes fails with its reason and the worker is not lent again") {
  lane_fixture t;
  auto w = t.lend_one();
  answers a;
  REQUIRE(offer(*t.lane, a, lane_call(3)));
  w.port->close(errc::worker_crashed, "worker-1 died");
  REQUIRE(a.got.size() == 1);
  CHECK(a.got[0].error.code() == errc::worker_crashed);
  CHECK_FALSE(t.lane->busy(1));
  REQUIRE(offer(*t.lane, a, lane_call(4)));
  CHECK(t.lane->counts().queued == 1);  // no worker left to run it
  CHECK(t.given_back.empty());
}

TEST_CASE("a call the connection refuses as broken fails with worker_crashed and drops the worker") {
  lane_fixture t;
  auto w = open_port();
  w.link->refuse = true;
  t.lane->lend(1, "worker-1", w.port);
  answers a;
  REQUIRE(offer(*t.lane, a, lane_call(3)));
  REQUIRE(a.got.size() == 1);
  CHECK(a.got[0].error.code() == errc::worker_crashed);
  REQUIRE(offer(*t.lane, a, lane_call(4)));
  CHECK(t.lane->counts().queued == 1);
  CHECK(w.link->executed.empty());
  CHECK(t.lane->counts().errors == 1);
  CHECK(t.lane->counts().slot_requests.empty());  // the worker never served it
}

TEST_CASE("a lent worker that finishes while the pool wants it back is given back, not kept") {
  lane_fixture t;
  auto w = t.lend_one();
  answers a;
  REQUIRE(offer(*t.lane, a, lane_call(1)));
  t.lane->want_back(true);
  w.answer(1);
  CHECK(a.got.size() == 1);
  CHECK(t.given_back == std::vector<uint64_t>{1});
  t.lane->want_back(false);
  CHECK_FALSE(t.lane->busy(1));
  CHECK(t.lane->recall_idle().empty());  // the pool has it now
}

TEST_CASE("a revoked worker finishing its call is neither idle in the lane nor given back") {
  lane_fixture t;
  auto w = t.lend_one();
  answers a;
  REQUIRE(offer(*t.lane, a, lane_call(1)));
  CHECK(t.lane->revoke(1));
  w.answer(1);
  CHECK(a.got.size() == 1);  // its caller still gets the outcome
  CHECK(t.given_back.empty());
  REQUIRE(offer(*t.lane, a, lane_call(2)));
  CHECK(w.link->executed == std::vector<uint64_t>{1});  // it waits for a lent worker
}

TEST_CASE("recall_idle takes back only the idle lent workers") {
  lane_fixture t;
  auto w1 = open_port();
  auto w2 = open_port();
  t.lane->lend(1, "worker-1", w1.port);
  t.lane->lend(2, "worker-2", w2.port);
  answers a;
  auto fn = a.fn();
  auto c = lane_call(1);
  REQUIRE(t.lane->try_execute(c, fn));  // the most recently idle: worker 2
  CHECK(w2.link->executed == std::vector<uint64_t>{1});
  CHECK(t.lane->recall_idle() == std::vector<uint64_t>{1});
  CHECK(t.lane->busy(2));
}

TEST_CASE("outcomes of calls from before a new pool attached count for nobody") {
  lane_fixture t;
  auto w = t.lend_one();
  answers a;
  REQUIRE(offer(*t.lane, a, lane_call(1)));
  t.lane->attach([](uint64_t) {}, nullptr, bounds());  // the pool restarted
  w.answer(1);
  CHECK(a.got.size() == 1);  // the caller still hears
  auto n = t.lane->counts();
  CHECK(n.requests == 0);
  CHECK(n.completed == 0);
  CHECK(n.slot_requests.empty());
}

// --- the pool and its lane ---------------------------------------------------

namespace {

/// A pool with a lane, and workers that say hello with a port.
struct lane_pool_fixture : pool_fixture {
  std::shared_ptr<fast_lane> lane = std::make_shared<fast_lane>();
  std::vector<caf::actor> port_workers;

  ~lane_pool_fixture() {
    for (auto& w : port_workers)
      caf::anon_send_exit(w, caf::exit_reason::kill);
    run();
  }

  void start(std::size_t size) {
    pool_options opts;
    opts.size = size;
    opts.lane = lane;
    start_pool(std::move(opts));
  }

  port_and_link add_port_worker(const std::string& id) {
    auto p = open_port();
    auto dest = pool;
    auto port = p.port;
    port_workers.push_back(sys.spawn([dest, port, id](caf::event_based_actor* self) {
      self->send(dest, proto::worker_ready_atom::value,
                 proto::worker_hello{id, caf::actor_cast<caf::actor>(self), 4242}, port);
      return caf::behavior{[](int) {}};
    }));
    run();
    return p;
  }

  /// A call with a deadline an hour away on the lane's clock (the real
  /// steady clock; the pool's clock here is the test coordinator's virtual
  /// one, which counts from another origin).
  proto::call long_call(uint64_t id) {
    auto c = make_call(id);
    c.deadline = std::chrono::steady_clock::now() + std::chrono::hours(1);
    return c;
  }
};

} // namespace

TEST_CASE("a worker with a port that says hello idle is lent to the lane") {
  lane_pool_fixture t;
  t.start(1);
  auto w = t.add_port_worker("worker-1");
  answers a;
  REQUIRE(offer(*t.lane, a, t.long_call(1)));
  CHECK(w.link->executed == std::vector<uint64_t>{1});
  auto s = t.stats();
  CHECK(s.busy == 1);
  CHECK(s.available == 0);
  CHECK(s.requests == 1);
  CHECK(t.workers().at(0).state == worker_state::busy);
  w.answer(1);
  s = t.stats();
  CHECK(s.busy == 0);
  CHECK(s.completed == 1);
  CHECK(t.workers().at(0).requests == 1);
  CHECK(t.count(pool_event_kind::call_dispatched) == 1);
  CHECK(t.count(pool_event_kind::call_done) == 1);
}

TEST_CASE("a call that reaches the pool recalls an idle lent worker and runs there") {
  lane_pool_fixture t;
  t.start(1);
  auto w = t.add_port_worker("worker-1");
  auto c = t.execute(t.long_call(1));
  CHECK(w.link->executed == std::vector<uint64_t>{1});
  w.answer(1);
  t.run();
  REQUIRE(c->ok());
  // Idle again with nothing queued: back in the lane.
  answers a;
  REQUIRE(offer(*t.lane, a, t.long_call(2)));
  CHECK(w.link->executed == std::vector<uint64_t>{1, 2});
}

TEST_CASE("while calls wait in the pool's queue a lent worker that finishes comes back and takes them in one batch") {
  lane_pool_fixture t;
  t.start(1);
  auto w = t.add_port_worker("worker-1");
  answers a;
  REQUIRE(offer(*t.lane, a, t.long_call(1)));
  auto q2 = t.execute(t.long_call(2));
  auto q3 = t.execute(t.long_call(3));
  CHECK(t.stats().queued == 2);
  w.answer(1);  // the worker goes back to the pool, which hands it the queue
  t.run();
  CHECK(a.got.size() == 1);
  CHECK(w.link->executed == std::vector<uint64_t>{1, 2, 3});
  CHECK(t.stats().batches == 1);
  w.answer(2);
  w.answer(3);
  t.run();
  CHECK(q2->ok());
  CHECK(q3->ok());
  // The queue is empty again: the worker is back in the lane.
  REQUIRE(offer(*t.lane, a, t.long_call(4)));
  CHECK(w.link->executed == std::vector<uint64_t>{1, 2, 3, 4});
}

TEST_CASE("a lent worker that dies fails its lane call through its port and leaves the lane") {
  lane_pool_fixture t;
  t.start(1);
  auto w = t.add_port_worker("worker-1");
  answers a;
  REQUIRE(offer(*t.lane, a, t.long_call(1)));
  w.port->close(errc::worker_crashed, "worker-1 died");
  caf::anon_send_exit(t.port_workers.at(0), caf::exit_reason::kill);
  t.run();
  REQUIRE(a.got.size() == 1);
  CHECK(a.got[0].error.code() == errc::worker_crashed);
  auto s = t.stats();
  CHECK(s.workers == 0);
  CHECK(s.worker_crashes == 1);
  // A call now waits for the slot's next worker, which takes it at hello.
  REQUIRE(offer(*t.lane, a, t.long_call(2)));
  CHECK(t.stats().queued == 1);
  auto w2 = t.add_port_worker("worker-1");
  CHECK(w2.link->executed == std::vector<uint64_t>{2});
  CHECK(t.stats().queued == 0);
}

TEST_CASE("a pool that shuts down closes its lane") {
  lane_pool_fixture t;
  t.start(1);
  t.add_port_worker("worker-1");
  caf::anon_send_exit(t.pool, caf::exit_reason::user_shutdown);
  t.run();
  answers a;
  CHECK_FALSE(offer(*t.lane, a, t.long_call(1)));
}

// --- the lane's own queue ----------------------------------------------------

TEST_CASE("calls that find every lent worker busy wait in the lane and go in one batch when it frees up") {
  lane_fixture t;
  auto w = t.lend_one();
  answers a;
  t.submit(a, 1, 4);
  CHECK(w.link->executed == std::vector<uint64_t>{1});
  CHECK(t.lane->counts().queued == 3);
  w.answer(1);  // frees it: the queued three go out together, oldest first
  CHECK(w.link->executed == std::vector<uint64_t>{1, 2, 3, 4});
  CHECK(t.lane->counts().queued == 0);
  CHECK(t.lane->counts().batches == 1);
  CHECK(t.lane->busy(1));
  w.answer(3);
  w.answer(2);
  CHECK(t.lane->busy(1));  // still holds call 4
  w.answer(4);
  CHECK_FALSE(t.lane->busy(1));
  REQUIRE(a.got.size() == 4);
  for (auto& o : a.got)
    CHECK(o.value);
  auto n = t.lane->counts();
  CHECK(n.requests == 4);
  CHECK(n.completed == 4);
}

TEST_CASE("a batch from the lane's queue stops at max_batch and the rest waits for the next turn") {
  lane_fixture t;
  t.lane->attach([](uint64_t) {}, nullptr, bounds(100, 2));
  auto w = t.lend_one();
  answers a;
  t.submit(a, 1, 4);
  w.answer(1);
  CHECK(w.link->executed == std::vector<uint64_t>{1, 2, 3});
  w.answer(2);
  w.answer(3);
  CHECK(w.link->executed == std::vector<uint64_t>{1, 2, 3, 4});
}

TEST_CASE("the lane's queue is bounded by max_queue: beyond it a call fails at once with queue_full") {
  lane_fixture t;
  t.lane->attach([](uint64_t) {}, nullptr, bounds(2));
  auto w = t.lend_one();
  answers a;
  t.submit(a, 1, 4);
  REQUIRE(a.got.size() == 1);  // call 4: one running, two waiting
  CHECK(a.got[0].error.code() == errc::queue_full);
  CHECK(t.lane->counts().queued == 2);
  CHECK(t.lane->counts().errors == 1);
}

TEST_CASE("a queued lane call past its deadline leaves the queue with timeout and never runs") {
  lane_fixture t;
  auto w = t.lend_one();
  answers busy;
  auto first = lane_call(1);
  auto fn1 = busy.fn();
  REQUIRE(t.lane->try_execute(first, fn1));
  std::promise<proto::call_outcome> got;
  fast_lane::answer_fn fn = [&](proto::call_outcome o) { got.set_value(std::move(o)); };
  auto late = lane_call(2, std::chrono::milliseconds(20));
  REQUIRE(t.lane->try_execute(late, fn));
  auto f = got.get_future();
  REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  auto out = f.get();
  CHECK(out.error.code() == errc::timeout);
  CHECK(out.error.message().find("in the queue") != std::string::npos);
  CHECK(t.lane->counts().queued == 0);
  CHECK(t.lane->counts().queue_timeouts == 1);
  w.answer(1);
  CHECK(w.link->executed == std::vector<uint64_t>{1});  // call 2 never went out
  CHECK(w.link->cancels.empty());
  CHECK_FALSE(t.lane->busy(1));
}

TEST_CASE("closing the lane answers its queued calls shutting_down") {
  lane_fixture t;
  answers a;
  auto c = lane_call(1);
  auto fn = a.fn();
  REQUIRE(t.lane->try_execute(c, fn));  // no worker lent: it waits
  t.lane->close();
  REQUIRE(a.got.size() == 1);
  CHECK(a.got[0].error.code() == errc::shutting_down);
  CHECK(t.lane->counts().queued == 0);
}

TEST_CASE("a worker lent while calls wait in the lane takes them at once") {
  lane_fixture t;
  answers a;
  auto c1 = lane_call(1);
  auto c2 = lane_call(2);
  auto fn1 = a.fn();
  auto fn2 = a.fn();
  REQUIRE(t.lane->try_execute(c1, fn1));
  REQUIRE(t.lane->try_execute(c2, fn2));
  auto w = t.lend_one();
  CHECK(w.link->executed == std::vector<uint64_t>{1, 2});
  CHECK(t.lane->busy(1));
}

TEST_CASE("a worker whose pool wants it back leaves the lane's queued calls for the next lent worker") {
  lane_fixture t;
  auto w = t.lend_one();
  answers a;
  auto c1 = lane_call(1);
  auto c2 = lane_call(2);
  auto fn1 = a.fn();
  auto fn2 = a.fn();
  REQUIRE(t.lane->try_execute(c1, fn1));
  REQUIRE(t.lane->try_execute(c2, fn2));  // queued
  t.lane->want_back(true);
  w.answer(1);
  CHECK(t.given_back == std::vector<uint64_t>{1});
  CHECK(w.link->executed == std::vector<uint64_t>{1});
  t.lane->want_back(false);
  t.lane->lend(1, "worker-1", w.port);  // the pool lends it again
  CHECK(w.link->executed == std::vector<uint64_t>{1, 2});
}

TEST_CASE("with pipelining a lane worker that answers a call takes another batch if a whole one fits below its bound") {
  lane_fixture t;
  auto l = bounds(100, 2);
  l.max_in_flight = 4;
  t.lane->attach([](uint64_t) {}, nullptr, l);
  auto w = t.lend_one();
  answers a;
  t.submit(a, 1, 7);
  CHECK(w.link->executed == std::vector<uint64_t>{1});
  w.answer(1);  // holds none: takes a batch of 2
  CHECK(w.link->executed == std::vector<uint64_t>{1, 2, 3});
  w.answer(2);  // holds 1, and 1 + 2 <= 4: takes 2 more
  CHECK(w.link->executed == std::vector<uint64_t>{1, 2, 3, 4, 5});
  w.answer(3);  // holds 2, and 2 + 2 <= 4: takes the last 2
  CHECK(w.link->executed == std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7});
  CHECK(t.lane->counts().queued == 0);
}

TEST_CASE("without pipelining a lane worker takes queued calls only when it holds none") {
  lane_fixture t;
  auto l = bounds(100, 2);
  l.max_in_flight = 2;
  t.lane->attach([](uint64_t) {}, nullptr, l);
  auto w = t.lend_one();
  answers a;
  t.submit(a, 1, 4);
  w.answer(1);
  CHECK(w.link->executed == std::vector<uint64_t>{1, 2, 3});
  w.answer(2);  // still holds 3: nothing more
  CHECK(w.link->executed == std::vector<uint64_t>{1, 2, 3});
  w.answer(3);
  CHECK(w.link->executed == std::vector<uint64_t>{1, 2, 3, 4});
}
