// snakepit-bench: our figures next to raw anchors measured in the same run.
// Prints a table; never asserts (targets are printed beside the figures).
// Exit code: 0 if every selected figure was measured, 1 if one failed or the
// run was interrupted, 2 on a bad command line.

#include <unistd.h>

#include <ctime>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bench/bench_error.hpp"
#include "bench/figures.hpp"
#include "bench/interrupt.hpp"
#include "bench/private_dir.hpp"
#include "bench/runtime_setup.hpp"
#include "bench/stopwatch.hpp"

namespace snakepit::bench {

const std::vector<figure>& all_figures() {
  static const std::vector<figure> figures{
    {"startup", "pool-ready time, 1/4/8 workers, vs raw spawn until READY", figure_startup},
    {"latency", "sequential echo p50/p99, sharing and stealing, vs raw unary and bidi",
     figure_latency},
    {"throughput", "calls/s, 2 workers, 1/2/4/8 callers, vs raw gRPC threads", figure_throughput},
    {"saturated", "64 in flight from 1 thread vs raw streams and Python's multiprocessing.Pool",
     figure_saturated},
    {"payload", "1 MiB echo_bytes round trip MiB/s", figure_payload},
    {"streaming", "stream_count chunks/s", figure_streaming},
    {"restart", "restart after SIGKILL p50/p95", figure_restart},
    {"bridge_ops", "session ctx.get / ctx.set ops/s vs a trivial C++ bridge and a raw stub",
     figure_bridge_ops},
    {"session_memory", "host memory per idle session, 10k and 100k sessions",
     figure_session_memory},
  };
  return figures;
}

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep))
    if (!item.empty())
      out.push_back(item);
  return out;
}

std::string now_utc() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

int run(int argc, char** argv) {
  CLI::App app{"snakepit-bench: snakepit's figures next to raw gRPC anchors from the same run"};
  bool quick = false, verbose = false, list = false;
  std::string json_file, only;
  std::string python = SNAKEPIT_BENCH_PYTHON;
  app.add_flag("--quick", quick, "fewer iterations and shorter windows (smoke run, < 40 s)");
  app.add_option("--json", json_file, "also write the table as JSON to this file");
  app.add_option("--only", only, "run only these figures (comma-separated; see --list)");
  app.add_option("--python", python, "Python interpreter with grpcio and protobuf");
  std::size_t max_in_flight = 0;
  app.add_option("--max-in-flight", max_in_flight,
                 "config.max_in_flight_per_worker for every runtime (default: the config's; "
                 "max_batch or less: no pipelining)");
  std::size_t max_batch = 0;
  app.add_option("--max-batch", max_batch, "config.max_batch for every runtime (default: the config's)");
  bool no_fast_lane = false;
  app.add_flag("--no-fast-lane", no_fast_lane,
               "config.fast_lane = false for every runtime (every call through the pool actor)");
  app.add_flag("--verbose", verbose, "show the runtime's warnings (many during restart)");
  app.add_flag("--list", list, "list the figures and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (list) {
    for (auto& f : all_figures())
      fmt::print("{:<15} {}\n", f.name, f.what);
    return 0;
  }
  std::set<std::string> selected;
  for (auto& name : split(only, ',')) {
    bool known = false;
    for (auto& f : all_figures())
      known = known || f.name == name;
    if (!known) {
      std::cerr << "--only: no figure named '" << name << "' (see --list)\n";
      return 2;
    }
    selected.insert(name);
  }

  install_interrupt_handlers();
  private_dir dir;
  bench_options opts;
  opts.quick = quick;
  opts.verbose = verbose;
  opts.max_in_flight = max_in_flight;
  opts.max_batch = max_batch;
  opts.no_fast_lane = no_fast_lane;
  opts.python = python;
  opts.python_path = {SNAKEPIT_BENCH_PYTHON_DIR, SNAKEPIT_BENCH_PYTHON_GEN_DIR};
  opts.dir = &dir;

  unsigned cores = std::thread::hardware_concurrency();
  fmt::print("snakepit-bench{} — {} cores, python {}, sockets in {}, max_batch {}, "
             "max_in_flight_per_worker {}, fast lane {}\n",
             quick ? " --quick" : "", cores, python, dir.path(),
             max_batch != 0 ? max_batch : snakepit::config{}.max_batch,
             max_in_flight != 0 ? max_in_flight : snakepit::config{}.max_in_flight_per_worker,
             no_fast_lane ? "off" : "on");
  fmt::print("Targets are printed, not asserted. Compare figures within one run only.\n\n");
  report out;
  out.print_header();
  stopwatch total;
  const std::string started = now_utc();
  nlohmann::json timings = nlohmann::json::object();
  for (auto& f : all_figures()) {
    if (!selected.empty() && !selected.count(f.name))
      continue;
    if (interrupted())
      break;
    stopwatch sw;
    try {
      f.run(opts, out);
    } catch (const std::exception& e) {
      out.fail(f.name, e.what());
    }
    timings[f.name] = sw.elapsed_s();
  }

  int met = 0, missed = 0;
  for (auto& r : out.rows()) {
    if (auto m = target_met(r))
      (*m ? met : missed)++;
  }
  fmt::print("\n{} targets met, {} missed; {} figure(s) failed; {:.1f} s\n", met, missed,
             out.failures().size(), total.elapsed_s());

  if (!json_file.empty()) {
    auto j = out.to_json();
    j["meta"] = {{"quick", quick},          {"cores", cores},
                 {"python", python},        {"started_utc", started},
                 {"seconds", total.elapsed_s()}, {"figure_seconds", timings},
                 {"interrupted", interrupted()}};
    std::ofstream f(json_file);
    f << j.dump(2) << '\n';
    if (!f) {
      std::cerr << "cannot write " << json_file << '\n';
      return 1;
    }
  }
  return out.failures().empty() && !interrupted() ? 0 : 1;
}

} // namespace

} // namespace snakepit::bench

int main(int argc, char** argv) {
  try {
    return snakepit::bench::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "snakepit-bench: " << e.what() << '\n';
    return 1;
  }
}
