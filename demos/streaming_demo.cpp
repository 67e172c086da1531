// Streaming: chunks arrive as the Python generator yields them; a consumer
// may stop early, which cancels the call and frees the worker.
#include <thread>

#include "context.hpp"
#include "demo_helpers.hpp"

namespace snakepit::demos {

namespace {

class streaming_demo : public demo {
public:
  std::string name() const override { return "streaming"; }
  std::string description() const override {
    return "Streaming: live progress chunks, and a consumer that stops early";
  }
  std::vector<step_info> steps() const override {
    return {
      {"start", "start the pool"},
      {"progress", "stream progress chunks as Python produces them"},
      {"stop_early", "stop a 1000-chunk stream after 5 chunks: the call is cancelled"},
      {"worker_free", "the worker that streamed is free again at once"},
    };
  }

  step_result run_step(const std::string& step, context& ctx) override {
    if (step == "start") {
      ctx.start_runtime();
      return step_result::success();
    }
    auto& rt = ctx.rt();
    if (step == "progress") {
      int total = ctx.size(20, 8);
      int delay = ctx.size(40, 10);
      std::vector<double> arrivals;
      auto t0 = std::chrono::steady_clock::now();
      ctx.ok(rt.execute_stream("stream_progress", {{"total", total}, {"delay_ms", delay}},
                               [&](const json& c) {
                                 arrivals.push_back(ms_since(t0));
                                 ctx.progress(c.at("done").get<std::size_t>(),
                                              c.at("total").get<std::size_t>(), "chunks");
                               }),
             "stream_progress");
      ctx.check(arrivals.size() == static_cast<std::size_t>(total), "missing chunks");
      ctx.note("{} chunks, {} ms apart in Python: first after {:.0f} ms, last after {:.0f} ms",
               total, delay, arrivals.front(), arrivals.back());
      ctx.note("(they arrived one by one, not all at the end)");
      return step_result::success({{"chunks", total}});
    }
    if (step == "stop_early") {
      int seen = 0;
      auto t0 = std::chrono::steady_clock::now();
      ctx.ok(rt.execute_stream("stream_count", {{"count", 1000}, {"delay_ms", 10}},
                               [&](const json&) { return ++seen < 5; }),
             "stream_count");
      auto ms = ms_since(t0);
      ctx.note("took 5 of 1000 chunks and stopped after {:.0f} ms (all 1000 would take ~10 s)", ms);
      ctx.check(seen == 5, fmt::format("saw {} chunks", seen));
      return step_result::success({{"seen", seen}});
    }
    if (step == "worker_free") {
      // Every worker answers promptly: the cancelled stream holds none of them.
      auto t0 = std::chrono::steady_clock::now();
      std::vector<std::future<result<json>>> calls;
      for (std::size_t i = 0; i < rt.list_workers().size(); ++i)
        calls.push_back(rt.execute_async("sleep_ms", {{"ms", 50}}));
      for (auto& c : calls)
        ctx.value(c.get(), "sleep_ms");
      auto ms = ms_since(t0);
      ctx.note("{} parallel 50 ms calls took {:.0f} ms: no worker is still streaming",
               calls.size(), ms);
      ctx.check(ms < 1000, "a worker is still busy with the cancelled stream");
      return step_result::success();
    }
    return step_result::failure("unknown step " + step);
  }
};

} // namespace

std::unique_ptr<demo> make_streaming_demo() {
  return std::make_unique<streaming_demo>();
}

} // namespace snakepit::demos
