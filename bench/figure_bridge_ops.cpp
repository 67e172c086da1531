// Figure 9: session state from Python. SessionContext ctx.get / ctx.set
// ops/s (one Python thread, lock-step) against:
//
//  * ours: the host bridge of a runtime (1 worker), served on
//    unix:<runtime_dir>/bridge.sock, session "bench" created with
//    create_session and its integer variable "counter" registered by the
//    host; every call crosses into the session layer's actors;
//  * the trivial server: bench/peers/trivial_bridge_server.cpp, the same
//    HostBridge service as a map behind a mutex on gRPC's synchronous API,
//    no actors;
//  * and, on the trivial server, a raw generated Python stub sending
//    prebuilt requests (the issue's anchor: "a raw Python gRPC client calling
//    a trivial C++ gRPC server").
//
// One run of bench/peers/bridge_ops.py (PYTHONPATH = the package and its
// generated stubs) measures both servers: each round takes every figure on
// both, side by side (who goes first alternates), so drift hits both; each
// figure is its best round (on a shared machine the least disturbed one).

#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "bench/figures.hpp"
#include "bench/interrupt.hpp"
#include "bench/private_dir.hpp"
#include "bench/runtime_setup.hpp"

namespace snakepit::bench {

namespace {

struct bridge_figures {
  double ctx_get = 0, ctx_set = 0, raw_get = 0, raw_set = 0;
};

bridge_figures from_json(const snakepit::json& j) {
  return {j.at("ctx_get_ops_per_s").get<double>(), j.at("ctx_set_ops_per_s").get<double>(),
          j.at("raw_get_ops_per_s").get<double>(), j.at("raw_set_ops_per_s").get<double>()};
}

std::string tail_of(const std::string& path, std::size_t max_chars = 2000) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  auto s = ss.str();
  return s.size() > max_chars ? "..." + s.substr(s.size() - max_chars) : s;
}

/// Runs bridge_ops.py against `ours` and a trivial server it starts; returns
/// {ours, trivial}.
std::pair<bridge_figures, bridge_figures> run_bridge_ops(const bench_options& opts,
                                                         const std::string& ours,
                                                         const std::string& session,
                                                         double seconds, int rounds) {
  std::string python_path;
  for (auto& p : opts.python_path)
    python_path += (python_path.empty() ? "" : ":") + p;
  const auto log = opts.dir->file("bridge_ops.log");
  auto cmd = fmt::format("PYTHONPATH='{}' '{}' '{}' --address '{}' --server '{}' --session '{}' "
                         "--seconds {} --rounds {} 2>'{}'",
                         python_path, opts.python, SNAKEPIT_BENCH_PEERS_DIR "/bridge_ops.py", ours,
                         SNAKEPIT_BENCH_TRIVIAL_BRIDGE_SERVER, session, seconds, rounds, log);
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p)
    throw bench_error("cannot run " + cmd);
  std::string text;
  char buf[4096];
  while (auto n = std::fread(buf, 1, sizeof buf, p))
    text.append(buf, n);
  int status = ::pclose(p);
  check_interrupted();
  if (status != 0)
    throw bench_error(fmt::format("bridge_ops.py failed (status {}): {}{}", status, text,
                                  tail_of(log)));
  try {
    auto j = snakepit::json::parse(text);
    auto& servers = j.at("servers");
    if (servers.size() != 2)
      throw bench_error("expected 2 servers");
    return {from_json(servers.at(0)), from_json(servers.at(1))};
  } catch (const std::exception& e) {
    throw bench_error(fmt::format("bridge_ops.py: unexpected output ({}): {}", e.what(), text));
  }
}

} // namespace

void figure_bridge_ops(const bench_options& opts, report& out) {
  const double seconds = opts.pick(0.3, 0.15);
  const int rounds = opts.pick(6, 2);
  const std::string session = "bench";

  auto rt = start_runtime(make_config(opts, 1));
  expect_ok(rt->create_session(session), "create_session");
  expect_ok(rt->register_variable(session, "counter", snakepit::variable_type::integer, 0),
            "register_variable");
  expect_ok(rt->set_variable(session, "counter", 1), "set_variable");
  const auto address = "unix:" + rt->runtime_dir() + "/bridge.sock";

  check_interrupted();
  auto [ours, trivial] = run_bridge_ops(opts, address, session, seconds, rounds);
  const auto runs = fmt::format(
    "1 Python thread, lock-step; best of {} rounds of {} s, side by side", rounds, seconds);

  auto add = [&](const char* name, double o, double r, const char* label, std::string note) {
    row x;
    x.figure = "bridge_ops";
    x.name = name;
    x.unit = "ops/s";
    x.ours = o;
    x.raw = r;
    x.raw_label = label;
    x.cmp = comparison::ratio_pct;
    x.note = std::move(note);
    out.add(std::move(x));
  };
  add("ctx.get ops/s vs trivial C++ server", ours.ctx_get, trivial.ctx_get,
      "SessionContext -> trivial C++ server", runs);
  add("ctx.set ops/s vs trivial C++ server", ours.ctx_set, trivial.ctx_set,
      "SessionContext -> trivial C++ server", runs);
  add("ctx.get ops/s vs raw stub", ours.ctx_get, trivial.raw_get,
      "raw Python stub -> trivial C++ server",
      fmt::format("raw stub -> our bridge {:.0f} ops/s", ours.raw_get));
  add("ctx.set ops/s vs raw stub", ours.ctx_set, trivial.raw_set,
      "raw Python stub -> trivial C++ server",
      fmt::format("raw stub -> our bridge {:.0f} ops/s", ours.raw_set));
}

} // namespace snakepit::bench
