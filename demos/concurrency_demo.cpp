// Concurrency: stateless calls from many callers at once spread over the
// workers; one host thread keeps them all in flight.
#include <set>
#include <thread>

#include "context.hpp"
#include "demo_helpers.hpp"

namespace snakepit::demos {

namespace {

class concurrency_demo : public demo {
public:
  std::string name() const override { return "concurrency"; }
  std::string description() const override {
    return "Concurrency: parallel stateless calls spread over the pool";
  }
  std::vector<step_info> steps() const override {
    return {
      {"start", "start the pool"},
      {"sequential", "run CPU-bound tasks one after another"},
      {"parallel", "run the same tasks at once (execute_async from one thread)"},
      {"many_small", "many small calls in flight at once"},
    };
  }

  static json tasks(context& ctx) { return {{"count", ctx.size(8, 4)}, {"n", ctx.size(300000, 100000)}}; }

  step_result run_step(const std::string& step, context& ctx) override {
    if (step == "start") {
      ctx.start_runtime();
      return step_result::success();
    }
    auto& rt = ctx.rt();
    int count = tasks(ctx).at("count");
    int n = tasks(ctx).at("n");
    if (step == "sequential") {
      auto t0 = std::chrono::steady_clock::now();
      std::set<int> pids;
      for (int i = 0; i < count; ++i) {
        auto r = ctx.value(rt.execute("cpu_task", {{"n", n}, {"task_id", i}}), "cpu_task");
        pids.insert(r.at("pid").get<int>());
      }
      auto ms = ms_since(t0);
      ctx.note("{} tasks of {} steps one by one: {:.0f} ms", count, n, ms);
      return step_result::success({{"ms", ms}});
    }
    if (step == "parallel") {
      auto t0 = std::chrono::steady_clock::now();
      std::vector<std::future<result<json>>> calls;
      for (int i = 0; i < count; ++i)
        calls.push_back(rt.execute_async("cpu_task", {{"n", n}, {"task_id", i}}));
      std::map<int, int> per_pid;
      json results = json::array();
      for (auto& c : calls) {
        auto r = ctx.value(c.get(), "cpu_task");
        per_pid[r.at("pid").get<int>()]++;
        results.push_back(r.at("result"));
      }
      auto ms = ms_since(t0);
      double seq = ctx.result_of("sequential").at("ms");
      std::vector<std::string> spread;
      for (auto& [pid, k] : per_pid)
        spread.push_back(fmt::format("pid {}: {}", pid, k));
      ctx.note("the same {} tasks at once: {:.0f} ms ({:.1f}x; {} workers, {} cores)", count, ms,
               seq / ms, rt.list_workers().size(), std::thread::hardware_concurrency());
      ctx.note("tasks per worker: {}", fmt::join(spread, ", "));
      for (auto& v : results)
        ctx.check(v == results.front(), "tasks disagree");
      ctx.check(per_pid.size() == std::min<std::size_t>(rt.list_workers().size(), count),
                "not every worker took a task");
      return step_result::success({{"ms", ms}});
    }
    if (step == "many_small") {
      // Below max_queue (1000 by default): beyond it calls are refused
      // with queue_full, the pool's back-pressure.
      int calls_n = ctx.size(900, 300);
      std::vector<std::future<result<json>>> calls;
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < calls_n; ++i)
        calls.push_back(rt.execute_async("add", {{"a", i}, {"b", 1}}));
      int ok = 0;
      for (int i = 0; i < calls_n; ++i) {
        auto r = calls[static_cast<std::size_t>(i)].get();
        ok += r && *r == i + 1;
      }
      auto ms = ms_since(t0);
      auto st = rt.stats();
      ctx.note("{} calls in flight from one thread: {} right, {:.0f} ms ({:.0f} calls/s)", calls_n,
               ok, ms, calls_n / (ms / 1000.0));
      ctx.note("pool: {} completed, {} batches carried {} calls", st.completed, st.batches,
               st.batched_calls);
      ctx.check(ok == calls_n, "some calls failed");
      return step_result::success();
    }
    return step_result::failure("unknown step " + step);
  }
};

} // namespace

std::unique_ptr<demo> make_concurrency_demo() {
  return std::make_unique<concurrency_demo>();
}

} // namespace snakepit::demos
