// Figure 1: pool-ready time. Ours: construct the runtime → await_ready ok
// (actor system, supervision tree, N launches, READY, health ping, stream
// open). Raw: fork/exec the same N Python servers at once → every one has
// written READY. Median of a few repetitions, ours and raw alternating. A
// start of ours that fails is reported in the row's note (and on stderr) and
// retried, up to 3 attempts per repetition.

#include <cstdio>

#include <fmt/format.h>

#include "bench/figures.hpp"
#include "bench/interrupt.hpp"
#include "bench/raw_server.hpp"
#include "bench/runtime_setup.hpp"
#include "bench/sample_stats.hpp"
#include "bench/stopwatch.hpp"

namespace snakepit::bench {

namespace {

constexpr auto ready_timeout = std::chrono::seconds(30);

constexpr int attempts_per_rep = 3;

struct ours_tally {
  std::vector<double> ready_ms;
  std::vector<double> shutdown_ms;
  int failed_starts = 0;
  std::string first_failure;
};

/// One measured start; a start that fails (await_ready not ok) is counted
/// and retried, since a failed start is itself a finding of the run.
void ours_once(const bench_options& opts, std::size_t n, ours_tally& t) {
  for (int attempt = 1;; ++attempt) {
    auto cfg = make_config(opts, n);
    stopwatch sw;
    auto rt = std::make_unique<snakepit::runtime>(cfg);
    auto ok = rt->await_ready(ready_timeout);
    double ms = sw.elapsed_ms();
    stopwatch down;
    rt->shutdown();
    if (ok) {
      t.ready_ms.push_back(ms);
      t.shutdown_ms.push_back(down.elapsed_ms());
      return;
    }
    ++t.failed_starts;
    if (t.first_failure.empty())
      t.first_failure = ok.error().to_string();
    std::fprintf(stderr, "startup: %zu workers, attempt %d failed after %.0f ms: %s\n", n,
                 attempt, ms, ok.error().to_string().c_str());
    if (attempt == attempts_per_rep)
      throw bench_error("await_ready: " + ok.error().to_string());
    check_interrupted();
  }
}

double raw_once(const bench_options& opts, int n) {
  stopwatch sw;
  auto servers = start_ready_servers(opts, "s", n, ready_timeout);
  double ms = sw.elapsed_ms();
  for (auto& s : servers)
    s.kill_and_reap();
  return ms;
}

} // namespace

void figure_startup(const bench_options& opts, report& out) {
  // Warm the page cache and __pycache__ so the first measured start is not
  // an outlier for whichever side goes first.
  raw_once(opts, 1);
  int reps = opts.pick(5, 2);
  for (int n : {1, 4, 8}) {
    ours_tally ours;
    std::vector<double> raw;
    for (int rep = 0; rep < reps; ++rep) {
      check_interrupted();
      if (rep % 2 == 0) {
        ours_once(opts, static_cast<std::size_t>(n), ours);
        raw.push_back(raw_once(opts, n));
      } else {
        raw.push_back(raw_once(opts, n));
        ours_once(opts, static_cast<std::size_t>(n), ours);
      }
    }
    row r;
    r.figure = "startup";
    r.name = fmt::format("pool ready, {} worker{} (median of {})", n, n == 1 ? "" : "s", reps);
    r.unit = "ms";
    r.ours = median(ours.ready_ms);
    r.raw = median(raw);
    r.raw_label = fmt::format("spawn {} → all READY", n);
    r.cmp = comparison::overhead_pct;
    r.target = 15;
    r.note = fmt::format("our shutdown {:.0f} ms", median(ours.shutdown_ms));
    if (ours.failed_starts > 0) {
      auto first = ours.first_failure.substr(0, 160);
      r.note += fmt::format("; {} FAILED start(s), retried: {}", ours.failed_starts, first);
    }
    out.add(std::move(r));
  }
}

} // namespace snakepit::bench
