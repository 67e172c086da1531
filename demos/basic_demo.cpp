// The basic demo: real Python workers behind the embedding API — typed values
// both ways, a Python error shown cleanly, a stream, a crash and its restart,
// and a shutdown that leaves no process behind.
#include <dirent.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

#include <fmt/format.h>
#include <snakepit/snakepit.hpp>

#include "demo.hpp"

namespace snakepit::demos {

namespace {

using namespace std::chrono_literals;

int processes_of_run(const std::string& run_id) {
  int n = 0;
  DIR* proc = ::opendir("/proc");
  if (!proc)
    return -1;
  while (auto* e = ::readdir(proc)) {
    if (std::atoi(e->d_name) <= 0)
      continue;
    std::ifstream cmd(std::string{"/proc/"} + e->d_name + "/cmdline", std::ios::binary);
    std::string args((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
    n += args.find(run_id) != std::string::npos;
  }
  ::closedir(proc);
  return n;
}

class basic_demo : public demo {
public:
  std::string name() const override { return "basic"; }
  std::string description() const override {
    return "Python workers over gRPC: calls, typed values, errors, streams, a crash";
  }

  std::vector<demo_step> steps() override {
    return {
      {"start 2 Python workers and wait until they are ready", [this] { return start(); }},
      {"ping and add", [this] { return basics(); }},
      {"echo typed values (int, float, bytes, nested)", [this] { return typed(); }},
      {"a Python exception comes back as a typed error", [this] { return python_error(); }},
      {"stream 5 chunks", [this] { return stream(); }},
      {"kill a worker with SIGKILL: it is restarted, calls carry on",
       [this] { return crash(); }},
    };
  }

  step_result cleanup() override {
    if (!rt_)
      return {true, ""};
    auto run = rt_->run_id();
    rt_->shutdown();
    int left = processes_of_run(run);
    return {left == 0, fmt::format("runtime shut down; {} processes of run {} left", left, run)};
  }

private:
  step_result start() {
    config cfg;
    cfg.pool_size = 2;
    // The crash step kills a worker on purpose: keep its warning out of the way.
    cfg.log = [](log_level level, const std::string& line) {
      if (level == log_level::error)
        fmt::print(stderr, "snakepit error: {}\n", line);
    };
    auto t0 = std::chrono::steady_clock::now();
    rt_ = std::make_unique<runtime>(cfg);
    auto ok = rt_->await_ready(20s);
    if (!ok)
      return {false, "      " + ok.error().to_string()};
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - t0).count();
    std::string detail = fmt::format("      ready in {} ms; run id {}", ms, rt_->run_id());
    for (auto& w : rt_->list_workers())
      detail += fmt::format("\n      {} pid {} {}", w.id, w.os_pid, to_string(w.state));
    return {true, detail};
  }

  step_result basics() {
    auto pong = rt_->execute("ping");
    auto sum = rt_->execute("add", {{"a", 40}, {"b", 2}});
    if (!pong || !sum)
      return {false, (!pong ? pong.error() : sum.error()).to_string()};
    return {*sum == 42, fmt::format("      ping → {}\n      add(40, 2) → {}", pong->dump(), sum->dump())};
  }

  step_result typed() {
    json args = {{"count", 7}, {"ratio", 0.25}, {"raw", json::binary({0xde, 0xad, 0xbe, 0xef})},
                 {"nested", {{"list", {1, "two", nullptr}}}}};
    auto r = rt_->execute("echo", args);
    if (!r)
      return {false, r.error().to_string()};
    bool same = *r == args && r->at("raw").is_binary() && r->at("count").is_number_integer();
    return {same, fmt::format("      sent and received back unchanged: {}", r->dump())};
  }

  step_result python_error() {
    auto r = rt_->execute("raise_error", {{"type", "ValueError"}, {"message", "bad input"}});
    if (r)
      return {false, "expected an error"};
    auto& e = r.error();
    auto tb = e.traceback();
    while (!tb.empty() && tb.back() == '\n')
      tb.pop_back();
    auto cut = tb.rfind('\n');
    auto last_lines = cut == std::string::npos ? tb : tb.substr(cut + 1);
    return {e.code() == errc::python_exception && e.python_type() == "ValueError",
            fmt::format("      {} (traceback ends: {})", e.to_string(), last_lines)};
  }

  step_result stream() {
    std::vector<int> seen;
    auto r = rt_->execute_stream("stream_count", {{"count", 5}, {"delay_ms", 20}},
                                 [&](const json& c) { seen.push_back(c.at("i")); });
    if (!r)
      return {false, r.error().to_string()};
    return {seen == std::vector<int>{0, 1, 2, 3, 4},
            fmt::format("      chunks in order: {}", fmt::join(seen, ", "))};
  }

  step_result crash() {
    auto before = rt_->list_workers();
    if (before.empty())
      return {false, "no workers"};
    int victim = before[0].os_pid;
    auto t0 = std::chrono::steady_clock::now();
    ::kill(victim, SIGKILL);
    bool back = false;
    for (int i = 0; i < 500 && !back; ++i) {
      std::this_thread::sleep_for(5ms);
      auto now = rt_->list_workers();
      back = !now.empty() && now[0].os_pid != victim && now[0].os_pid > 0
             && now[0].state == worker_state::ready;
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - t0).count();
    auto after = rt_->list_workers();
    auto sum = rt_->execute("add", {{"a", 1}, {"b", 1}});
    return {back && sum, fmt::format("      {} pid {} killed → pid {} ready in {} ms (restarts: {})",
                                     after[0].id, victim, after[0].os_pid, ms, after[0].restarts)};
  }

  std::unique_ptr<runtime> rt_;
};

} // namespace

std::unique_ptr<demo> make_basic_demo() {
  return std::make_unique<basic_demo>();
}

} // namespace snakepit::demos
