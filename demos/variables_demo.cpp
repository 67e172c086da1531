// Variables: typed, constrained session variables owned by the host. A write
// that breaks a constraint is refused with invalid_value and changes nothing.
#include "context.hpp"
#include "demo_helpers.hpp"

namespace snakepit::demos {

namespace {

class variables_demo : public demo {
public:
  std::string name() const override { return "variables"; }
  std::string description() const override {
    return "Variables: typed session variables with constraints; violations change nothing";
  }
  std::vector<step_info> steps() const override {
    return {
      {"start", "start the pool and create a session"},
      {"define", "Python registers typed variables with constraints"},
      {"update", "valid updates from the host and from Python"},
      {"violations", "constraint violations are refused; nothing changed"},
      {"batch", "a batch with one bad write is all or nothing"},
    };
  }

  static std::string versions(snakepit::runtime& rt, const std::string& id) {
    std::vector<std::string> parts;
    if (auto vars = rt.list_variables(id))
      for (auto& v : *vars)
        parts.push_back(fmt::format("{}={} v{}", v.name, v.value.dump(), v.version));
    return fmt::format("{}", fmt::join(parts, "  "));
  }

  step_result run_step(const std::string& step, context& ctx) override {
    if (step == "start") {
      ctx.start_runtime();
      ctx.state()["session"] = ctx.create_session("vars");
      return step_result::success();
    }
    auto& rt = ctx.rt();
    std::string id = ctx.state().at("session");
    if (step == "define") {
      auto vars = ctx.value(rt.execute_in_session(id, "define_model_config"), "define_model_config");
      for (auto& v : vars)
        ctx.note("{:<12} {:<10} {:<22} {}", v.at("name").get<std::string>(),
                 v.at("type").get<std::string>(), v.at("value").dump(), v.at("constraints").dump());
      return step_result::success(vars);
    }
    if (step == "update") {
      auto host = ctx.value([&]() -> result<json> {
        auto r = rt.set_variable(id, "temperature", 1.2);
        if (!r)
          return r.error();
        return json{{"version", r->version}};
      }(), "set temperature");
      ctx.note("host sets temperature = 1.2 → version {}", host.at("version").get<int>());
      auto py = ctx.value(rt.execute_in_session(id, "try_update", {{"name", "model"}, {"value", "large"}}),
                          "try_update");
      ctx.check(py.at("accepted") == true, "model=large was refused");
      ctx.note("Python sets model = \"large\" → version {}", py.at("version").get<int>());
      auto inc = rt.increment_variable(id, "max_tokens", 256);
      ctx.check(static_cast<bool>(inc), "increment max_tokens failed");
      ctx.note("host increments max_tokens by 256 → {}", inc->value.dump());
      ctx.state()["before_violations"] = versions(rt, id);
      return step_result::success();
    }
    if (step == "violations") {
      std::string before = versions(rt, id);
      struct attempt { const char* name; json value; };
      std::vector<attempt> attempts = {
        {"temperature", 3.5}, {"max_tokens", 0}, {"model", "huge"},
        {"stop", "end"}, {"style", json::array({0.1, 0.2})}, {"temperature", "warm"},
      };
      for (auto& a : attempts) {
        auto r = rt.set_variable(id, a.name, a.value);
        ctx.check(!r && r.error().code() == errc::invalid_value,
                  fmt::format("{} = {} was not refused as invalid_value", a.name, a.value.dump()));
        ctx.note("⊘ {:<22} refused: {}", fmt::format("{} = {}", a.name, a.value.dump()),
                 r.error().message());
      }
      auto py = ctx.value(rt.execute_in_session(id, "try_update", {{"name", "temperature"}, {"value", -1.0}}),
                          "try_update");
      ctx.check(py.at("accepted") == false && py.at("before") == py.at("after"), "Python's write changed it");
      ctx.note("⊘ from Python, temperature = -1.0 refused: {}", py.at("error").get<std::string>());
      std::string after = versions(rt, id);
      ctx.check(before == after, "a refused write changed something");
      ctx.note("values and versions unchanged: {}", after);
      return step_result::success();
    }
    if (step == "batch") {
      std::string before = versions(rt, id);
      auto r = rt.set_variables(id, {{"temperature", 0.3}, {"max_tokens", 99999}});
      ctx.check(!r && r.error().code() == errc::invalid_value, "the batch was not refused");
      ctx.note("batch {{temperature=0.3, max_tokens=99999}} refused: {}", r.error().message());
      ctx.check(versions(rt, id) == before, "part of the batch was applied");
      ctx.note("temperature is still {} — all or nothing",
               rt.get_variable(id, "temperature")->value.dump());
      return step_result::success();
    }
    return step_result::failure("unknown step " + step);
  }
};

} // namespace

std::unique_ptr<demo> make_variables_demo() {
  return std::make_unique<variables_demo>();
}

} // namespace snakepit::demos
