#pragma once
// Deterministic pool tests: the supervision test system (CAF's test
// coordinator, virtual time), fake workers the test steers, and callers that
// record what the pool answered them.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include "actors/error.hpp"
#include "actors/pool.hpp"
#include "actors/pool_error.hpp"
#include "actors/worker_protocol.hpp"
#include "supervision/harness.hpp"

namespace snakepit::test {

namespace proto = snakepit::detail;

using release_atom = caf::atom_constant<caf::atom("t_release")>;
using crash_atom = caf::atom_constant<caf::atom("t_crash")>;

/// How a fake worker behaves and what it saw. Shared between the test and the
/// actor; everything runs on the test's thread (test coordinator).
struct fake_worker_control {
  std::string id;
  int os_pid = 0;
  bool hold = false;  // keep calls until the test releases them ("busy")
  std::function<proto::call_outcome(const proto::call&)> reply = [](const proto::call& c) {
    return proto::call_outcome::ok(nlohmann::json{{"tool", c.tool}, {"id", c.id}});
  };
  std::vector<uint64_t> executed;  // call ids, in arrival order
  std::vector<uint64_t> cancels;   // call ids the pool cancelled
  caf::actor_addr self;  // weak: the actor holds this control block
};

class fake_worker : public caf::event_based_actor {
public:
  fake_worker(caf::actor_config& cfg, caf::actor pool, std::shared_ptr<fake_worker_control> ctl)
    : caf::event_based_actor(cfg), pool_(std::move(pool)), ctl_(std::move(ctl)) {
  }

  caf::behavior make_behavior() override {
    auto me = caf::actor_cast<caf::actor>(this);
    ctl_->self = me.address();
    send(pool_, proto::worker_ready_atom::value, proto::worker_hello{ctl_->id, me, ctl_->os_pid});
    return {
      [this](proto::execute_atom, proto::call& c) -> caf::response_promise {
        ctl_->executed.push_back(c.id);
        auto rp = make_response_promise();
        if (ctl_->hold)
          held_.emplace(c.id, std::make_pair(rp, std::move(c)));
        else
          rp.deliver(ctl_->reply(c));
        return rp;
      },
      [this](proto::cancel_call_atom, uint64_t id) { ctl_->cancels.push_back(id); },
      [this](release_atom, uint64_t id) {
        auto it = held_.find(id);
        if (it == held_.end())
          return;
        auto [rp, c] = std::move(it->second);
        held_.erase(it);
        rp.deliver(ctl_->reply(c));
      },
      [this](crash_atom) { quit(caf::make_error(caf::sec::runtime_error, "python died")); },
    };
  }

  void on_exit() override {
    held_.clear();
    pool_ = nullptr;  // no handle cycle with the pool
  }

private:
  caf::actor pool_;
  std::shared_ptr<fake_worker_control> ctl_;
  std::map<uint64_t, std::pair<caf::response_promise, proto::call>> held_;
};

/// What one caller got back.
struct call_record {
  uint64_t call_id = 0;
  int answers = 0;
  std::optional<proto::call_outcome> outcome;
  std::optional<caf::error> caf_error;  // the request itself failed (never expected)

  bool answered() const { return answers > 0; }
  bool ok() const { return outcome && outcome->value.has_value(); }
  errc code() const {
    return outcome && !outcome->value ? outcome->error.code() : errc::internal;
  }
};

struct pool_fixture : test_system {
  caf::actor pool;
  std::vector<pool_event> pool_events;
  std::vector<uint64_t> answer_order;  // call ids in the order callers got answers
  std::vector<caf::actor> callers;     // keep the callers alive while they wait

  // The pool's observer writes into this fixture: stop the pool (and let it
  // answer whoever still waits) while the fixture is still alive.
  ~pool_fixture() {
    if (pool)
      caf::anon_send_exit(pool, caf::exit_reason::kill);
    // A fake worker holding a call keeps itself alive through its response
    // promise: end them all so nothing outlives the test.
    for (auto& w : fakes)
      if (auto h = caf::actor_cast<caf::actor>(w))
        caf::anon_send_exit(h, caf::exit_reason::kill);
    run();
  }

  std::vector<caf::actor_addr> fakes;

  /// Spawns the pool with this fixture's observer.
  void start_pool(pool_options opts) {
    opts.observer = [this](const pool_event& ev) { pool_events.push_back(ev); };
    auto p = spawn_pool(sys, std::move(opts));
    REQUIRE(p);
    pool = *p;
    run();
  }

  void start_pool(std::size_t size, std::size_t max_queue = 1000) {
    pool_options opts;
    opts.size = size;
    opts.max_queue = max_queue;
    start_pool(std::move(opts));
  }

  /// Spawns a fake worker that says hello for slot `id`.
  std::shared_ptr<fake_worker_control> add_worker(const std::string& id, bool hold = false) {
    auto ctl = std::make_shared<fake_worker_control>();
    ctl->id = id;
    ctl->hold = hold;
    ctl->os_pid = 1000 + static_cast<int>(pool_events.size());
    fakes.push_back(sys.spawn<fake_worker>(pool, ctl).address());
    run();
    return ctl;
  }

  proto::call make_call(uint64_t id, std::chrono::milliseconds timeout = 1000ms,
                        std::string session = {}) {
    proto::call c;
    c.id = id;
    c.tool = "echo";
    c.session_id = std::move(session);
    c.deadline = sys.clock().now() + timeout;
    return c;
  }

  /// Sends a call to the pool from a fresh caller and runs to quiescence.
  std::shared_ptr<call_record> execute(proto::call c,
                                       affinity_mode affinity = affinity_mode::hint) {
    auto rec = std::make_shared<call_record>();
    rec->call_id = c.id;
    auto order = &answer_order;
    proto::pool_call pc{std::move(c), affinity, {}};
    auto dest = pool;
    callers.push_back(sys.spawn([=](caf::event_based_actor* self) {
      self->request(dest, caf::infinite, proto::pool_execute_atom::value, pc)
        .then(
          [=](proto::call_outcome& out) {
            ++rec->answers;
            rec->outcome = std::move(out);
            order->push_back(rec->call_id);
          },
          [=](caf::error& err) {
            ++rec->answers;
            rec->caf_error = std::move(err);
          });
    }));
    run();
    return rec;
  }

  std::shared_ptr<call_record> execute(uint64_t id, std::chrono::milliseconds timeout = 1000ms,
                                       std::string session = {},
                                       affinity_mode affinity = affinity_mode::hint) {
    return execute(make_call(id, timeout, std::move(session)), affinity);
  }

  /// A request whose answer may come later: the slot fills when it does.
  template <class T, class... Ts>
  std::shared_ptr<std::optional<caf::expected<T>>> ask_later(const caf::actor& dest, Ts... xs) {
    auto out = std::make_shared<std::optional<caf::expected<T>>>();
    callers.push_back(sys.spawn([=](caf::event_based_actor* self) {
      self->request(dest, caf::infinite, xs...)
        .then([=](T& value) { *out = std::move(value); },
              [=](caf::error& err) { *out = caf::expected<T>{std::move(err)}; });
    }));
    run();
    return out;
  }

  auto await_ready(std::chrono::milliseconds timeout) {
    return ask_later<caf::ok_atom>(pool, proto::await_ready_atom::value, timeout);
  }

  void release(const std::shared_ptr<fake_worker_control>& w, uint64_t call_id) {
    caf::anon_send(caf::actor_cast<caf::actor>(w->self), release_atom::value, call_id);
    run();
  }

  void crash(const std::shared_ptr<fake_worker_control>& w) {
    caf::anon_send(caf::actor_cast<caf::actor>(w->self), crash_atom::value);
    run();
  }

  void report_failure(const std::string& id, std::string message) {
    caf::anon_send(pool, proto::worker_failed_atom::value, id,
                   snakepit::error{errc::startup_failed, std::move(message)});
    run();
  }

  pool_stats stats() {
    auto res = ask<pool_stats>(pool, proto::pool_stats_atom::value);
    REQUIRE(res);
    REQUIRE(*res);
    return **res;
  }

  std::vector<worker_info> workers() {
    auto res = ask<std::vector<worker_info>>(pool, proto::list_workers_atom::value);
    REQUIRE(res);
    REQUIRE(*res);
    return **res;
  }

  int count(pool_event_kind kind) const {
    int n = 0;
    for (auto& ev : pool_events)
      n += ev.kind == kind;
    return n;
  }
};

} // namespace snakepit::test
