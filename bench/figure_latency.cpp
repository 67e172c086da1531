// Figures 2 and 7: sequential latency of execute("echo", {x: 16 bytes}), one
// caller, with the CAF scheduler set to "sharing" and to "stealing", against
// the same call made directly on the generated stub: sync unary Execute, and
// the bidi Channel in lock-step (the runtime's hot path).
//
// The four take turns in blocks, so a machine that gets busier during the
// run hurts all of them alike. Each block starts its own Python process and
// warms it up, ours (a fresh runtime) and raw (a fresh raw server) alike:
// on this kind of machine a lock-step pair of processes runs near 90 or
// near 180 us per call for thousands of calls at a time, depending on where
// the scheduler put them, so each side must draw that anew per block. And
// only one runtime is alive at a time: an idle runtime's threads would
// otherwise run beside the others (the stealing policy polls).
// Besides wall-clock latency, each block records CPU per call of this
// process (host) and of the Python worker, to show where the time goes.

#include <functional>
#include <memory>
#include <optional>

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

/// The raw anchor's side of a block: a fresh raw server and one client.
struct raw_block {
  raw_server server;
  std::optional<raw_connection> conn;
  std::unique_ptr<raw_unary_client> unary;
  std::unique_ptr<raw_stream_client> bidi;

  void call(const wire::Request& request) {
    if (bidi)
      bidi->call(request);
    else
      unary->call(request);
  }
};

/// A raw variant on a fresh raw server per block (as ours gets a runtime).
variant raw(const bench_options& opts, bool streaming, int warmup, const wire::Request& request) {
  auto block = std::make_shared<std::unique_ptr<raw_block>>();
  variant v;
  v.name = streaming ? "raw bidi" : "raw unary";
  v.open = [&opts, streaming, warmup, &request, block] {
    auto b = std::make_unique<raw_block>();
    b->server = raw_server::start(opts, "lat");
    b->server.wait_ready(ready_timeout);
    b->conn = raw_connection::connect(b->server.address(), std::chrono::seconds(10));
    if (streaming)
      b->bidi = std::make_unique<raw_stream_client>(*b->conn);
    else
      b->unary = std::make_unique<raw_unary_client>(*b->conn);
    for (int i = 0; i <= warmup; ++i)  // as ours: one check call and the warm-up
      b->call(request);
    const pid_t pid = b->server.pid();
    *block = std::move(b);
    return pid;
  };
  v.call = [block, &request] { (*block)->call(request); };
  v.close = [block] { block->reset(); };
  return v;
}

} // namespace

void figure_latency(const bench_options& opts, report& out) {
  const int calls = opts.pick(2000, 300);
  const int warmup = opts.pick(200, 50);
  const int blocks = 8;
  const int per_block = calls / blocks;

  const auto request = echo_request();
  auto rt = std::make_shared<std::unique_ptr<snakepit::runtime>>();
  std::vector<variant> variants;
  variants.push_back(ours(opts, "sharing", warmup / 2, rt));
  variants.push_back(ours(opts, "stealing", warmup / 2, rt));
  variants.push_back(raw(opts, false, warmup / 2, request));
  variants.push_back(raw(opts, true, warmup / 2, request));

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
