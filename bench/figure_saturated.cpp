// Figure 8: a saturated pool and a peer. Two workers, echo(x: 16 bytes):
//
//  * ours: 64 chains of execute_async calls (each answer's callback submits
//    the next, as the mp.Pool peer does), calls/s over a window and the
//    latency (submit → answer) p99 of those calls; the same 64 in flight
//    from one submitting thread woken per answer (printed, no target); and
//    one caller in lock-step (execute after execute), p50;
//  * raw: two raw servers, one Channel stream each, 32 requests outstanding
//    per stream, freed room refilled with one HostFrame (run_pipelined_streams);
//  * peer: Python's multiprocessing.Pool with 2 processes doing the same
//    echo (bench/peers/mp_pool_echo.py, run with the bench's interpreter):
//    lock-step p50 with 1 caller, calls/s and p99 with 64 in flight.
//
// The three take turns (ours, raw, peer) per repetition.

#include <cstdio>
#include <condition_variable>
#include <functional>
#include <mutex>

#include <fmt/format.h>

#include "bench/cpu_usage.hpp"
#include "bench/figures.hpp"
#include "bench/interrupt.hpp"
#include "bench/raw_client.hpp"
#include "bench/raw_server.hpp"
#include "bench/runtime_setup.hpp"
#include "bench/sample_stats.hpp"
#include "bench/stopwatch.hpp"

namespace snakepit::bench {

namespace {

constexpr int inflight = 64;

/// `inflight` chains of execute_async calls for `window`: each answer's
/// callback submits the chain's next call, as multiprocessing.Pool's peer
/// refills from its callback. No host thread wakes per answer.
saturated_result ours_saturated(snakepit::runtime& rt, std::chrono::milliseconds window) {
  struct chains {
    std::mutex mx;
    std::condition_variable cv;
    int open = 0;
    bool stop = false;
    std::string first_error;
    saturated_result out;
  } st;
  const snakepit::json args{{"x", echo_payload}};
  std::function<void()> submit = [&] {
    auto t0 = bench_clock::now();
    rt.execute_async("echo", args, [&, t0](snakepit::result<snakepit::json> r) {
      auto t = bench_clock::now();
      {
        std::lock_guard<std::mutex> guard{st.mx};
        if (!r && st.first_error.empty())
          st.first_error = "echo: " + r.error().to_string();
        if (!st.stop) {
          ++st.out.calls;
          st.out.latency_us.push_back(std::chrono::duration<double, std::micro>(t - t0).count());
        }
        if (st.stop || !st.first_error.empty()) {
          if (--st.open == 0)
            st.cv.notify_all();
          return;
        }
      }
      submit();
    });
  };
  auto start = bench_clock::now();
  {
    std::lock_guard<std::mutex> guard{st.mx};
    st.open = inflight;
  }
  for (int i = 0; i < inflight; ++i)
    submit();
  std::unique_lock<std::mutex> lock{st.mx};
  st.cv.wait_until(lock, start + window, [&] { return st.open == 0; });
  st.stop = true;
  double elapsed = stopwatch::seconds_since(start);
  // Every callback refers to this frame: wait for the last one.
  st.cv.wait(lock, [&] { return st.open == 0; });
  if (!st.out.calls && st.first_error.empty())
    st.first_error = "no call answered";
  if (!st.first_error.empty())
    throw bench_error(st.first_error);
  st.out.seconds = elapsed;
  st.out.per_second = static_cast<double>(st.out.calls) / elapsed;
  return std::move(st.out);
}

/// One submitting thread keeps `inflight` calls open: each answer wakes it to
/// submit the next (a host thread per answer, the costlier pattern).
saturated_result ours_one_submitter(snakepit::runtime& rt, std::chrono::milliseconds window) {
  std::mutex mx;
  std::condition_variable cv;
  int open = 0;
  bool counting = true;
  std::string first_error;
  saturated_result out;
  const snakepit::json args{{"x", echo_payload}};
  auto start = bench_clock::now();
  auto end = start + window;
  while (bench_clock::now() < end) {
    {
      std::unique_lock<std::mutex> lock{mx};
      cv.wait(lock, [&] { return open < inflight; });
      if (!first_error.empty())
        break;
      ++open;
    }
    rt.execute_async("echo", args, [&](snakepit::result<snakepit::json> r) {
      std::lock_guard<std::mutex> guard{mx};
      if (!r && first_error.empty())
        first_error = "echo: " + r.error().to_string();
      if (counting)
        ++out.calls;
      --open;
      cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock{mx};
  counting = false;
  double elapsed = stopwatch::seconds_since(start);
  cv.wait(lock, [&] { return open == 0; });
  if (!first_error.empty())
    throw bench_error(first_error);
  out.seconds = elapsed;
  out.per_second = static_cast<double>(out.calls) / elapsed;
  return out;
}

struct peer_result {
  double lockstep_p50_us = 0;
  double per_second = 0;
  double saturated_p99_us = 0;
};

peer_result run_mp_pool(const bench_options& opts, int calls, int warmup,
                        std::chrono::milliseconds window) {
  auto cmd = fmt::format("'{}' '{}' --processes 2 --calls {} --warmup {} --inflight {} "
                         "--window-ms {} 2>&1",
                         opts.python, SNAKEPIT_BENCH_PEERS_DIR "/mp_pool_echo.py", calls, warmup,
                         inflight, window.count());
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p)
    throw bench_error("cannot run " + cmd);
  std::string text;
  char buf[4096];
  while (auto n = std::fread(buf, 1, sizeof buf, p))
    text.append(buf, n);
  int status = ::pclose(p);
  if (status != 0)
    throw bench_error(fmt::format("mp_pool_echo.py failed (status {}): {}", status, text));
  try {
    auto j = snakepit::json::parse(text);
    return {j.at("lockstep_p50_us").get<double>(), j.at("saturated_calls_per_s").get<double>(),
            j.at("saturated_p99_us").get<double>()};
  } catch (const std::exception& e) {
    throw bench_error(fmt::format("mp_pool_echo.py: unexpected output ({}): {}", e.what(), text));
  }
}

} // namespace

void figure_saturated(const bench_options& opts, report& out) {
  const auto window = std::chrono::milliseconds(opts.pick(2000, 500));
  const int reps = opts.pick(2, 1);
  const int lockstep_calls = opts.pick(1000, 200);
  const int warmup = opts.pick(200, 50);

  auto servers = start_ready_servers(opts, "sat", 2, std::chrono::seconds(30));
  std::vector<raw_connection> conns;
  for (auto& s : servers)
    conns.push_back(raw_connection::connect(s.address(), std::chrono::seconds(10)));
  auto rt = start_runtime(make_config(opts, 2));
  const auto request = echo_request();
  const snakepit::json args{{"x", echo_payload}};

  // Warm-up: every worker of both sides.
  for (int i = 0; i < warmup; ++i)
    expect_ok(rt->execute("echo", args), "echo");
  (void) ours_saturated(*rt, std::chrono::milliseconds(200));
  (void) ours_one_submitter(*rt, std::chrono::milliseconds(200));
  (void) run_pipelined_streams(conns, request, inflight / 2, std::chrono::milliseconds(200));

  std::vector<pid_t> ours_pids, raw_pids;
  for (auto& w : rt->list_workers())
    ours_pids.push_back(w.os_pid);
  for (auto& s : servers)
    raw_pids.push_back(s.pid());
  cpu_meter::per_call_us ours_cpu, raw_cpu;
  uint64_t dispatched = 0, batches = 0, batched_calls = 0;  // ours, pool stats

  std::vector<double> ours_lockstep;
  saturated_result ours_sat, raw_sat;
  double ours_seconds = 0, raw_seconds = 0;
  double one_submitter_per_second = 0;
  peer_result peer;
  for (int rep = 0; rep < reps; ++rep) {
    check_interrupted();
    for (int i = 0; i < lockstep_calls; ++i) {
      stopwatch sw;
      expect_ok(rt->execute("echo", args), "echo");
      ours_lockstep.push_back(sw.elapsed_us());
    }
    cpu_meter ours_meter{ours_pids};
    auto before = rt->stats();
    auto o = ours_saturated(*rt, window);
    auto after = rt->stats();
    dispatched += after.requests - before.requests;
    batches += after.batches - before.batches;
    batched_calls += after.batched_calls - before.batched_calls;
    auto oc = ours_meter.per_call(static_cast<double>(o.calls));
    ours_cpu.host += oc.host / reps;
    ours_cpu.workers += oc.workers / reps;
    ours_cpu.host_switches += oc.host_switches / reps;
    ours_sat.calls += o.calls;
    ours_seconds += o.seconds;
    ours_sat.latency_us.insert(ours_sat.latency_us.end(), o.latency_us.begin(), o.latency_us.end());
    one_submitter_per_second += ours_one_submitter(*rt, window).per_second / reps;

    check_interrupted();
    cpu_meter raw_meter{raw_pids};
    auto r = run_pipelined_streams(conns, request, inflight / 2, window);
    auto rc = raw_meter.per_call(static_cast<double>(r.calls));
    raw_cpu.host += rc.host / reps;
    raw_cpu.workers += rc.workers / reps;
    raw_cpu.host_switches += rc.host_switches / reps;
    raw_sat.calls += r.calls;
    raw_seconds += r.seconds;
    raw_sat.latency_us.insert(raw_sat.latency_us.end(), r.latency_us.begin(), r.latency_us.end());

    check_interrupted();
    auto p = run_mp_pool(opts, lockstep_calls, warmup, window);
    peer.lockstep_p50_us += p.lockstep_p50_us / reps;
    peer.per_second += p.per_second / reps;
    peer.saturated_p99_us += p.saturated_p99_us / reps;
  }
  ours_sat.per_second = static_cast<double>(ours_sat.calls) / ours_seconds;
  raw_sat.per_second = static_cast<double>(raw_sat.calls) / raw_seconds;

  row t;
  t.figure = "saturated";
  t.name = "saturated throughput, 64 concurrent callers";
  t.unit = "calls/s";
  t.ours = ours_sat.per_second;
  t.raw = raw_sat.per_second;
  t.raw_label = "raw streams, 2 x 32 pipelined";
  // Issue 7's floor; the column shows ours as a share of the raw streams.
  t.cmp = comparison::at_least;
  t.target = 100000;
  t.note = fmt::format("2 workers, 64 execute_async callback chains; CPU/call host {:.0f} us (raw {:.0f}), "
                       "workers {:.0f} us (raw {:.0f}); host context switches/call {:.2f} "
                       "(raw {:.2f}); {:.0f} % of calls in batches of {:.1f} "
                       "(max_batch {}, max_in_flight_per_worker {}); {:.1f} s x {}",
                       ours_cpu.host, raw_cpu.host, ours_cpu.workers, raw_cpu.workers,
                       ours_cpu.host_switches, raw_cpu.host_switches,
                       dispatched ? 100.0 * static_cast<double>(batched_calls)
                                      / static_cast<double>(dispatched)
                                  : 0.0,
                       batches ? static_cast<double>(batched_calls) / static_cast<double>(batches)
                               : 0.0,
                       make_config(opts, 2).max_batch, make_config(opts, 2).max_in_flight_per_worker,
                       static_cast<double>(window.count()) / 1000.0, reps);
  out.add(std::move(t));

  row one;
  one.figure = "saturated";
  one.name = "64 in flight from one submitting thread";
  one.unit = "calls/s";
  one.ours = one_submitter_per_second;
  one.raw = raw_sat.per_second;
  one.raw_label = "raw streams, 2 x 32 pipelined";
  one.cmp = comparison::ratio_pct;
  one.note = "execute_async, the thread woken per answer to submit the next";
  out.add(std::move(one));

  row l;
  l.figure = "saturated";
  l.name = "saturated latency p99, 64 in flight";
  l.unit = "us";
  l.ours = percentile(ours_sat.latency_us, 99);
  l.raw = percentile(raw_sat.latency_us, 99);
  l.raw_label = "raw streams, 2 x 32 pipelined";
  l.cmp = comparison::delta;
  l.note = fmt::format("p50 ours {:.0f} us, raw {:.0f} us", percentile(ours_sat.latency_us, 50),
                       percentile(raw_sat.latency_us, 50));
  out.add(std::move(l));

  row pl;
  pl.figure = "saturated";
  pl.name = "echo p50, 1 caller, vs mp.Pool";
  pl.unit = "us";
  pl.ours = percentile(ours_lockstep, 50);
  pl.raw = peer.lockstep_p50_us;
  pl.raw_label = "multiprocessing.Pool(2)";
  // Issue 7's target for one caller in lock-step; mp.Pool (no gRPC at all)
  // is shown beside it.
  pl.cmp = comparison::absolute;
  pl.target = 200;
  pl.note = fmt::format("lock-step, 2 workers; {} calls each; ours - mp.Pool {:+.0f} us",
                        ours_lockstep.size(), pl.ours - peer.lockstep_p50_us);
  out.add(std::move(pl));

  row pt;
  pt.figure = "saturated";
  pt.name = "64 in flight calls/s vs mp.Pool";
  pt.unit = "calls/s";
  pt.ours = ours_sat.per_second;
  pt.raw = peer.per_second;
  pt.raw_label = "multiprocessing.Pool(2)";
  pt.cmp = comparison::ratio_pct;
  pt.target = 100;
  pt.note = "apply_async, 64 in flight, each callback submitting the next";
  out.add(std::move(pt));

  row pp;
  pp.figure = "saturated";
  pp.name = "64 in flight p99 vs mp.Pool";
  pp.unit = "us";
  pp.ours = percentile(ours_sat.latency_us, 99);
  pp.raw = peer.saturated_p99_us;
  pp.raw_label = "multiprocessing.Pool(2)";
  pp.cmp = comparison::delta;
  pp.target = 0;
  pp.note = "submit -> answer";
  out.add(std::move(pp));
}

} // namespace snakepit::bench
