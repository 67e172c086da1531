// Figure 6: restart time after SIGKILL. Ours: SIGKILL the os_pid of slot
// worker-1 of a 2-worker runtime, then poll list_workers until that slot
// shows a new pid in state ready (the starter restarts the worker, which
// waits out the old process group, launches, sees READY, pings and reopens
// its stream). Raw: SIGKILL a raw server, reap it, start a new one, read its
// READY line. p50 and p95 over the same number of kills.

#include <signal.h>

#include <thread>

#include <fmt/format.h>

#include "bench/figures.hpp"
#include "bench/interrupt.hpp"
#include "bench/raw_server.hpp"
#include "bench/runtime_setup.hpp"
#include "bench/sample_stats.hpp"
#include "bench/stopwatch.hpp"

namespace snakepit::bench {

namespace {

constexpr auto restart_timeout = std::chrono::seconds(15);
constexpr auto poll_interval = std::chrono::milliseconds(2);

std::optional<snakepit::worker_info> slot(snakepit::runtime& rt, const std::string& id) {
  for (auto& w : rt.list_workers())
    if (w.id == id)
      return w;
  return std::nullopt;
}

bool serving(const snakepit::worker_info& w) {
  return w.os_pid > 0
         && (w.state == snakepit::worker_state::ready || w.state == snakepit::worker_state::busy);
}

double ours_restart(snakepit::runtime& rt, const std::string& id) {
  auto before = slot(rt, id);
  if (!before || !serving(*before))
    throw bench_error(fmt::format("slot {} is not serving before the kill", id));
  int old_pid = before->os_pid;
  stopwatch sw;
  if (::kill(old_pid, SIGKILL) != 0)
    throw bench_error(fmt::format("cannot kill worker pid {}", old_pid));
  for (;;) {
    auto now = slot(rt, id);
    if (now && now->os_pid != old_pid && serving(*now))
      return sw.elapsed_ms();
    if (sw.elapsed_s() > std::chrono::duration<double>(restart_timeout).count())
      throw bench_error(fmt::format("slot {} not serving again {} s after killing pid {}", id,
                                    restart_timeout.count(), old_pid));
    check_interrupted();
    std::this_thread::sleep_for(poll_interval);
  }
}

} // namespace

void figure_restart(const bench_options& opts, report& out) {
  const int kills = opts.pick(20, 5);

  // Raw anchor.
  std::vector<double> raw;
  {
    auto server = raw_server::start(opts, "rs");
    server.wait_ready(std::chrono::seconds(30));
    for (int i = 0; i < kills; ++i) {
      check_interrupted();
      stopwatch sw;
      server.kill_and_reap();
      server = raw_server::start(opts, "rs");
      server.wait_ready(restart_timeout);
      raw.push_back(sw.elapsed_ms());
    }
  }

  // Ours: enough restart budget for every kill (the default, 10 in 5 s, is
  // meant to stop a crash loop).
  auto cfg = make_config(opts, 2);
  cfg.worker_restarts = {kills + 10, std::chrono::seconds(60)};
  cfg.pool_restarts = {kills + 10, std::chrono::seconds(60)};
  auto rt = start_runtime(cfg);
  std::vector<double> ours;
  for (int i = 0; i < kills; ++i)
    ours.push_back(ours_restart(*rt, "worker-1"));
  // The pool still serves.
  expect_ok(rt->execute("echo", {{"x", 1}}), "echo after the restarts");
  auto crashes = rt->stats().worker_crashes;

  for (double p : {50.0, 95.0}) {
    row r;
    r.figure = "restart";
    r.name = fmt::format("restart after SIGKILL p{:.0f} ({} kills)", p, kills);
    r.unit = "ms";
    r.ours = percentile(ours, p);
    r.raw = percentile(raw, p);
    r.raw_label = "kill, reap, spawn → READY";
    if (p == 95) {
      r.cmp = comparison::absolute;
      r.target = 250;
    } else {
      r.cmp = comparison::delta;
      r.note = fmt::format("pool counted {} crashes", crashes);
    }
    out.add(std::move(r));
  }
}

} // namespace snakepit::bench
