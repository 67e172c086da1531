// Figure 5: streaming chunks/s — stream_count(count, delay_ms=0), one
// caller, ours via execute_stream, raw via a Channel stream reading chunks
// until the final one. Best of a few runs each, alternating.

#include <algorithm>

#include <fmt/format.h>

#include "bench/figures.hpp"
#include "bench/interrupt.hpp"
#include "bench/raw_client.hpp"
#include "bench/raw_server.hpp"
#include "bench/runtime_setup.hpp"
#include "bench/stopwatch.hpp"

namespace snakepit::bench {

void figure_streaming(const bench_options& opts, report& out) {
  const int64_t count = opts.pick<int64_t>(20000, 2000);
  const int runs = opts.pick(3, 1);
  auto server = raw_server::start(opts, "st");
  server.wait_ready(std::chrono::seconds(30));
  auto conn = raw_connection::connect(server.address(), std::chrono::seconds(10));
  raw_stream_client bidi{conn};
  auto rt = start_runtime(make_config(opts, 1));

  auto ours = [&] {
    int64_t chunks = 0;
    stopwatch sw;
    expect_ok(rt->execute_stream("stream_count", {{"count", count}, {"delay_ms", 0}},
                                 [&chunks](const snakepit::json&) { ++chunks; }),
              "execute_stream");
    double s = sw.elapsed_s();
    if (chunks != count)
      throw bench_error(fmt::format("execute_stream gave {} chunks, not {}", chunks, count));
    return static_cast<double>(chunks) / s;
  };
  auto raw = [&] {
    stopwatch sw;
    auto chunks = bidi.stream(stream_count_request(count));
    double s = sw.elapsed_s();
    if (static_cast<int64_t>(chunks) != count)
      throw bench_error(fmt::format("raw stream gave {} chunks, not {}", chunks, count));
    return static_cast<double>(chunks) / s;
  };

  // Warm-up with a short stream each.
  expect_ok(rt->execute_stream("stream_count", {{"count", 100}, {"delay_ms", 0}},
                               [](const snakepit::json&) {}),
            "execute_stream");
  bidi.stream(stream_count_request(100));

  double best_ours = 0, best_raw = 0;
  for (int i = 0; i < runs; ++i) {
    check_interrupted();
    best_ours = std::max(best_ours, ours());
    best_raw = std::max(best_raw, raw());
  }

  row r;
  r.figure = "streaming";
  r.name = "streaming stream_count, delay 0";
  r.unit = "chunks/s";
  r.ours = best_ours;
  r.raw = best_raw;
  r.raw_label = "raw bidi, chunks until final";
  r.cmp = comparison::ratio_pct;
  r.note = fmt::format("{} chunks, best of {}", count, runs);
  out.add(std::move(r));
}

} // namespace snakepit::bench
