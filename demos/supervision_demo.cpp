// Supervision: a worker killed with SIGKILL in the middle of a load; its
// starter restarts it, the telemetry shows every step, and calls carry on.
#include <signal.h>

#include <mutex>
#include <thread>
#include <utility>

#include "context.hpp"
#include "demo_helpers.hpp"

namespace snakepit::demos {

namespace {

using namespace std::chrono_literals;

/// What the runtime reported, from its threads.
struct event_log {
  std::mutex mutex;
  std::vector<std::string> lines;
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  void add(std::string line) {
    std::lock_guard<std::mutex> guard{mutex};
    lines.push_back(fmt::format("+{:>5.0f} ms {}", ms_since(t0), line));
  }
  std::vector<std::string> take() {
    std::lock_guard<std::mutex> guard{mutex};
    return std::exchange(lines, {});
  }
};

class supervision_demo : public demo {
public:
  std::string name() const override { return "supervision"; }
  std::string description() const override {
    return "Supervision: a worker killed mid-demo is restarted; telemetry shows it; calls carry on";
  }
  std::vector<step_info> steps() const override {
    return {
      {"start", "start the pool with telemetry attached"},
      {"kill", "SIGKILL a worker while calls are in flight"},
      {"restart", "its starter restarts it; the events on the way"},
      {"carry_on", "calls carry on, on every worker"},
    };
  }

  step_result run_step(const std::string& step, context& ctx) override {
    auto& log = ctx.shared<event_log>("events");
    if (step == "start") {
      auto* events = &log;
      ctx.start_runtime([events](config& cfg) {
        cfg.pool_events = [events](const pool_event& ev) {
          if (ev.kind == pool_event_kind::worker_ready || ev.kind == pool_event_kind::worker_down
              || ev.kind == pool_event_kind::worker_failed)
            events->add("pool: " + to_string(ev));
        };
        cfg.supervision_observer = [events](const supervision::supervision_event& ev) {
          if (ev.kind != supervision::event_kind::child_started)
            events->add("supervisor: " + supervision::to_string(ev));
        };
        cfg.telemetry = [events](const telemetry_event& ev) {
          events->add("telemetry: " + to_string(ev));
        };
      });
      for (auto& w : ctx.rt().list_workers())
        ctx.note("{} pid {} {}", w.id, w.os_pid, to_string(w.state));
      log.take();  // start-up events are not the point here
      return step_result::success();
    }
    auto& rt = ctx.rt();
    if (step == "kill") {
      auto before = rt.list_workers();
      ctx.check(!before.empty(), "no workers");
      int calls_n = ctx.size(200, 80);
      std::vector<std::future<result<json>>> calls;
      for (int i = 0; i < calls_n; ++i)
        calls.push_back(rt.execute_async("sleep_ms", {{"ms", 5}}));
      std::this_thread::sleep_for(60ms);
      int victim = before[0].os_pid;
      ::kill(victim, SIGKILL);
      ctx.note("SIGKILL → {} (pid {}) with {} calls submitted", before[0].id, victim, calls_n);
      int ok = 0;
      std::map<std::string, int> errors;
      for (auto& c : calls) {
        auto r = c.get();
        if (r)
          ++ok;
        else
          errors[to_string(r.error().code())]++;
      }
      std::vector<std::string> err_text;
      for (auto& [k, n] : errors)
        err_text.push_back(fmt::format("{} {}", n, k));
      ctx.note("{} calls answered, {} failed ({}): only calls on the killed worker fail, "
               "as typed errors", ok, calls_n - ok, err_text.empty() ? "none" : fmt::format("{}", fmt::join(err_text, ", ")));
      ctx.check(ok > 0, "no call succeeded");
      for (auto& [k, n] : errors)
        ctx.check(k == std::string("worker_crashed"), "unexpected error " + k);
      return step_result::success({{"victim", victim}, {"slot", before[0].id}});
    }
    if (step == "restart") {
      int victim = ctx.result_of("kill").at("victim");
      std::string slot = ctx.result_of("kill").at("slot");
      auto t0 = std::chrono::steady_clock::now();
      worker_info now;
      bool back = false;
      while (!back && ms_since(t0) < 10000) {
        for (auto& w : rt.list_workers())
          if (w.id == slot && w.os_pid != victim && w.os_pid > 0 && w.state != worker_state::starting)
            back = true, now = w;
        if (!back)
          std::this_thread::sleep_for(5ms);
      }
      ctx.check(back, "the worker was not restarted within 10 s");
      ctx.note("{}: pid {} → pid {}, restarts {}", slot, victim, now.os_pid, now.restarts);
      std::this_thread::sleep_for(20ms);
      for (auto& line : log.take())
        ctx.note("{}", line);
      ctx.check(now.restarts >= 1, "restart count did not move");
      return step_result::success();
    }
    if (step == "carry_on") {
      std::vector<std::future<result<json>>> calls;
      for (int i = 0; i < 40; ++i)
        calls.push_back(rt.execute_async("worker_info"));
      std::map<int, int> per_pid;
      for (auto& c : calls)
        per_pid[ctx.value(c.get(), "worker_info").at("pid").get<int>()]++;
      auto st = rt.stats();
      ctx.note("40 more calls, all answered, by {} workers; pool: {} crashes, {} completed",
               per_pid.size(), st.worker_crashes, st.completed);
      ctx.note("{} runtime warnings were logged (a worker died: that is expected here)",
               ctx.runner_side().runtime_log.size());
      return step_result::success();
    }
    return step_result::failure("unknown step " + step);
  }
};

} // namespace

std::unique_ptr<demo> make_supervision_demo() {
  return std::make_unique<supervision_demo>();
}

} // namespace snakepit::demos
