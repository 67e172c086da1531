// Figures 2 and 7: sequential latency of execute("echo", {x: 16 bytes}), one
// caller, with the CAF scheduler set to "sharing" and to "stealing", against
// the same call made directly on the generated stub: sync unary Execute, and
// the bidi Channel in lock-step (the runtime's hot path).
//
// The four take turns in blocks, so a machine that gets busier during the
// run hurts all of them alike. Only one runtime is alive at a time (each
// block starts its own and warms it up): an idle runtime's scheduler threads
// would otherwise run beside the others (the stealing policy polls).
// Besides wall-clock latency, each block records CPU per call of this
// process (host) and of the Python worker, to show where the time goes.

#include <functional>
#include <memory>

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

constexpr auto ready_timeout = std::chrono::seconds(30);

/// One way of making the call. `open` readies it for a block and returns
/// the pid of the Python process that serves it; `close` ends the block.
struct variant {
  std::string name;
  std::function<pid_t()> open;
  std::function<void()> call;
  std::function<void()> close;
  std::vector<double> samples_us;
  double host_cpu_us = 0;  // CPU per call, averaged over the blocks
  double worker_cpu_us = 0;
};

void check_echo(const snakepit::json& result) {
  if (!result.is_object() || !result.contains("x") || result["x"] != echo_payload)
    throw bench_error("echo answered " + result.dump());
}

/// A variant running on a fresh one-worker runtime per block.
variant ours(const bench_options& opts, const std::string& policy, int warmup,
             std::shared_ptr<std::unique_ptr<snakepit::runtime>> rt) {
  variant v;
  v.name = policy;
  v.open = [&opts, policy, warmup, rt] {
    *rt = start_runtime(make_config(opts, 1, policy));
    check_echo(expect_ok((*rt)->execute("echo", {{"x", echo_payload}}), "echo"));
    for (int i = 0; i < warmup; ++i)
      expect_ok((*rt)->execute("echo", {{"x", echo_payload}}), "echo");
    auto ws = (*rt)->list_workers();
    if (ws.size() != 1 || ws[0].os_pid <= 0)
      throw bench_error("expected one worker with a pid");
    return static_cast<pid_t>(ws[0].os_pid);
  };
  v.call = [rt] { expect_ok((*rt)->execute("echo", {{"x", echo_payload}}), "echo"); };
  v.close = [rt] { rt->reset(); };
  return v;
}

} // namespace

void figure_latency(const bench_options& opts, report& out) {
  const int calls = opts.pick(2000, 300);
  const int warmup = opts.pick(200, 50);
  const int blocks = 4;
  const int per_block = calls / blocks;

  auto server = raw_server::start(opts, "lat");
  server.wait_ready(ready_timeout);
  auto conn = raw_connection::connect(server.address(), std::chrono::seconds(10));
  raw_unary_client unary{conn};
  raw_stream_client bidi{conn};
  const auto request = echo_request();
  for (int i = 0; i < warmup; ++i) {
    unary.call(request);
    bidi.call(request);
  }

  auto rt = std::make_shared<std::unique_ptr<snakepit::runtime>>();
  const pid_t raw_pid = server.pid();
  std::vector<variant> variants;
  variants.push_back(ours(opts, "sharing", warmup / 2, rt));
  variants.push_back(ours(opts, "stealing", warmup / 2, rt));
  variants.push_back({"raw unary", [raw_pid] { return raw_pid; },
                      [&] { unary.call(request); }, [] {}, {}});
  variants.push_back({"raw bidi", [raw_pid] { return raw_pid; },
                      [&] { bidi.call(request); }, [] {}, {}});

  for (int b = 0; b < blocks; ++b) {
    for (auto& v : variants) {
      check_interrupted();
      pid_t worker = v.open();
      cpu_meter cpu{{worker}};
      for (int i = 0; i < per_block; ++i) {
        stopwatch sw;
        v.call();
        v.samples_us.push_back(sw.elapsed_us());
      }
      auto used = cpu.per_call(per_block);
      v.host_cpu_us += used.host / blocks;
      v.worker_cpu_us += used.workers / blocks;
      v.close();
    }
  }

  auto& raw_unary = variants[2];
  auto& raw_bidi = variants[3];
  for (std::size_t k = 0; k < 2; ++k) {
    auto& v = variants[k];
    for (double p : {50.0, 99.0}) {
      row r;
      r.figure = "latency";
      r.name = fmt::format("echo latency p{:.0f} [{}]", p, v.name);
      r.unit = "us";
      r.ours = percentile(v.samples_us, p);
      r.raw = percentile(raw_bidi.samples_us, p);
      r.raw_label = "raw bidi lock-step";
      r.cmp = comparison::delta;
      if (p == 50)
        r.target = 40;
      r.note = fmt::format("raw unary {:.0f} us", percentile(raw_unary.samples_us, p));
      if (k == 0 && p == 50)
        r.note += fmt::format("; {} calls each, 1 worker", v.samples_us.size());
      out.add(std::move(r));
    }
  }
  // Where the time goes: CPU per call on each side.
  for (std::size_t k = 0; k < 2; ++k) {
    auto& v = variants[k];
    for (bool host : {true, false}) {
      row r;
      r.figure = "latency";
      r.name = fmt::format("CPU per echo, {} [{}]", host ? "host" : "Python worker", v.name);
      r.unit = "us";
      r.ours = host ? v.host_cpu_us : v.worker_cpu_us;
      r.raw = host ? raw_bidi.host_cpu_us : raw_bidi.worker_cpu_us;
      r.raw_label = "raw bidi lock-step";
      r.cmp = comparison::delta;
      r.note = fmt::format("raw unary {:.0f} us",
                           host ? raw_unary.host_cpu_us : raw_unary.worker_cpu_us);
      if (k == 0 && host)
        r.note += "; host = this whole process";
      out.add(std::move(r));
    }
  }
}

} // namespace snakepit::bench
