// Error handling: every failure is a typed value — category, message, and
// for Python errors the exception type and a clean traceback. Nothing
// throws, nothing crashes, and the pool carries on.
#include "context.hpp"
#include "demo_helpers.hpp"

namespace snakepit::demos {

namespace {

class errors_demo : public demo {
public:
  std::string name() const override { return "errors"; }
  std::string description() const override {
    return "Error handling: typed errors, Python tracebacks shown cleanly, recovery";
  }
  std::vector<step_info> steps() const override {
    return {
      {"start", "start the pool"},
      {"python", "Python exceptions: type, message, traceback"},
      {"calls", "unknown tool, bad arguments, a deadline passed"},
      {"sessions", "session errors: no such session, a paused session"},
      {"recovery", "after all that, the pool is healthy"},
    };
  }

  static void expect(context& ctx, const result<json>& r, errc code, const std::string& what) {
    ctx.check(!r, what + " should have failed");
    ctx.check(r.error().code() == code,
              fmt::format("{}: expected {}, got {}", what, to_string(code), r.error().to_string()));
    auto text = r.error().to_string();
    if (text.size() > 150)
      text = text.substr(0, 147) + "...";
    ctx.note("{:<22} → {}", what, text);
  }

  step_result run_step(const std::string& step, context& ctx) override {
    if (step == "start") {
      ctx.start_runtime();
      return step_result::success();
    }
    auto& rt = ctx.rt();
    if (step == "python") {
      for (auto* kind : {"value", "zero_division", "key"}) {
        auto r = rt.execute("error_demo", {{"kind", kind}});
        expect(ctx, r, errc::python_exception, fmt::format("error_demo({})", kind));
      }
      auto r = rt.execute("error_demo", {{"kind", "custom"}});
      expect(ctx, r, errc::python_exception, "error_demo(custom)");
      ctx.check(r.error().python_type() == "ShowcaseError", "custom type lost: " + r.error().python_type());
      ctx.note("its traceback, as the host received it:");
      for (auto& line : traceback_lines(r.error()))
        ctx.note("{}", line);
      return step_result::success();
    }
    if (step == "calls") {
      expect(ctx, rt.execute("no_such_tool"), errc::unknown_command, "no_such_tool()");
      expect(ctx, rt.execute("add", {{"a", 1}}), errc::invalid_argument, "add(a=1)");
      call_options quick;
      quick.timeout = std::chrono::milliseconds(150);
      auto t0 = std::chrono::steady_clock::now();
      expect(ctx, rt.execute("sleep_ms", {{"ms", 5000}}, quick), errc::timeout, "sleep_ms(5000), 150 ms");
      ctx.note("{:<22}   (came back after {:.0f} ms; the sleep was cancelled)", "", ms_since(t0));
      return step_result::success();
    }
    if (step == "sessions") {
      auto missing = rt.get_variable("no-such-session", "x");
      ctx.check(!missing && missing.error().code() == errc::session_not_found,
                "get_variable on a missing session did not fail with session_not_found");
      ctx.note("{:<22} → {}", "get_variable(no-such)", missing.error().to_string());
      auto id = ctx.create_session("errors");
      ctx.ok(rt.pause_session(id), "pause_session");
      expect(ctx, rt.execute_in_session(id, "get_counter"), errc::invalid_state, "call a paused session");
      auto again = rt.pause_session(id);
      ctx.check(!again && again.error().code() == errc::invalid_state, "pausing twice was accepted");
      ctx.note("{:<22} → {}", "pause it again", again.error().to_string());
      return step_result::success();
    }
    if (step == "recovery") {
      auto pong = ctx.value(rt.execute("ping"), "ping");
      auto st = rt.stats();
      std::size_t ready = 0;
      for (auto& w : rt.list_workers())
        ready += w.state == worker_state::ready || w.state == worker_state::busy;
      ctx.note("ping → {}; {} of {} workers up; {} calls answered with an error, {} crashes",
               pong.dump(), ready, rt.list_workers().size(), st.errors, st.worker_crashes);
      ctx.check(st.worker_crashes == 0, "an error crashed a worker");
      return step_result::success();
    }
    return step_result::failure("unknown step " + step);
  }
};

} // namespace

std::unique_ptr<demo> make_errors_demo() {
  return std::make_unique<errors_demo>();
}

} // namespace snakepit::demos
