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

struct lane_fixture {
  std::shared_ptr<fast_lane> lane = std::make_shared<fast_lane>();
  std::vector<uint64_t> given_back;
  lane_fixture() {
    lane->attach([this](uint64_t key) { given_back.push_back(key); }, nullptr);
  }
};

} // namespace

TEST_CASE("a lent idle worker takes a call on the caller's own thread") {
  lane_fixture t;
  auto w = open_port();
  t.lane->lend(1, "worker-1", w.port);
  answers a;
  auto c = lane_call(7);
  auto fn = a.fn();
  REQUIRE(t.lane->try_execute(c, fn));
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
  auto w = open_port();
  t.lane->lend(1, "worker-1", w.port);
  bool idle_when_answered = false;
  fast_lane::answer_fn fn = [&](proto::call_outcome) { idle_when_answered = !t.lane->busy(1); };
  auto c = lane_call(1);
  REQUIRE(t.lane->try_execute(c, fn));
  w.answer(1);
  CHECK(idle_when_answered);
  // ...so a lock-step caller's next call finds it.
  answers a;
  auto next = lane_call(2);
  auto fn2 = a.fn();
  CHECK(t.lane->try_execute(next, fn2));
}

TEST_CASE("the lane refuses a call it cannot take and leaves the call untouched") {
  lane_fixture t;
  answers a;
  auto fn = a.fn();
  auto c = lane_call(1);
  SUBCASE("no worker lent") {
    CHECK_FALSE(t.lane->try_execute(c, fn));
  }
  SUBCASE("every lent worker busy") {
    auto w = open_port();
    t.lane->lend(1, "worker-1", w.port);
    auto first = lane_call(9);
    auto fn9 = a.fn();
    REQUIRE(t.lane->try_execute(first, fn9));
    CHECK_FALSE(t.lane->try_execute(c, fn));
  }
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
  auto w = open_port();
  t.lane->lend(1, "worker-1", w.port);
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
  auto w = open_port();
  t.lane->lend(1, "worker-1", w.port);
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
  auto w = open_port();
  t.lane->lend(1, "worker-1", w.port);
  answers a;
  auto fn = a.fn();
  auto c = lane_call(3);
  REQUIRE(t.lane->try_execute(c, fn));
  w.port->close(errc::worker_crashed, "worker-1 died");
  REQUIRE(a.got.size() == 1);
  CHECK(a.got[0].error.code() == errc::worker_crashed);
  CHECK_FALSE(t.lane->busy(1));
  auto next = lane_call(4);
  auto fn2 = a.fn();
  CHECK_FALSE(t.lane->try_execute(next, fn2));
  CHECK(t.given_back.empty());
}

TEST_CASE("a call the connection refuses as broken fails with worker_crashed and drops the worker") {
  lane_fixture t;
  auto w = open_port();
  w.link->refuse = true;
  t.lane->lend(1, "worker-1", w.port);
  answers a;
  auto fn = a.fn();
  auto c = lane_call(3);
  REQUIRE(t.lane->try_execute(c, fn));
  REQUIRE(a.got.size() == 1);
  CHECK(a.got[0].error.code() == errc::worker_crashed);
  auto next = lane_call(4);
  auto fn2 = a.fn();
  CHECK_FALSE(t.lane->try_execute(next, fn2));
  CHECK(t.lane->counts().errors == 1);
}

TEST_CASE("a lent worker that finishes while the pool wants it back is given back, not kept") {
  lane_fixture t;
  auto w = open_port();
  t.lane->lend(1, "worker-1", w.port);
  answers a;
  auto fn = a.fn();
  auto c = lane_call(1);
  REQUIRE(t.lane->try_execute(c, fn));
  t.lane->want_back(true);
  w.answer(1);
  CHECK(a.got.size() == 1);
  CHECK(t.given_back == std::vector<uint64_t>{1});
  t.lane->want_back(false);
  auto next = lane_call(2);
  auto fn2 = a.fn();
  CHECK_FALSE(t.lane->try_execute(next, fn2));  // the pool has it now
}

TEST_CASE("a revoked worker finishing its call is neither idle in the lane nor given back") {
  lane_fixture t;
  auto w = open_port();
  t.lane->lend(1, "worker-1", w.port);
  answers a;
  auto fn = a.fn();
  auto c = lane_call(1);
  REQUIRE(t.lane->try_execute(c, fn));
  CHECK(t.lane->revoke(1));
  w.answer(1);
  CHECK(a.got.size() == 1);  // its caller still gets the outcome
  CHECK(t.given_back.empty());
  auto next = lane_call(2);
  auto fn2 = a.fn();
  CHECK_FALSE(t.lane->try_execute(next, fn2));
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
  auto w = open_port();
  t.lane->lend(1, "worker-1", w.port);
  answers a;
  auto fn = a.fn();
  auto c = lane_call(1);
  REQUIRE(t.lane->try_execute(c, fn));
  t.lane->attach([](uint64_t) {}, nullptr);  // the pool restarted
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

  proto::call long_call(uint64_t id) {
    return make_call(id, std::chrono::hours(1));
  }
};

} // namespace

TEST_CASE("a worker with a port that says hello idle is lent to the lane") {
  lane_pool_fixture t;
  t.start(1);
  auto w = t.add_port_worker("worker-1");
  answers a;
  auto fn = a.fn();
  auto c = t.long_call(1);
  REQUIRE(t.lane->try_execute(c, fn));
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
  auto fn = a.fn();
  auto next = t.long_call(2);
  CHECK(t.lane->try_execute(next, fn));
}

TEST_CASE("while calls wait in the pool's queue a lent worker that finishes comes back and takes them in one batch") {
  lane_pool_fixture t;
  t.start(1);
  auto w = t.add_port_worker("worker-1");
  answers a;
  auto fn = a.fn();
  auto c = t.long_call(1);
  REQUIRE(t.lane->try_execute(c, fn));
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
  auto next = t.long_call(4);
  auto fn4 = a.fn();
  CHECK(t.lane->try_execute(next, fn4));
}

TEST_CASE("a lent worker that dies fails its lane call through its port and leaves the lane") {
  lane_pool_fixture t;
  t.start(1);
  auto w = t.add_port_worker("worker-1");
  answers a;
  auto fn = a.fn();
  auto c = t.long_call(1);
  REQUIRE(t.lane->try_execute(c, fn));
  w.port->close(errc::worker_crashed, "worker-1 died");
  caf::anon_send_exit(t.port_workers.at(0), caf::exit_reason::kill);
  t.run();
  REQUIRE(a.got.size() == 1);
  CHECK(a.got[0].error.code() == errc::worker_crashed);
  auto s = t.stats();
  CHECK(s.workers == 0);
  CHECK(s.worker_crashes == 1);
  auto next = t.long_call(2);
  auto fn2 = a.fn();
  CHECK_FALSE(t.lane->try_execute(next, fn2));
}

TEST_CASE("a pool that shuts down closes its lane") {
  lane_pool_fixture t;
  t.start(1);
  t.add_port_worker("worker-1");
  caf::anon_send_exit(t.pool, caf::exit_reason::user_shutdown);
  t.run();
  answers a;
  auto fn = a.fn();
  auto c = t.long_call(1);
  CHECK_FALSE(t.lane->try_execute(c, fn));
}
