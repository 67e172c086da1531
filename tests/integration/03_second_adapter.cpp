// A second worker adapter, written entirely in this file, drives the whole
// runtime: the adapter interface is the only thing a new transport or
// language has to implement. Its "process" is a shell that sleeps; its
// "connection" evaluates calls in C++.
#include <fstream>
#include <iterator>

#include "actors/worker_adapter.hpp"
#include "integration/runtime_fixture.hpp"

using namespace snakepit::test;
using snakepit::errc;
using snakepit::json;

namespace {

namespace tp = snakepit::transport;

int find_process(const std::string& a, const std::string& b) {
  for (int pid : pids_with_run_id(a)) {
    std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    std::string args((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
    if (args.find(b) != std::string::npos)
      return pid;
  }
  return 0;
}

class calculator_connection : public snakepit::worker_connection {
public:
  explicit calculator_connection(snakepit::worker_context ctx) : ctx_(std::move(ctx)) {}

  void health_check(std::chrono::milliseconds, std::function<void(int, std::string)> done) override {
    int pid = find_process(ctx_.run_id, ctx_.worker_id);
    done(pid, pid ? "" : "process not found");
  }

  std::optional<snakepit::error> open(snakepit::connection_callbacks cb) override {
    cb_ = std::move(cb);
    return std::nullopt;
  }

  std::optional<snakepit::error> execute(snakepit::detail::call c) override {
    if (c.tool == "add")
      cb_.on_outcome(c.id, snakepit::detail::call_outcome::ok(c.args.at("a").get<int>()
                                                              + c.args.at("b").get<int>()));
    else if (c.tool == "count") {
      for (int i = 0; i < c.args.at("n").get<int>(); ++i)
        cb_.on_chunk(c.id, json{{"i", i}});
      cb_.on_outcome(c.id, snakepit::detail::call_outcome::ok(nullptr));
    } else
      cb_.on_outcome(c.id, snakepit::detail::call_outcome::failed(
                             {errc::unknown_command, "calculator has no " + c.tool}));
    return std::nullopt;
  }

  void cancel(uint64_t) override {}
  void close() override {}

private:
  snakepit::worker_context ctx_;
  snakepit::connection_callbacks cb_;
};

class calculator_adapter : public snakepit::worker_adapter {
public:
  std::string name() const override { return "calculator"; }

  tp::process_spec launch_spec(const snakepit::worker_context& ctx) const override {
    tp::process_spec spec;
    spec.program = "/bin/sh";
    // $0 and $1 carry the slot and the run id on the command line.
    spec.arguments = {"-c", "echo calculator-ready; while :; do sleep 1; done", ctx.worker_id,
                      ctx.run_id};
    spec.label = ctx.worker_id;
    return spec;
  }

  bool is_ready_line(tp::output_stream s, const std::string& line) const override {
    return s == tp::output_stream::stdout_stream && line == "calculator-ready";
  }

  snakepit::result<std::unique_ptr<snakepit::worker_connection>>
  connect(const snakepit::worker_context& ctx, const std::string&) const override {
    return std::unique_ptr<snakepit::worker_connection>(
      std::make_unique<calculator_connection>(ctx));
  }
};

} // namespace

TEST_CASE("a_second_adapter_runs_the_whole_runtime_without_changes_elsewhere") {
  auto cfg = test_config(2);
  cfg.worker_adapter = std::make_shared<calculator_adapter>();
  ready_runtime rt{cfg};
  auto sum = rt->execute("add", {{"a", 2}, {"b", 3}});
  REQUIRE_MESSAGE(bool(sum), why(sum));
  CHECK(*sum == 5);
  std::vector<int> seen;
  auto streamed = rt->execute_stream("count", {{"n", 4}},
                                     [&](const json& c) { seen.push_back(c.at("i")); });
  CHECK(streamed);
  CHECK(seen == std::vector<int>{0, 1, 2, 3});
  CHECK(rt->execute("divide").error().code() == errc::unknown_command);

  // Its processes are supervised like Python ones: kill one, it comes back.
  auto before = rt->list_workers();
  REQUIRE(before.size() == 2);
  REQUIRE(::kill(before[0].os_pid, SIGKILL) == 0);
  CHECK(eventually([&] {
    auto now = rt->list_workers();
    return now.size() == 2 && now[0].os_pid != before[0].os_pid && now[0].os_pid > 0
           && now[0].state == snakepit::worker_state::ready;
  }));
  CHECK(rt->execute("add", {{"a", 1}, {"b", 1}}));
}
