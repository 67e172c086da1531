#include "bench/runtime_setup.hpp"

#include <cstdio>

#include "bench/private_dir.hpp"

namespace snakepit::bench {

snakepit::config make_config(const bench_options& opts, std::size_t pool_size,
                             const std::string& scheduler_policy) {
  snakepit::config cfg;
  cfg.pool_size = pool_size;
  cfg.adapter = opts.adapter;
  cfg.python = opts.python;
  cfg.python_path = opts.python_path;
  cfg.runtime_parent = opts.dir->path();
  cfg.scheduler_policy = scheduler_policy;
  if (opts.max_in_flight != 0)
    cfg.max_in_flight_per_worker = opts.max_in_flight;
  if (opts.max_batch != 0)
    cfg.max_batch = opts.max_batch;
  if (opts.no_fast_lane)
    cfg.fast_lane = false;
  bool verbose = opts.verbose;
  cfg.log = [verbose](snakepit::log_level level, const std::string& line) {
    if (verbose && level >= snakepit::log_level::warning)
      std::fprintf(stderr, "snakepit %s: %s\n", to_string(level), line.c_str());
  };
  return cfg;
}

std::unique_ptr<snakepit::runtime> start_runtime(const snakepit::config& cfg,
                                                 std::chrono::milliseconds timeout) {
  auto rt = std::make_unique<snakepit::runtime>(cfg);
  expect_ok(rt->await_ready(timeout), "await_ready");
  return rt;
}

void expect_ok(const snakepit::result<void>& r, const char* what) {
  if (!r)
    throw bench_error(std::string(what) + ": " + r.error().to_string());
}

} // namespace snakepit::bench
