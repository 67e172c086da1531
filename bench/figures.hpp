#pragma once
// bench/figures.hpp — the figures of the benchmark. Each measures ours and
// its raw anchor in the same run and adds rows to the report; each throws
// bench_error if it cannot measure (what it started is cleaned up by then).

#include <string>
#include <vector>

#include "bench/bench_options.hpp"
#include "bench/report.hpp"

namespace snakepit::bench {

void figure_startup(const bench_options& opts, report& out);     // 1
void figure_latency(const bench_options& opts, report& out);     // 2 and 7 (both policies)
void figure_throughput(const bench_options& opts, report& out);  // 3
void figure_payload(const bench_options& opts, report& out);     // 4
void figure_streaming(const bench_options& opts, report& out);   // 5
void figure_restart(const bench_options& opts, report& out);     // 6
void figure_saturated(const bench_options& opts, report& out);   // 8 (64 in flight, mp.Pool peer)
void figure_bridge_ops(const bench_options& opts, report& out);  // 9 (ctx.get/set from Python)
void figure_session_memory(const bench_options& opts, report& out);  // 10 (idle sessions)

struct figure {
  std::string name;  // for --only
  std::string what;
  void (*run)(const bench_options&, report&);
};

/// Every figure, in the order they run.
const std::vector<figure>& all_figures();

} // namespace snakepit::bench
