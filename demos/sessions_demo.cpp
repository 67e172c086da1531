// Sessions: all state in the host. Python tools read and write the session
// through SessionContext; the host sees every value and outlives any worker.
#include "context.hpp"
#include "demo_helpers.hpp"

namespace snakepit::demos {

namespace {

class sessions_demo : public demo {
public:
  std::string name() const override { return "sessions"; }
  std::string description() const override {
    return "Sessions: a counter kept in the host, incremented by Python, cleaned up";
  }
  std::vector<step_info> steps() const override {
    return {
      {"start", "start the pool"},
      {"init", "create a session; init_session registers its variables in the host"},
      {"increment", "increment the counter by 1, 2, 3, 4, 5 and verify 15"},
      {"read", "read the counter back, from Python and from the host"},
      {"cleanup", "clean up: duration and command count, then close the session"},
    };
  }

  step_result run_step(const std::string& step, context& ctx) override {
    if (step == "start") {
      ctx.start_runtime();
      return step_result::success();
    }
    auto& rt = ctx.rt();
    if (step == "init") {
      auto id = ctx.create_session("counter");
      ctx.state()["session"] = id;
      auto r = ctx.value(rt.execute_in_session(id, "init_session", {{"counter", 0}}), "init_session");
      ctx.note("session {} → {}", id, r.dump());
      return step_result::success(r);
    }
    std::string id = ctx.state().at("session");
    if (step == "increment") {
      json seen = json::array();
      for (int i = 1; i <= 5; ++i) {
        auto r = ctx.value(rt.execute_in_session(id, "increment_counter", {{"by", i}}),
                           "increment_counter");
        seen.push_back(r.at("value"));
      }
      ctx.note("after each increment: {}", seen.dump());
      ctx.check(seen.back() == 15, "expected 15, got " + seen.back().dump());
      return step_result::success(seen);
    }
    if (step == "read") {
      auto py = ctx.value(rt.execute_in_session(id, "get_counter"), "get_counter");
      auto host = rt.get_variable(id, "counter");
      ctx.check(static_cast<bool>(host), "the host has no counter");
      ctx.note("Python reads {}; the host holds counter = {} (version {})", py.at("value").dump(),
               host->value.dump(), host->version);
      auto vars = rt.list_variables(id);
      if (vars) {
        std::vector<std::string> names;
        for (auto& v : *vars)
          names.push_back(fmt::format("{}:{}", v.name, to_string(v.type)));
        ctx.note("session variables, all in the host: {}", fmt::join(names, ", "));
      }
      ctx.check(py.at("value") == 15 && host->value == 15, "counter is not 15");
      return step_result::success(py);
    }
    if (step == "cleanup") {
      auto r = ctx.value(rt.execute_in_session(id, "cleanup"), "cleanup");
      auto info = rt.session(id);
      ctx.note("session lasted {:.1f} ms, {} tool commands; the host counted {} session commands "
               "(every variable read and write)",
               r.at("duration_ms").get<double>(), r.at("command_count").get<int>(),
               info ? info->command_count : 0);
      ctx.ok(rt.close_session(id), "close_session");
      ctx.check(!rt.session(id), "the session still exists after close");
      ctx.note("session closed: its id is free and its variables are gone");
      return step_result::success(r);
    }
    return step_result::failure("unknown step " + step);
  }
};

} // namespace

std::unique_ptr<demo> make_sessions_demo() {
  return std::make_unique<sessions_demo>();
}

} // namespace snakepit::demos
