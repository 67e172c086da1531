#pragma once
// Deterministic supervision tests: an actor system on CAF's test coordinator
// (nothing runs until the test says so; time moves only when the test moves
// it), test children that record their lives, and request helpers.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "supervision/child_spec.hpp"
#include "supervision/supervision_error.hpp"
#include "supervision/supervision_event.hpp"
#include "supervision/supervision_messages.hpp"

namespace snakepit::test {

using namespace std::chrono_literals;
namespace sv = snakepit::supervision;

using exit_with_atom = caf::atom_constant<caf::atom("exit_with")>;

/// How a test child is told to end (OTP's exit reasons).
enum class how { normal, shutdown, abnormal, kill };

inline const char* to_string(how h) {
  switch (h) {
    case how::normal: return "normal";
    case how::shutdown: return "shutdown";
    case how::abnormal: return "abnormal";
    case how::kill: return "kill";
  }
  return "?";
}

/// What every test child did: starts, stops (in order), who is alive now.
struct life_log {
  std::vector<std::string> starts;        // ids, in start order
  std::vector<std::string> stops;         // ids, in stop order
  std::map<std::string, int> alive;       // id -> running instances
  std::map<std::string, caf::actor> latest;  // id -> last started instance
  int start_count(const std::string& id) const {
    int n = 0;
    for (auto& s : starts)
      n += s == id;
    return n;
  }
  int alive_total() const {
    int n = 0;
    for (auto& [id, k] : alive)
      n += k;
    return n;
  }
};

struct child_behaviour {
  bool ignore_shutdown = false;  // traps user_shutdown and carries on
};

class test_child : public caf::event_based_actor {
public:
  test_child(caf::actor_config& cfg, std::shared_ptr<life_log> log, std::string id,
             child_behaviour b)
    : caf::event_based_actor(cfg), log_(std::move(log)), id_(std::move(id)), b_(b) {
  }

  caf::behavior make_behavior() override {
    auto log = log_.lock();
    log->starts.push_back(id_);
    log->alive[id_]++;
    if (b_.ignore_shutdown)
      set_exit_handler([](caf::exit_msg&) { /* ignores shutdown on purpose */ });
    return {
      [this](exit_with_atom, int h) {
        switch (static_cast<how>(h)) {
          case how::normal: quit(); break;
          case how::shutdown: quit(caf::exit_reason::user_shutdown); break;
          case how::abnormal: quit(caf::make_error(caf::sec::runtime_error, "crash")); break;
          case how::kill: quit(caf::exit_reason::kill); break;
        }
      },
    };
  }

  void on_exit() override {
    if (auto log = log_.lock()) {  // the test may already be over
      log->stops.push_back(id_);
      log->alive[id_]--;
    }
  }

private:
  // Weak: the log holds the latest handle of every child, so a strong
  // reference back would keep both alive forever.
  std::weak_ptr<life_log> log_;
  std::string id_;
  child_behaviour b_;
};

/// A spec whose start spawns a test_child recording into `log`.
inline sv::child_spec test_child_spec(std::shared_ptr<life_log> log, std::string id,
                                      sv::restart_type restart = sv::restart_type::permanent,
                                      child_behaviour b = {}) {
  sv::child_spec spec;
  spec.id = id;
  spec.restart = restart;
  spec.start = [log, id, b](caf::actor_system& sys) -> caf::expected<caf::actor> {
    auto h = sys.spawn<test_child>(log, id, b);
    log->latest[id] = h;
    return h;
  };
  return spec;
}

/// A system on the test coordinator.
struct test_system {
  static caf::actor_system_config& configure(caf::actor_system_config& cfg) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sv::register_error_category(cfg);
    return cfg;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  caf::scheduler::test_coordinator& sched =
    dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::vector<sv::supervision_event> events;

  test_system() {
    // Actors left waiting at the end of a test must not block teardown.
    sys.await_actors_before_shutdown(false);
  }

  ~test_system() {
    sched.run();
  }

  sv::event_observer observer() {
    return [this](const sv::supervision_event& ev) { events.push_back(ev); };
  }

  void run() {
    sched.run();
  }

  /// Moves virtual time, fires what became due, runs to quiescence.
  void advance(std::chrono::milliseconds d) {
    sched.advance_time(d);
    sched.run();
  }

  /// Tells a test child to end `h`, then runs everything that follows.
  void make_exit(const caf::actor& child, how h) {
    if (h == how::kill)
      caf::anon_send_exit(child, caf::exit_reason::kill);
    else
      caf::anon_send(child, exit_with_atom::value, static_cast<int>(h));
    run();
  }

  /// Sends a request through a helper actor, runs, returns the answer (or
  /// nullopt if none came, e.g. a promise still pending).
  template <class T, class... Ts>
  std::optional<caf::expected<T>> ask(const caf::actor& dest, Ts... xs) {
    auto out = std::make_shared<std::optional<caf::expected<T>>>();
    sys.spawn([=](caf::event_based_actor* self) {
      self->request(dest, caf::infinite, xs...)
        .then([=](T& value) { *out = std::move(value); },
              [=](caf::error& err) { *out = caf::expected<T>{std::move(err)}; });
    });
    run();
    return *out;
  }

  std::vector<sv::child_info> children_of(const caf::actor& sup) {
    auto res = ask<std::vector<sv::child_info>>(sup, sv::which_children_atom::value);
    if (!res || !*res)
      return {};
    return **res;
  }

  /// Watches an actor: `ended()` says whether it is gone and `reason()` why.
  struct watch {
    std::shared_ptr<std::optional<caf::error>> down = std::make_shared<std::optional<caf::error>>();
    caf::actor watcher;  // held: an actor nobody references is shut down as unreachable
    bool ended() const { return down->has_value(); }
    caf::error reason() const { return down->value_or(caf::error{}); }
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

  int count(sv::event_kind kind, const std::string& child = {}) const {
    int n = 0;
    for (auto& ev : events)
      n += ev.kind == kind && (child.empty() || ev.child_id == child);
    return n;
  }
};

} // namespace snakepit::test
