// Execution modes: stateless calls, calls in a session, streaming — what
// each costs and when to use it, with figures measured on this machine.
#include <algorithm>
#include <set>

#include "context.hpp"
#include "demo_helpers.hpp"

namespace snakepit::demos {

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

class execution_modes_demo : public demo {
public:
  std::string name() const override { return "execution_modes"; }
  std::string description() const override {
    return "Execution modes: stateless vs session vs streaming, with their trade-offs";
  }
  std::vector<step_info> steps() const override {
    return {
      {"start", "start the pool"},
      {"stateless", "execute: any worker serves any call"},
      {"session", "execute_in_session: state in the host, affinity to one worker"},
      {"streaming", "execute_stream: results as they are produced"},
      {"tradeoffs", "trade-offs, with the figures just measured"},
    };
  }

  step_result run_step(const std::string& step, context& ctx) override {
    if (step == "start") {
      ctx.start_runtime();
      return step_result::success();
    }
    auto& rt = ctx.rt();
    int rounds = ctx.size(50, 15);
    if (step == "stateless") {
      std::vector<double> lat;
      std::set<int> pids;
      for (int i = 0; i < rounds; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        auto r = ctx.value(rt.execute("ping"), "ping");
        lat.push_back(ms_since(t0));
        pids.insert(r.at("pid").get<int>());
      }
      std::vector<std::future<result<json>>> calls;
      for (int i = 0; i < 6; ++i)
        calls.push_back(rt.execute_async("ping"));
      for (auto& c : calls)
        pids.insert(ctx.value(c.get(), "ping").at("pid").get<int>());
      ctx.note("use for: idempotent work with no memory between calls (transforms, scoring)");
      ctx.note("{} pings: median {:.2f} ms; served by {} different workers", rounds, median(lat),
               pids.size());
      return step_result::success({{"median_ms", median(lat)}, {"workers", pids.size()}});
    }
    if (step == "session") {
      auto id = ctx.create_session("modes");
      ctx.value(rt.execute_in_session(id, "init_session"), "init_session");
      std::vector<double> lat;
      std::set<int> pids;
      for (int i = 0; i < rounds; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        ctx.value(rt.execute_in_session(id, "increment_counter"), "increment_counter");
        lat.push_back(ms_since(t0));
        pids.insert(ctx.value(rt.execute_in_session(id, "worker_info"), "worker_info").at("pid").get<int>());
      }
      auto counter = rt.get_variable(id, "counter");
      ctx.check(counter && counter->value == rounds, "the counter lost increments");
      ctx.note("use for: multi-step workflows whose state must survive between calls");
      ctx.note("{} increments: median {:.2f} ms (each reads and writes the host: 2 bridge calls); "
               "counter = {}", rounds, median(lat), counter->value.dump());
      ctx.note("affinity (hint): the session's calls went to {} worker(s)", pids.size());
      ctx.ok(rt.close_session(id), "close_session");
      return step_result::success({{"median_ms", median(lat)}, {"workers", pids.size()}});
    }
    if (step == "streaming") {
      int total = ctx.size(10, 5);
      double first = -1;
      auto t0 = std::chrono::steady_clock::now();
      ctx.ok(rt.execute_stream("stream_progress", {{"total", total}, {"delay_ms", 30}},
                               [&](const json& c) {
                                 if (first < 0)
                                   first = ms_since(t0);
                                 ctx.progress(c.at("done").get<std::size_t>(), total, "chunks");
                               }),
             "stream_progress");
      auto all = ms_since(t0);
      ctx.note("use for: long work with partial results or progress (training, large exports)");
      ctx.note("first chunk after {:.0f} ms, all {} after {:.0f} ms: a unary call would show "
               "nothing for {:.0f} ms", first, total, all, all);
      return step_result::success({{"first_ms", first}, {"all_ms", all}});
    }
    if (step == "tradeoffs") {
      auto& s = ctx.result_of("stateless");
      auto& se = ctx.result_of("session");
      auto& st = ctx.result_of("streaming");
      ctx.note("{:<10} {:<12} {}", "mode", "measured", "trade-off");
      ctx.note("{:<10} {:<12} {}", "stateless", fmt::format("{:.2f} ms", s.at("median_ms").get<double>()),
               "+ any worker, most concurrency, a crash loses nothing; - no memory between calls");
      ctx.note("{:<10} {:<12} {}", "session", fmt::format("{:.2f} ms", se.at("median_ms").get<double>()),
               "+ state kept in the host (survives worker crashes), atomic updates; "
               "- a bridge round trip per state access, sessions to close");
      ctx.note("{:<10} {:<12} {}", "streaming",
               fmt::format("{:.0f} ms 1st", st.at("first_ms").get<double>()),
               "+ early results, progress, stop early; - holds a worker for the whole stream, "
               "no retry of single chunks");
      return step_result::success();
    }
    return step_result::failure("unknown step " + step);
  }
};

} // namespace

std::unique_ptr<demo> make_execution_modes_demo() {
  return std::make_unique<execution_modes_demo>();
}

} // namespace snakepit::demos
