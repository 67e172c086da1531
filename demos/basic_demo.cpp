// Basic operations: ping, echo with typed values, add, and an error demo.
#include "context.hpp"
#include "demo_helpers.hpp"

namespace snakepit::demos {

namespace {

class basic_demo : public demo {
public:
  std::string name() const override { return "basic"; }
  std::string description() const override {
    return "Basic operations: ping, typed echo, add, and a Python error as a typed value";
  }
  std::vector<step_info> steps() const override {
    return {
      {"start", "start the pool and wait until every worker is ready"},
      {"ping", "ping a worker"},
      {"echo", "echo typed values (int, float, bytes, nested) unchanged"},
      {"add", "add two numbers in Python"},
      {"error", "a Python exception comes back as a typed error"},
    };
  }

  step_result run_step(const std::string& step, context& ctx) override {
    if (step == "start") {
      auto t0 = std::chrono::steady_clock::now();
      auto& rt = ctx.start_runtime();
      ctx.note("{} workers ready in {:.0f} ms (run id {})", rt.list_workers().size(),
               ms_since(t0), rt.run_id());
      for (auto& w : rt.list_workers())
        ctx.note("{} pid {} {}", w.id, w.os_pid, to_string(w.state));
      return step_result::success();
    }
    auto& rt = ctx.rt();
    if (step == "ping") {
      auto pong = ctx.value(rt.execute("ping"), "ping");
      ctx.note("ping → {}", pong.dump());
      return step_result::success(pong);
    }
    if (step == "echo") {
      json args = {{"count", 7}, {"ratio", 0.25}, {"raw", json::binary({0xde, 0xad, 0xbe, 0xef})},
                   {"nested", {{"list", {1, "two", nullptr}}}}};
      auto back = ctx.value(rt.execute("echo", args), "echo");
      ctx.check(back == args && back.at("raw").is_binary() && back.at("count").is_number_integer(),
                "echo changed a value or a type: " + back.dump());
      ctx.note("sent and received back unchanged: {}", back.dump());
      return step_result::success(back);
    }
    if (step == "add") {
      auto sum = ctx.value(rt.execute("add", {{"a", 40}, {"b", 2}}), "add");
      ctx.check(sum == 42, "add(40, 2) = " + sum.dump());
      ctx.note("add(40, 2) → {}", sum.dump());
      return step_result::success(sum);
    }
    if (step == "error") {
      auto r = rt.execute("error_demo", {{"kind", "zero_division"}});
      ctx.check(!r, "error_demo should have failed");
      auto& e = r.error();
      ctx.check(e.code() == errc::python_exception && e.python_type() == "ZeroDivisionError",
                "unexpected error: " + e.to_string());
      ctx.note("{}", e.to_string());
      ctx.note("(the error is a value: category {}, type {}, traceback of {} bytes)",
               to_string(e.code()), e.python_type(), e.traceback().size());
      return step_result::success({{"type", e.python_type()}});
    }
    return step_result::failure("unknown step " + step);
  }
};

} // namespace

std::unique_ptr<demo> make_basic_demo() {
  return std::make_unique<basic_demo>();
}

} // namespace snakepit::demos
