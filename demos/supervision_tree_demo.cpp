// The supervision tree demo: OTP semantics on CAF with no Python at all — a
// small tree shaped like snakepit's own, children crashed on purpose, and
// every event the supervisors report. The tree runs in the runner's actor
// system; its top supervisor is a tracked actor, so the runner stops it
// whatever happens.
//
//   app (rest_for_one)
//   ├── config                      worker
//   ├── workers (dynamic)           one_for_one
//   │   └── starter:wN → wN         three worker slots
//   └── stubborn                    ignores shutdown; 200 ms then killed
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "context.hpp"
#include "supervision/blocking_calls.hpp"
#include "supervision/dynamic_supervisor.hpp"
#include "supervision/starter.hpp"
#include "supervision/supervision_error.hpp"
#include "supervision/supervisor.hpp"

namespace snakepit::demos {

namespace {

namespace sv = snakepit::supervision;
using namespace std::chrono_literals;
using crash_atom = caf::atom_constant<caf::atom("crash")>;

struct census {
  std::atomic<int> alive{0};
};

caf::behavior demo_worker(caf::event_based_actor* self, std::shared_ptr<census> c,
                          bool ignores_shutdown) {
  c->alive++;
  self->attach_functor([c] { c->alive--; });
  if (ignores_shutdown)
    self->set_exit_handler([](caf::exit_msg&) { /* busy; will not stop */ });
  return {[self](crash_atom) { self->quit(caf::make_error(caf::sec::runtime_error, "boom")); }};
}

sv::child_spec worker_spec(std::string id, std::shared_ptr<census> c, bool stubborn = false) {
  sv::child_spec spec;
  spec.id = std::move(id);
  spec.start = [c, stubborn](caf::actor_system& sys) -> caf::expected<caf::actor> {
    return sys.spawn(demo_worker, c, stubborn);
  };
  if (stubborn)
    spec.shutdown = sv::shutdown_spec::timeout(200ms);
  return spec;
}

template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit = 2000ms) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

/// The tree's state, shared by the steps through the context.
struct tree_state {
  std::shared_ptr<census> alive = std::make_shared<census>();
  std::mutex print_mutex;
  std::vector<std::string> events;
  std::atomic<int> restarts{0};
  caf::actor app;
  caf::actor workers;

  sv::event_observer printer() {
    return [this](const sv::supervision_event& ev) {
      std::lock_guard<std::mutex> guard{print_mutex};
      events.push_back("· " + sv::to_string(ev));
      if (ev.kind == sv::event_kind::child_restarted)
        restarts++;
    };
  }
  void flush(context& ctx) {
    std::lock_guard<std::mutex> guard{print_mutex};
    for (auto& e : events)
      ctx.note("{}", e);
    events.clear();
  }
};

class supervision_tree_demo : public demo {
public:
  std::string name() const override { return "supervision_tree"; }
  std::string description() const override {
    return "OTP supervision on CAF: restarts, starters, escalation, ordered shutdown";
  }

  std::vector<step_info> steps() const override {
    return {
      {"start", "start the tree (children start in order)"},
      {"crash_once", "crash a worker: its starter restarts it"},
      {"crash_loop", "crash-loop a worker: its starter gives up, the slot is restarted"},
      {"crash_config", "crash config: rest_for_one restarts everything after it"},
      {"shutdown", "shut down: reverse order, the stubborn child is killed after 200 ms"},
    };
  }

  step_result run_step(const std::string& step, context& ctx) override {
    auto& t = ctx.shared<tree_state>("tree");
    auto& sys = ctx.actor_system();
    step_result r = step_result::failure("unknown step " + step);
    if (step == "start")
      r = start(ctx, sys, t);
    else if (step == "crash_once")
      r = crash_once(sys, t);
    else if (step == "crash_loop")
      r = crash_loop(sys, t);
    else if (step == "crash_config")
      r = crash_config(sys, t);
    else if (step == "shutdown")
      r = shutdown(sys, t);
    t.flush(ctx);
    if (r.passed() && r.value().is_string())
      ctx.note("{}", r.value().get<std::string>());
    return r;
  }

private:
  static step_result start(context& ctx, caf::actor_system& sys, tree_state& t) {
    sv::dynamic_supervisor_flags workers;
    workers.name = "workers";
    workers.observer = t.printer();
    sv::supervisor_flags app;
    app.name = "app";
    app.strategy = sv::restart_strategy::rest_for_one;
    app.observer = t.printer();
    auto tree = sv::start_supervisor(
      sys, app,
      {worker_spec("config", t.alive), sv::dynamic_supervisor_child("workers", workers),
       worker_spec("stubborn", t.alive, true)});
    if (!tree)
      return step_result::failure(sv::describe(tree.error()));
    t.app = *tree;
    ctx.track_actor(t.app, "supervisor app");
    auto children = sv::which_children(sys, t.app);
    if (!children)
      return step_result::failure(sv::describe(children.error()));
    t.workers = (*children)[1].handle;
    for (int i = 1; i <= 3; ++i) {
      sv::starter_options opts;
      opts.intensity = {2, 5000ms};
      opts.observer = t.printer();
      auto id = fmt::format("w{}", i);
      auto s = sv::start_child(sys, t.workers, sv::starter_child(id, worker_spec(id, t.alive), opts));
      if (!s)
        return step_result::failure(sv::describe(s.error()));
    }
    // A starter's own child starts when the starter first runs, just after
    // start_child returns.
    bool up = wait_until([&] { return t.alive->alive == 5; });
    if (!up)
      return step_result::failure(fmt::format("{} actors alive, expected 5", t.alive->alive.load()));
    return step_result::success(fmt::format("{} actors alive", t.alive->alive.load()));
  }

  static caf::actor worker_behind(caf::actor_system& sys, tree_state& t, int slot) {
    auto starters = sv::which_children(sys, t.workers);
    if (!starters || starters->size() < static_cast<std::size_t>(slot))
      return {};
    auto inner = sv::which_children(sys, (*starters)[static_cast<std::size_t>(slot) - 1].handle);
    if (!inner || inner->empty())
      return {};
    return (*inner)[0].handle;
  }

  static step_result crash_once(caf::actor_system& sys, tree_state& t) {
    auto before = t.restarts.load();
    caf::anon_send(worker_behind(sys, t, 2), crash_atom::value);
    bool ok = wait_until([&] { return t.restarts > before && t.alive->alive == 5; });
    if (!ok)
      return step_result::failure("w2 was not restarted");
    return step_result::success(fmt::format("w2 restarted; {} actors alive", t.alive->alive.load()));
  }

  static step_result crash_loop(caf::actor_system& sys, tree_state& t) {
    auto slot_before = sv::which_children(sys, t.workers);
    for (int i = 0; i < 3; ++i) {
      auto w = worker_behind(sys, t, 3);
      if (!w)
        return step_result::failure("w3 is not running");
      auto before = t.restarts.load();
      caf::anon_send(w, crash_atom::value);
      wait_until([&] { return t.restarts > before && t.alive->alive == 5; });
    }
    auto slot_after = sv::which_children(sys, t.workers);
    bool replaced = slot_before && slot_after && slot_after->size() == 3
                    && (*slot_after)[2].handle != (*slot_before)[2].handle;
    if (!replaced || t.alive->alive != 5)
      return step_result::failure("starter:w3 was not replaced");
    return step_result::success(
      "starter:w3 exceeded 2 restarts in 5 s and was replaced by the workers supervisor");
  }

  static step_result crash_config(caf::actor_system& sys, tree_state& t) {
    auto children = sv::which_children(sys, t.app);
    if (!children)
      return step_result::failure(sv::describe(children.error()));
    auto old_workers = (*children)[1].handle;
    caf::anon_send((*children)[0].handle, crash_atom::value);
    // The stubborn child is stopped too (200 ms timeout) before the restart.
    bool ok = wait_until([&] {
      auto now = sv::which_children(sys, t.app);
      return now && (*now)[1].handle && (*now)[1].handle != old_workers && (*now)[2].handle;
    });
    if (!ok)
      return step_result::failure("the children after config were not restarted");
    // The restarted dynamic supervisor starts empty, as OTP's does: its
    // children were added at run time, not in its spec.
    return step_result::success(fmt::format("config, workers and stubborn restarted; {} actors alive",
                                            t.alive->alive.load()));
  }

  static step_result shutdown(caf::actor_system& sys, tree_state& t) {
    auto t0 = std::chrono::steady_clock::now();
    auto ended = sv::stop_and_wait(sys, t.app);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - t0);
    if (!ended)
      return step_result::failure(sv::describe(ended.error()));
    bool clean = wait_until([&] { return t.alive->alive == 0; });
    if (!clean)
      return step_result::failure(fmt::format("{} actors alive after shutdown", t.alive->alive.load()));
    return step_result::success(fmt::format("tree stopped with '{}' in {} ms; {} actors alive",
                                            sv::describe(ended->reason), ms.count(),
                                            t.alive->alive.load()));
  }
};

} // namespace

std::unique_ptr<demo> make_supervision_tree_demo() {
  return std::make_unique<supervision_tree_demo>();
}

} // namespace snakepit::demos
