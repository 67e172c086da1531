// Figure 3: throughput with 2 workers and 1, 2, 4, 8 caller threads, each
// calling echo(x: 16 bytes) in a loop for a fixed window. Raw: the same
// number of client threads spread over 2 raw servers (thread i → server
// i % 2, one gRPC channel per server shared by its threads), each thread with
// its own lock-step Channel stream; and, as a note, with sync unary Execute
// and the raw bidi's host cost before the runtime was started. Ours and
// raw alternate in blocks (ours-raw-raw-ours, twice), a quarter window each.

#include <map>
#include <vector>

#include <fmt/format.h>

#include "bench/caller_threads.hpp"
#include "bench/cpu_usage.hpp"
#include "bench/figures.hpp"
#include "bench/interrupt.hpp"
#include "bench/raw_client.hpp"
#include "bench/raw_server.hpp"
#include "bench/runtime_setup.hpp"

namespace snakepit::bench {

void figure_throughput(const bench_options& opts, report& out) {
  const auto window = std::chrono::milliseconds(opts.pick(2000, 400));
  auto servers = start_ready_servers(opts, "tp", 2, std::chrono::seconds(30));
  std::vector<raw_connection> conns;
  for (auto& s : servers)
    conns.push_back(raw_connection::connect(s.address(), std::chrono::seconds(10)));
  const auto request = echo_request();
  auto raw_bidi = [&](int i) -> std::function<void()> {
    auto client = std::make_shared<raw_stream_client>(conns[static_cast<std::size_t>(i % 2)]);
    return [client, &request] { client->call(request); };
  };

  // Raw bidi before any runtime exists in this process: gRPC's poller then
  // has no other threads to hand socket work to (a note on the rows below;
  // the anchor is measured beside ours, with the runtime alive).
  std::map<int, double> alone_switches, alone_host, alone_rate;
  calls_per_second(2, std::chrono::milliseconds(200), raw_bidi);
  for (int threads : {1, 2, 4, 8}) {
    check_interrupted();
    cpu_meter alone{{}};
    auto a = calls_per_second(threads, window / 2, raw_bidi);
    auto used = alone.per_call(static_cast<double>(a.calls));
    alone_switches[threads] = used.host_switches;
    alone_host[threads] = used.host;
    alone_rate[threads] = a.per_second;
  }

  auto rt = start_runtime(make_config(opts, 2));

  auto ours = [&](int) -> std::function<void()> {
    return [&] { expect_ok(rt->execute("echo", {{"x", echo_payload}}), "echo"); };
  };
  auto raw_unary = [&](int i) -> std::function<void()> {
    auto client = std::make_shared<raw_unary_client>(conns[static_cast<std::size_t>(i % 2)]);
    return [client, &request] { client->call(request); };
  };

  // Warm-up: both sides, every worker.
  calls_per_second(2, std::chrono::milliseconds(200), ours);
  calls_per_second(2, std::chrono::milliseconds(200), raw_bidi);

  std::vector<pid_t> ours_pids, raw_pids;
  for (auto& w : rt->list_workers())
    ours_pids.push_back(w.os_pid);
  for (auto& s : servers)
    raw_pids.push_back(s.pid());

  // Ours and raw alternate in quarter-window blocks, ours-raw-raw-ours twice:
  // this machine's speed drifts by tens of percent within seconds, and a
  // drift then weighs on both sides alike instead of on whichever ran second.
  struct side {
    uint64_t calls = 0;
    double seconds = 0, host_us = 0, workers_us = 0, switches = 0, workers_switches = 0;
    void block(int threads, std::chrono::milliseconds w, const std::vector<pid_t>& pids,
               const std::function<std::function<void()>(int)>& make_caller) {
      cpu_meter cpu{pids};
      auto r = calls_per_second(threads, w, make_caller);
      auto used = cpu.per_call(static_cast<double>(r.calls));
      calls += r.calls;
      seconds += static_cast<double>(r.calls) / r.per_second;
      host_us += used.host * static_cast<double>(r.calls);
      workers_us += used.workers * static_cast<double>(r.calls);
      switches += used.host_switches * static_cast<double>(r.calls);
      workers_switches += used.workers_switches * static_cast<double>(r.calls);
    }
    double rate() const { return static_cast<double>(calls) / seconds; }
    double per_call(double total) const { return total / static_cast<double>(calls); }
  };

  for (int threads : {1, 2, 4, 8}) {
    check_interrupted();
    side o, b;
    std::vector<double> round_pct;  // how far apart the rounds of one run are
    for (int round = 0; round < 2; ++round) {
      const side o0 = o, b0 = b;
      o.block(threads, window / 4, ours_pids, ours);
      b.block(threads, window / 4, raw_pids, raw_bidi);
      b.block(threads, window / 4, raw_pids, raw_bidi);
      o.block(threads, window / 4, ours_pids, ours);
      const double ours_rate = static_cast<double>(o.calls - o0.calls) / (o.seconds - o0.seconds);
      const double raw_rate = static_cast<double>(b.calls - b0.calls) / (b.seconds - b0.seconds);
      round_pct.push_back(100.0 * ours_rate / raw_rate);
    }
    cpu_meter::per_call_us ours_used{o.per_call(o.host_us), o.per_call(o.workers_us),
                                     o.per_call(o.switches), o.per_call(o.workers_switches)};
    cpu_meter::per_call_us raw_used{b.per_call(b.host_us), b.per_call(b.workers_us),
                                    b.per_call(b.switches), b.per_call(b.workers_switches)};
    auto u = calls_per_second(threads, window, raw_unary);
    row r;
    r.figure = "throughput";
    r.name = fmt::format("throughput, 2 workers, {} caller{}", threads, threads == 1 ? "" : "s");
    r.unit = "calls/s";
    r.ours = o.rate();
    r.raw = b.rate();
    r.raw_label = "raw bidi lock-step per thread";
    r.cmp = comparison::ratio_pct;
    r.target = 90;
    r.note = fmt::format("rounds {:.0f} % and {:.0f} %; raw unary {:.0f} calls/s; CPU/call host "
                         "{:.0f} us (raw {:.0f}), workers {:.0f} us (raw {:.0f}); host context "
                         "switches/call {:.1f} (raw {:.1f}), workers' {:.1f} (raw {:.1f}); raw with "
                         "no runtime in the process {:.0f} calls/s ({:.0f} % of it), {:.1f} "
                         "switches, host CPU {:.0f} us",
                         round_pct[0], round_pct[1], u.per_second, ours_used.host, raw_used.host,
                         ours_used.workers,
                         raw_used.workers, ours_used.host_switches, raw_used.host_switches,
                         ours_used.workers_switches, raw_used.workers_switches,
                         alone_rate[threads], 100.0 * o.rate() / alone_rate[threads],
                         alone_switches[threads], alone_host[threads]);
    if (threads == 1)
      r.note += fmt::format("; {:.1f} s each, in blocks ours-raw-raw-ours twice",
                            static_cast<double>(window.count()) / 1000.0);
    out.add(std::move(r));
  }
}

} // namespace snakepit::bench
