#pragma once
// Deterministic session tests: an actor system on CAF's test coordinator
// (nothing runs until the test says so), a session on a clock the test moves
// by hand, its events as the observer saw them, and request helpers.

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "actors/session.hpp"
#include "actors/session_protocol.hpp"

namespace snakepit::test {

using namespace std::chrono_literals;
namespace sp = snakepit::session_protocol;
using json = nlohmann::json;
using time_point = std::chrono::system_clock::time_point;
using kind = session_event_kind;

/// A request sent but not yet run: read `answer` after `run()`.
template <class T>
struct pending {
  std::shared_ptr<std::optional<T>> answer = std::make_shared<std::optional<T>>();
  std::shared_ptr<std::optional<caf::error>> failure =
    std::make_shared<std::optional<caf::error>>();
};

struct session_test {
  static caf::actor_system_config& configure(caf::actor_system_config& cfg) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    return cfg;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  caf::scheduler::test_coordinator& sched =
    dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::shared_ptr<time_point> clock = std::make_shared<time_point>(std::chrono::seconds{1000});
  std::shared_ptr<std::vector<session_event>> events =
    std::make_shared<std::vector<session_event>>();
  caf::actor session;

  explicit session_test(std::string id = "s1") {
    sys.await_actors_before_shutdown(false);
    session = spawn_session(sys, options(std::move(id)));
    run();
  }

  ~session_test() {
    sched.run();
  }

  session_options options(std::string id) {
    session_options o;
    o.id = std::move(id);
    o.clock = [c = clock] { return *c; };
    o.observer = [ev = events](const session_event& e) { ev->push_back(e); };
    return o;
  }

  void run() {
    sched.run();
  }

  void advance_clock(std::chrono::seconds d) {
    *clock += d;
  }

  /// Sends a request from a helper actor without running anything yet.
  template <class T, class... Ts>
  pending<T> send(Ts... xs) {
    pending<T> p;
    auto dest = session;
    sys.spawn([=](caf::event_based_actor* self) {
      self->request(dest, caf::infinite, xs...)
        .then([=](T& value) { *p.answer = std::move(value); },
              [=](caf::error& err) { *p.failure = std::move(err); });
    });
    return p;
  }

  /// Sends a request, runs to quiescence, returns the answer (which must come).
  template <class T, class... Ts>
  T ask(Ts... xs) {
    auto p = send<T>(xs...);
    run();
    REQUIRE_MESSAGE(p.answer->has_value(),
                    "no answer; failure: " << (p.failure->has_value() ? caf::to_string(**p.failure)
                                                                      : "none"));
    return std::move(**p.answer);
  }

  session_info info() {
    auto r = ask<result<session_info>>(sp::info_atom::value);
    REQUIRE(r);
    return *r;
  }

  std::vector<kind> kinds() const {
    std::vector<kind> out;
    for (auto& e : *events)
      out.push_back(e.kind);
    return out;
  }

  /// Watches an actor: `ended()` says whether it is gone and `reason()` why.
  struct watch {
    std::shared_ptr<std::optional<caf::error>> down = std::make_shared<std::optional<caf::error>>();
    caf::actor watcher;  // held: an actor nobody references is shut down as unreachable
    bool ended() const {
      return down->has_value();
    }
    caf::error reason() const {
      return down->value_or(caf::error{});
    }
  };

  watch watch_actor(const caf::actor& who) {
    watch w;
    auto down = w.down;
    w.watcher = sys.spawn([=](caf::event_based_actor* self) -> caf::behavior {
      self->monitor(who);
      self->set_down_handler([=](caf::down_msg& dm) {
        *down = dm.reason;
        self->quit();
      });
      return {[](caf::ok_atom) {}};
    });
    run();
    return w;
  }

  /// An actor that records every session_event it receives.
  caf::actor spawn_subscriber(std::shared_ptr<std::vector<session_event>> log) {
    return sys.spawn([log](caf::event_based_actor*) -> caf::behavior {
      return {[log](const session_event& ev) { log->push_back(ev); }};
    });
  }
};

} // namespace snakepit::test
