// The supervision demo: a small tree shaped like snakepit's own, children
// crashed on purpose, and every event the supervisors report printed live.
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

#include "demo.hpp"
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

class supervision_demo : public demo {
public:
  std::string name() const override { return "supervision"; }
  std::string description() const override {
    return "OTP supervision on CAF: restarts, starters, escalation, ordered shutdown";
  }

  std::vector<demo_step> steps() override {
    return {
      {"start the tree (children start in order)", [this] { return start(); }},
      {"crash a worker: its starter restarts it", [this] { return crash_once(); }},
      {"crash-loop a worker: its starter gives up, the slot is restarted",
       [this] { return crash_loop(); }},
      {"crash config: rest_for_one restarts everything after it",
       [this] { return crash_config(); }},
      {"shut down: reverse order, the stubborn child is killed after 200 ms",
       [this] { return shutdown(); }},
    };
  }

  step_result cleanup() override {
    if (app_)
      caf::anon_send_exit(app_, caf::exit_reason::kill);
    bool clean = wait_until([this] { return census_->alive == 0; });
    return {clean, clean ? "no actor left running"
                         : fmt::format("{} actors still alive", census_->alive.load())};
  }

private:
  sv::event_observer printer() {
    return [this](const sv::supervision_event& ev) {
      std::lock_guard<std::mutex> guard{print_mutex_};
      fmt::print("      · {}\n", sv::to_string(ev));
      if (ev.kind == sv::event_kind::child_restarted)
        restarts_++;
    };
  }

  step_result start() {
    sv::dynamic_supervisor_flags workers;
    workers.name = "workers";
    workers.observer = printer();
    sv::supervisor_flags app;
    app.name = "app";
    app.strategy = sv::restart_strategy::rest_for_one;
    app.observer = printer();
    auto tree = sv::start_supervisor(
      sys_, app,
      {worker_spec("config", census_), sv::dynamic_supervisor_child("workers", workers),
       worker_spec("stubborn", census_, true)});
    if (!tree)
      return {false, sv::describe(tree.error())};
    app_ = *tree;
    auto children = sv::which_children(sys_, app_);
    if (!children)
      return {false, sv::describe(children.error())};
    workers_ = (*children)[1].handle;
    for (int i = 1; i <= 3; ++i) {
      sv::starter_options opts;
      opts.intensity = {2, 5000ms};
      opts.observer = printer();
      auto id = fmt::format("w{}", i);
      auto s = sv::start_child(sys_, workers_, sv::starter_child(id, worker_spec(id, census_), opts));
      if (!s)
        return {false, sv::describe(s.error())};
    }
    // A starter's own child starts when the starter first runs, just after
    // start_child returns.
    bool up = wait_until([this] { return census_->alive == 5; });
    return {up, fmt::format("      {} actors alive", census_->alive.load())};
  }

  caf::actor worker_behind(int slot) {
    auto starters = sv::which_children(sys_, workers_);
    if (!starters || starters->size() < static_cast<std::size_t>(slot))
      return {};
    auto inner = sv::which_children(sys_, (*starters)[slot - 1].handle);
    if (!inner || inner->empty())
      return {};
    return (*inner)[0].handle;
  }

  step_result crash_once() {
    auto before = restarts_.load();
    caf::anon_send(worker_behind(2), crash_atom::value);
    bool ok = wait_until([&] { return restarts_ > before && census_->alive == 5; });
    return {ok, fmt::format("      w2 restarted; {} actors alive", census_->alive.load())};
  }

  step_result crash_loop() {
    auto slot_before = sv::which_children(sys_, workers_);
    for (int i = 0; i < 3; ++i) {
      auto w = worker_behind(3);
      if (!w)
        return {false, "w3 is not running"};
      auto before = restarts_.load();
      caf::anon_send(w, crash_atom::value);
      wait_until([&] { return restarts_ > before && census_->alive == 5; });
    }
    auto slot_after = sv::which_children(sys_, workers_);
    bool replaced = slot_before && slot_after && slot_after->size() == 3
                    && (*slot_after)[2].handle != (*slot_before)[2].handle;
    return {replaced && census_->alive == 5,
            "      starter:w3 exceeded 2 restarts in 5 s and was replaced by the workers supervisor"};
  }

  step_result crash_config() {
    auto children = sv::which_children(sys_, app_);
    if (!children)
      return {false, sv::describe(children.error())};
    auto old_workers = (*children)[1].handle;
    caf::anon_send((*children)[0].handle, crash_atom::value);
    // The stubborn child is stopped too (200 ms timeout) before the restart.
    bool ok = wait_until([&] {
      auto now = sv::which_children(sys_, app_);
      return now && (*now)[1].handle && (*now)[1].handle != old_workers && (*now)[2].handle;
    });
    // The restarted dynamic supervisor starts empty, as OTP's does: its
    // children were added at run time, not in its spec.
    return {ok, fmt::format("      config, workers and stubborn restarted; {} actors alive",
                            census_->alive.load())};
  }

  step_result shutdown() {
    auto t0 = std::chrono::steady_clock::now();
    auto ended = sv::stop_and_wait(sys_, app_);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - t0);
    if (!ended)
      return {false, sv::describe(ended.error())};
    app_ = nullptr;
    bool clean = wait_until([this] { return census_->alive == 0; });
    return {clean, fmt::format("      tree stopped with '{}' in {} ms; {} actors alive",
                               sv::describe(ended->reason), ms.count(), census_->alive.load())};
  }

  caf::actor_system_config cfg_;
  caf::actor_system sys_{cfg_};
  std::shared_ptr<census> census_ = std::make_shared<census>();
  std::mutex print_mutex_;
  std::atomic<int> restarts_{0};
  caf::actor app_;
  caf::actor workers_;
};

} // namespace

std::unique_ptr<demo> make_supervision_demo() {
  return std::make_unique<supervision_demo>();
}

} // namespace snakepit::demos
